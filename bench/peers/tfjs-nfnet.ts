/**
 * The same NFNet training step written with TF.js ops, for the whole-step side-by-side:
 * scaled weight standardization via tf.moments, grouped convs as split + conv + concat,
 * gelu in its tanh form, squeeze-excite, the avg-pool shortcut of transition blocks,
 * softmax cross-entropy with label smoothing, gradients of every parameter with
 * `tf.variableGrads`, and a plain SGD-momentum update in tf ops (v ← μv + g; w ← w − lr·v).
 *
 * Differences from ours, all in TF.js's favour: no AGC, no weight decay, no Nesterov, no
 * EMA, no dropout / stochastic depth (ours trains with them), no accuracy count.
 * Like ours, a step reads back one small tensor (the loss).
 */
import type * as TF from '@tensorflow/tfjs';
import type { NFNetConfig } from '../../src/nfnet/variants.js';
import { planBlocks } from '../../src/nfnet/plan.js';
import { GAMMA } from '../../src/ops/activation.js';
import type { TfjsPeer } from './tfjs.js';
import { tfjsMomentumStep } from './tfjs-step.js';
import type { Runner } from '../registry.js';

type T4 = TF.Tensor4D;

export interface TfNfnetStepOptions {
  batch: number;
  resolution: number;
  lr?: number;
  momentum?: number;
  labelSmoothing?: number;
  seed?: number;
}

