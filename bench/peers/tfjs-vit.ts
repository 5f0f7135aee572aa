/**
 * The same ViT training step written with TF.js ops, for the whole-step side-by-side:
 * patches by reshape + transpose and one matMul (= the p×p stride-p conv), the class token
 * concatenated and the position embedding added, pre-norm blocks with LayerNorm from
 * tf.moments, multi-head attention as batched matMuls + softmax, the exact GELU from tf.erf,
 * the head on the class token, softmax cross-entropy with label smoothing, gradients of every
 * parameter with `tf.variableGrads`, and a plain SGD-momentum update in tf ops.
 *
 * Differences from ours, all in TF.js's favour: no AGC, no weight decay, no Nesterov, no
 * EMA, no drop-path (ours trains with it where the variant has it), no accuracy count.
 * Like ours, a step reads back one small tensor (the loss).
 */
import type * as TF from '@tensorflow/tfjs';
import { mlpHidden, tokenCount, type ViTConfig } from '../../src/vit/config.js';
import type { TfjsPeer } from './tfjs.js';
import { tfjsMomentumStep } from './tfjs-step.js';
import type { Runner } from '../registry.js';

export interface TfVitStepOptions {
  batch: number;
  lr?: number;
  momentum?: number;
  labelSmoothing?: number;
  seed?: number;
}

/** A Runner whose `run()` is one full training step of `cfg` on TF.js (the peer's backend). */
export function tfjsVitStep(peer: TfjsPeer, cfg: ViTConfig, o: TfVitStepOptions): Runner & { paramCount: number } {
  const { tf } = peer;
  const lr = o.lr ?? 0.1;
  const mu = o.momentum ?? 0.9;
  const smoothing = o.labelSmoothing ?? 0.1;
  let seed = o.seed ?? 7;
  const params = new Map<string, TF.Variable>();
  const add = (name: string, value: TF.Tensor) => {
    params.set(name, tf.variable(value, true, `vit_${name}`));
    value.dispose();
  };
  const { embedDim: dim, numHeads: heads, patchSize: p, inChannels: ch, depth } = cfg;
  const tokens = tokenCount(cfg);
  const hidden = mlpHidden(cfg);
  const patchIn = p * p * ch;
  const linearParam = (name: string, cin: number, cout: number) => {
    add(`${name}.weight`, tf.randomNormal([cin, cout], 0, 0.02, 'float32', seed++));
    add(`${name}.bias`, tf.zeros([cout]));
  };
  const normParam = (name: string) => {
    add(`${name}.weight`, tf.ones([dim]));
    add(`${name}.bias`, tf.zeros([dim]));
  };
  // Parameters, named and shaped as our model's.
  linearParam('patch_embed.proj', patchIn, dim);
  add('cls_token', tf.randomNormal([1, 1, dim], 0, 1e-6, 'float32', seed++));
  add('pos_embed', tf.randomNormal([1, tokens, dim], 0, 0.02, 'float32', seed++));
  for (let i = 0; i < depth; i++) {
    normParam(`blocks.${i}.norm1`);
    linearParam(`blocks.${i}.attn.qkv`, dim, 3 * dim);
    linearParam(`blocks.${i}.attn.proj`, dim, dim);
    normParam(`blocks.${i}.norm2`);
    linearParam(`blocks.${i}.mlp.fc1`, dim, hidden);
    linearParam(`blocks.${i}.mlp.fc2`, hidden, dim);
  }
  normParam('norm');
  linearParam('head', dim, cfg.numClasses);

  const P = (name: string) => params.get(name)!;
  const linear = (name: string, x: TF.Tensor) => tf.add(tf.matMul(x as TF.Tensor2D, P(`${name}.weight`) as TF.Tensor as TF.Tensor2D), P(`${name}.bias`));
  const layerNorm = (name: string, x: TF.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, cfg.layerNormEps))), P(`${name}.weight`)), P(`${name}.bias`));
  };
  const gelu = (x: TF.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));

  const forward = (images: TF.Tensor4D): TF.Tensor => {
    const n = images.shape[0];
    const g = cfg.imageSize / p;
    // [N, g, p, g, p, C] → [N, g, g, p, p, C]: each patch in (py, px, c) order.
    const patches = tf.reshape(tf.transpose(tf.reshape(images, [n, g, p, g, p, ch]), [0, 1, 3, 2, 4, 5]), [n * g * g, patchIn]);
    const embedded = tf.reshape(linear('patch_embed.proj', patches), [n, g * g, dim]);
    const cls = tf.tile(P('cls_token'), [n, 1, 1]);
    let h: TF.Tensor = tf.reshape(tf.add(tf.concat([cls, embedded], 1), P('pos_embed')), [n * tokens, dim]);
    const d = dim / heads;
    for (let i = 0; i < depth; i++) {
      const b = `blocks.${i}`;
      const qkv = tf.transpose(tf.reshape(linear(`${b}.attn.qkv`, layerNorm(`${b}.norm1`, h)), [n, tokens, 3, heads, d]), [2, 0, 3, 1, 4]);
      const [q, k, v] = tf.split(qkv, 3, 0).map((t) => tf.reshape(t, [n * heads, tokens, d]) as TF.Tensor3D);
      const attn = tf.softmax(tf.mul(tf.matMul(q!, k!, false, true), 1 / Math.sqrt(d)));
      const out = tf.reshape(tf.transpose(tf.reshape(tf.matMul(attn, v!), [n, heads, tokens, d]), [0, 2, 1, 3]), [n * tokens, dim]);
      h = tf.add(h, linear(`${b}.attn.proj`, out));
      h = tf.add(h, linear(`${b}.mlp.fc2`, gelu(linear(`${b}.mlp.fc1`, layerNorm(`${b}.norm2`, h)))));
    }
    const cls0 = tf.reshape(tf.slice(tf.reshape(h, [n, tokens, dim]), [0, 0, 0], [n, 1, dim]), [n, dim]);
    return linear('head', layerNorm('norm', cls0));
  };

  return tfjsMomentumStep(peer, {
    vars: [...params.values()], forward, imageShape: [o.batch, cfg.imageSize, cfg.imageSize, ch], classes: cfg.numClasses, lr, momentum: mu, labelSmoothing: smoothing,
  });
}
