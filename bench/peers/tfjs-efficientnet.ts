/**
 * The same EfficientNet training step written with TF.js ops, for the whole-step
 * side-by-side: the block plan of src/efficientnet/config.ts (stem conv + BN + SiLU,
 * depthwise-separable and MBConv blocks with squeeze-excite and residuals, head conv + BN
 * + SiLU, pooled classifier), BatchNorm in training mode with tf.moments (batch
 * statistics, running statistics updated by assign), depthwise convs with
 * tf.depthwiseConv2d, softmax cross-entropy with label smoothing, gradients with
 * `tf.variableGrads`, plain SGD momentum in tf ops (v ← μv + g; w ← w − lr·v).
 *
 * Differences from ours, all in TF.js's favour: no weight decay, no Nesterov, no EMA, no
 * dropout / drop-connect, no accuracy count. Like ours, one small readback (the loss).
 * Padding is TF 'same' throughout (ours as configured; the nano's symmetric padding takes
 * the same work).
 */
import type * as TF from '@tensorflow/tfjs';
import { headWidth, planBlocks, stemWidth, type EfficientNetConfig } from '../../src/efficientnet/config.js';
import type { TfjsPeer } from './tfjs.js';
import { tfjsMomentumStep } from './tfjs-step.js';
import type { Runner } from '../registry.js';

type T4 = TF.Tensor4D;

export interface TfEfficientNetStepOptions {
  batch: number;
  resolution: number;
  lr?: number;
  momentum?: number;
  labelSmoothing?: number;
  seed?: number;
}

/** A Runner whose `run()` is one full training step of `cfg` on TF.js (the peer's backend). */
export function tfjsEfficientNetStep(peer: TfjsPeer, cfg: EfficientNetConfig, o: TfEfficientNetStepOptions): Runner & { paramCount: number } {
  const { tf } = peer;
  const lr = o.lr ?? 0.1;
  const mu = o.momentum ?? 0.9;
  const smoothing = o.labelSmoothing ?? 0.1;
  const bnMomentum = cfg.bnMomentum;
  let seed = o.seed ?? 7;
  const params = new Map<string, TF.Variable>();
  const running = new Map<string, TF.Variable>();
  const add = (name: string, value: TF.Tensor) => {
    params.set(name, tf.variable(value, true, `en_${name}`));
    value.dispose();
  };
  const conv = (name: string, k: number, cin: number, cout: number) => add(name, tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cout)), 'float32', seed++));
  const depthwise = (name: string, k: number, c: number) => add(name, tf.randomNormal([k, k, c, 1], 0, Math.sqrt(2 / (k * k)), 'float32', seed++));
  const bn = (name: string, c: number) => {
    add(`${name}.weight`, tf.ones([c]));
    add(`${name}.bias`, tf.zeros([c]));
    running.set(`${name}.mean`, tf.variable(tf.zeros([c]), false, `en_${name}_rm`));
    running.set(`${name}.var`, tf.variable(tf.ones([c]), false, `en_${name}_rv`));
  };
  const dense = (name: string, cin: number, cout: number) => {
    add(`${name}.weight`, tf.randomNormal([cin, cout], 0, Math.sqrt(2 / cout), 'float32', seed++));
    add(`${name}.bias`, tf.zeros([cout]));
  };
  const stem = stemWidth(cfg);
  conv('conv_stem', 3, cfg.inChannels, stem);
  bn('bn1', stem);
  const blocks = planBlocks(cfg);
  for (const b of blocks) {
    const n = b.name;
    if (b.block === 'ir') {
      conv(`${n}.conv_pw`, 1, b.inChannels, b.midChannels);
      bn(`${n}.bn1`, b.midChannels);
    }
    depthwise(`${n}.conv_dw`, b.kernel, b.midChannels);
    bn(`${n}.${b.block === 'ir' ? 'bn2' : 'bn1'}`, b.midChannels);
    if (b.seChannels) {
      dense(`${n}.se.conv_reduce`, b.midChannels, b.seChannels);
      dense(`${n}.se.conv_expand`, b.seChannels, b.midChannels);
    }
    conv(`${n}.${b.block === 'ir' ? 'conv_pwl' : 'conv_pw'}`, 1, b.midChannels, b.outChannels);
    bn(`${n}.${b.block === 'ir' ? 'bn3' : 'bn2'}`, b.outChannels);
  }
  const last = blocks[blocks.length - 1]!.outChannels;
  const head = headWidth(cfg);
  conv('conv_head', 1, last, head);
  bn('bn2', head);
  dense('classifier', head, cfg.numClasses);

  const P = (name: string) => params.get(name)!;
  const silu = (x: TF.Tensor) => tf.mul(x, tf.sigmoid(x));
  /** Training-mode BN: batch statistics; the running ones updated outside the gradient. */
  const batchNorm = (name: string, x: T4, act: boolean): T4 => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const n = x.size / x.shape[3];
    const rm = running.get(`${name}.mean`)!;
    const rv = running.get(`${name}.var`)!;
    rm.assign(tf.add(tf.mul(rm, 1 - bnMomentum), tf.mul(mean, bnMomentum)));
    rv.assign(tf.add(tf.mul(rv, 1 - bnMomentum), tf.mul(variance, (bnMomentum * n) / (n - 1))));
    const y = tf.batchNorm(x, mean, variance, P(`${name}.bias`), P(`${name}.weight`), cfg.bnEps) as T4;
    return (act ? silu(y) : y) as T4;
  };
  const linear = (name: string, x: TF.Tensor) => tf.add(tf.matMul(x as TF.Tensor2D, P(`${name}.weight`) as TF.Tensor as TF.Tensor2D), P(`${name}.bias`));

  const forward = (images: T4): TF.Tensor => {
    let h = batchNorm('bn1', tf.conv2d(images, P('conv_stem') as TF.Tensor as T4, 2, 'same'), true);
    for (const b of blocks) {
      const n = b.name;
      let r = h;
      if (b.block === 'ir') r = batchNorm(`${n}.bn1`, tf.conv2d(r, P(`${n}.conv_pw`) as TF.Tensor as T4, 1, 'same'), true);
      r = batchNorm(`${n}.${b.block === 'ir' ? 'bn2' : 'bn1'}`, tf.depthwiseConv2d(r, P(`${n}.conv_dw`) as TF.Tensor as T4, b.stride, 'same'), true);
      if (b.seChannels) {
        const s = tf.sigmoid(linear(`${n}.se.conv_expand`, silu(linear(`${n}.se.conv_reduce`, tf.mean(r, [1, 2])))));
        r = tf.mul(r, tf.reshape(s, [r.shape[0], 1, 1, r.shape[3]])) as T4;
      }
      r = batchNorm(`${n}.${b.block === 'ir' ? 'bn3' : 'bn2'}`, tf.conv2d(r, P(`${n}.${b.block === 'ir' ? 'conv_pwl' : 'conv_pw'}`) as TF.Tensor as T4, 1, 'same'), false);
      h = b.skip ? (tf.add(r, h) as T4) : r;
    }
    h = batchNorm('bn2', tf.conv2d(h, P('conv_head') as TF.Tensor as T4, 1, 'same'), true);
    return linear('classifier', tf.mean(h, [1, 2]));
  };

  return tfjsMomentumStep(peer, {
    vars: [...params.values()], forward, imageShape: [o.batch, o.resolution, o.resolution, cfg.inChannels], classes: cfg.numClasses, lr, momentum: mu, labelSmoothing: smoothing, owned: [...running.values()],
  });
}