/** A Runner whose `run()` is one full training step of `cfg` on TF.js (the peer's backend). */
export function tfjsNfnetStep(peer: TfjsPeer, cfg: NFNetConfig, o: TfNfnetStepOptions): Runner & { paramCount: number } {
  const { tf } = peer;
  const lr = o.lr ?? 0.1;
  const mu = o.momentum ?? 0.9;
  const smoothing = o.labelSmoothing ?? 0.1;
  let seed = o.seed ?? 7;
  const params = new Map<string, TF.Variable>();
  const add = (name: string, value: TF.Tensor) => {
    const v = tf.variable(value, true, `nf_${name}`);
    params.set(name, v);
    value.dispose();
  };
  const convParam = (name: string, k: number, cin: number, cout: number, groups = 1) => {
    const fanIn = k * k * (cin / groups);
    add(`${name}.weight`, tf.randomNormal([k, k, cin / groups, cout], 0, 1 / Math.sqrt(fanIn), 'float32', seed++));
    add(`${name}.gain`, tf.ones([cout]));
    add(`${name}.bias`, tf.zeros([cout]));
  };
  const linearParam = (name: string, cin: number, cout: number, std: number) => {
    add(`${name}.weight`, tf.randomNormal([cin, cout], 0, std, 'float32', seed++));
    add(`${name}.bias`, tf.zeros([cout]));
  };
  // Parameters, named and shaped as our model's.
  let ch = cfg.inChannels;
  cfg.stem.forEach((s, i) => {
    convParam(`stem.conv${i}`, s.kernel, ch, s.channels);
    ch = s.channels;
  });
  const blocks = planBlocks(cfg);
  for (const b of blocks) {
    const name = `stages.${b.stage}.block${b.index}`;
    if (b.projection) convParam(`${name}.shortcut`, 1, b.inChannels, b.outChannels);
    convParam(`${name}.conv0`, 1, b.inChannels, b.midChannels);
    convParam(`${name}.conv1`, 3, b.midChannels, b.midChannels, b.groups);
    convParam(`${name}.conv1b`, 3, b.midChannels, b.midChannels, b.groups);
    convParam(`${name}.conv2`, 1, b.midChannels, b.outChannels);
    if (b.seHidden) {
      linearParam(`${name}.se.fc0`, b.outChannels, b.seHidden, 1 / Math.sqrt(b.outChannels));
      linearParam(`${name}.se.fc1`, b.seHidden, b.outChannels, 1 / Math.sqrt(b.seHidden));
    }
    add(`${name}.skipGain`, tf.scalar(0));
  }
  const last = cfg.widths[cfg.widths.length - 1]!;
  const head = last * (cfg.finalConvMult || 1);
  if (cfg.finalConvMult) convParam('head.conv', 1, last, head);
  linearParam('head.fc', head, cfg.numClasses, 0.01);

  const P = (name: string) => params.get(name)!;
  const act = (x: TF.Tensor, gamma: number = GAMMA.gelu): TF.Tensor => {
    if (cfg.activation !== 'gelu') throw new Error(`tfjs-nfnet: only gelu is implemented, got ${cfg.activation}`);
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x))));
    return tf.mul(tf.mul(x, 0.5 * gamma), tf.add(1, tf.tanh(inner)));
  };
  const wsconv = (name: string, x: T4, stride: number, groups: number): T4 => {
    const w = P(`${name}.weight`);
    const fanIn = w.shape[0]! * w.shape[1]! * w.shape[2]!;
    const { mean, variance } = tf.moments(w, [0, 1, 2], true);
    const wh = tf.mul(tf.sub(w, mean), tf.mul(tf.rsqrt(tf.maximum(tf.mul(variance, fanIn), 1e-4)), P(`${name}.gain`))) as T4;
    let y: T4;
    if (groups === 1) y = tf.conv2d(x, wh, stride, 'same');
    else {
      const xs = tf.split(x, groups, 3) as T4[];
      const whs = tf.split(wh, groups, 3) as T4[];
      y = tf.concat(xs.map((xi, g) => tf.conv2d(xi, whs[g]!, stride, 'same')), 3);
    }
    return tf.add(y, P(`${name}.bias`)) as T4;
  };
  const linear = (name: string, x: TF.Tensor) => tf.add(tf.matMul(x as TF.Tensor2D, P(`${name}.weight`) as TF.Tensor as TF.Tensor2D), P(`${name}.bias`));

  const forward = (images: T4): TF.Tensor => {
    let h = images;
    cfg.stem.forEach((s, i) => {
      h = wsconv(`stem.conv${i}`, h, s.stride, 1);
      if (i < cfg.stem.length - 1) h = act(h) as T4;
    });
    for (const b of blocks) {
      const name = `stages.${b.stage}.block${b.index}`;
      const pre = act(h, GAMMA.gelu * b.beta) as T4;
      let shortcut: T4 = h;
      if (b.projection) shortcut = wsconv(`${name}.shortcut`, b.transition ? tf.avgPool(pre, 2, 2, 'same') : pre, b.transition ? 1 : b.stride, 1);
      let r = wsconv(`${name}.conv0`, pre, 1, 1);
      r = wsconv(`${name}.conv1`, act(r) as T4, b.stride, b.groups);
      r = wsconv(`${name}.conv1b`, act(r) as T4, 1, b.groups);
      r = wsconv(`${name}.conv2`, act(r) as T4, 1, 1);
      if (b.seHidden) {
        const s = tf.sigmoid(linear(`${name}.se.fc1`, tf.relu(linear(`${name}.se.fc0`, tf.mean(r, [1, 2])))));
        r = tf.mul(tf.mul(r, tf.reshape(s, [r.shape[0], 1, 1, r.shape[3]])), 2) as T4;
      }
      h = tf.add(tf.mul(r, tf.mul(P(`${name}.skipGain`), b.alpha)), shortcut) as T4;
    }
    if (cfg.finalConvMult) h = wsconv('head.conv', h, 1, 1);
    return linear('head.fc', tf.mean(act(h), [1, 2]));
  };

  return tfjsMomentumStep(peer, {
    vars: [...params.values()], forward, imageShape: [o.batch, o.resolution, o.resolution, cfg.inChannels], classes: cfg.numClasses, lr, momentum: mu, labelSmoothing: smoothing,
  });
}
