/**
 * The same BN-ResNet training step written with TF.js ops, for the whole-step side-by-side
 * (bench/cases/step-resnet.ts): convs without bias padded by ⌊k/2⌋, batch norm in training
 * mode from tf.moments over the batch (biased variance, ε 1e-5, γ/β learned), ReLU after
 * the residual add, strided 1×1 + BN shortcuts, the optional 3×3 s2 max pool, global mean,
 * fc, softmax cross-entropy, gradients of every parameter with `tf.variableGrads`, and a
 * plain SGD-momentum update in tf ops (v ← μv + g; w ← w − lr·v).
 *
 * Differences from ours, all in TF.js's favour: no running-statistics update, no weight
 * decay, no Nesterov, no EMA, no accuracy count. Like ours, a step reads back one small
 * tensor (the loss).
 */
import type * as TF from '@tensorflow/tfjs';
import { EXPANSION, type ResNetConfig } from '../../src/resnet/config.js';
import type { TfjsPeer } from './tfjs.js';
import { tfjsMomentumStep } from './tfjs-step.js';
import type { Runner } from '../registry.js';

type T4 = TF.Tensor4D;

/** A Runner whose `run()` is one full training step of `cfg` on TF.js (the peer's backend). */
export function tfjsResNetStep(peer: TfjsPeer, cfg: ResNetConfig, o: { batch: number; resolution: number; lr?: number; momentum?: number; seed?: number }): Runner & { paramCount: number } {
  const { tf } = peer;
  const lr = o.lr ?? 0.1;
  const mu = o.momentum ?? 0.9;
  let seed = o.seed ?? 7;
  const params = new Map<string, TF.Variable>();
  const add = (name: string, value: TF.Tensor) => {
    params.set(name, tf.variable(value, true, `rn_${name}`));
    value.dispose();
  };
  const convBn = (conv: string, bn: string, k: number, cin: number, cout: number) => {
    add(`${conv}.weight`, tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cout)), 'float32', seed++));
    add(`${bn}.weight`, tf.ones([cout]));
    add(`${bn}.bias`, tf.zeros([cout]));
  };
  // Parameters, named and shaped as our model's.
  interface BlockSpec { name: string; stride: number; units: number; downsample: boolean }
  const blocks: BlockSpec[] = [];
  convBn('conv1', 'bn1', cfg.stemKernel, cfg.inChannels, cfg.stemWidth);
  let cin = cfg.stemWidth;
  cfg.depths.forEach((depth, s) => {
    const planes = cfg.channels[s]!;
    const cout = planes * EXPANSION[cfg.block];
    for (let b = 0; b < depth; b++) {
      const name = `layer${s + 1}.${b}`;
      const stride = b === 0 ? cfg.strides[s]! : 1;
      if (cfg.block === 'basic') {
        convBn(`${name}.conv1`, `${name}.bn1`, 3, cin, planes);
        convBn(`${name}.conv2`, `${name}.bn2`, 3, planes, cout);
      } else {
        convBn(`${name}.conv1`, `${name}.bn1`, 1, cin, planes);
        convBn(`${name}.conv2`, `${name}.bn2`, 3, planes, planes);
        convBn(`${name}.conv3`, `${name}.bn3`, 1, planes, cout);
      }
      const downsample = stride !== 1 || cin !== cout;
      if (downsample) convBn(`${name}.downsample.0`, `${name}.downsample.1`, 1, cin, cout);
      blocks.push({ name, stride, units: cfg.block === 'basic' ? 2 : 3, downsample });
      cin = cout;
    }
  });
  add('fc.weight', tf.randomUniform([cin, cfg.numClasses], -1 / Math.sqrt(cin), 1 / Math.sqrt(cin), 'float32', seed++));
  add('fc.bias', tf.zeros([cfg.numClasses]));

  const P = (name: string) => params.get(name)!;
  const convBnRun = (conv: string, bn: string, x: T4, stride: number, relu: boolean): T4 => {
    const w = P(`${conv}.weight`) as TF.Tensor as TF.Tensor4D;
    const y = tf.conv2d(x, w, stride, Math.floor(w.shape[0] / 2));
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    const z = tf.add(tf.mul(tf.mul(tf.sub(y, mean), tf.rsqrt(tf.add(variance, 1e-5))), P(`${bn}.weight`)), P(`${bn}.bias`)) as T4;
    return relu ? tf.relu(z) : z;
  };
  const forward = (images: T4): TF.Tensor => {
    let h = convBnRun('conv1', 'bn1', images, cfg.stemStride, true);
    if (cfg.stemPool) h = tf.maxPool(h, 3, 2, 1);
    for (const b of blocks) {
      let r = h;
      for (let u = 1; u <= b.units; u++) r = convBnRun(`${b.name}.conv${u}`, `${b.name}.bn${u}`, r, u === (b.units === 2 ? 1 : 2) ? b.stride : 1, u < b.units);
      const shortcut = b.downsample ? convBnRun(`${b.name}.downsample.0`, `${b.name}.downsample.1`, h, b.stride, false) : h;
      h = tf.relu(tf.add(r, shortcut));
    }
    return tf.add(tf.matMul(tf.mean(h, [1, 2]) as TF.Tensor2D, P('fc.weight') as TF.Tensor as TF.Tensor2D), P('fc.bias'));
  };

  return tfjsMomentumStep(peer, {
    vars: [...params.values()], forward, imageShape: [o.batch, o.resolution, o.resolution, cfg.inChannels], classes: cfg.numClasses, lr, momentum: mu,
  });
}
