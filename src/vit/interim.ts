/**
 * Stand-ins, built from existing ops, for the four ops the ViT needs from branch `vitops`
 * (ops.layerNorm, ops.attention, ops.patchify, ops.dropPath), with the contract's
 * signatures: the model calls these until those ops are on main, and the lead swaps the
 * imports at merge. Their gradients come from the primitive ops they are made of.
 */
import { checkTensor, checkTensors, type Tensor } from '../tensor/tensor.js';
import { seedKey } from '../tensor/creation.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { checkBoolean, checkNumber, checkOptions } from '../runtime/validate.js';
import { composite } from '../ops/composite.js';
import { maskOp } from '../ops/dropout.js';
import * as ops from '../ops/index.js';

/** y = (x − mean) / √(var + ε) · weight + bias over the last axis (biased variance, as PyTorch). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, options: { eps?: number } = {}): Tensor {
  checkTensors('layerNorm', { x, weight, bias });
  const { eps = 1e-6 } = checkOptions('layerNorm', options, ['eps']);
  checkNumber('layerNorm', 'eps', eps, { min: 0, exclusiveMin: true });
  const c = x.shape[x.rank - 1];
  if (x.rank < 1 || !c) throw new ShapeError(`layerNorm: x needs a non-empty last axis, got ${describeShape(x.shape)}`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t.rank !== 1 || t.size !== c) throw new ShapeError(`layerNorm: ${name} must be [${c}] for x ${describeShape(x.shape)}, got ${describeShape(t.shape)}`);
  }
  return composite(() => {
    const centred = ops.sub(x, ops.mean(x, { axes: -1, keepdims: true }));
    const inv = ops.rsqrt(ops.addScalar(ops.mean(ops.square(centred), { axes: -1, keepdims: true }), eps));
    return ops.add(ops.mul(ops.mul(centred, inv), weight), bias);
  });
}

/** softmax(q·kᵀ·scale)·v over [B, heads, T, d] (scale d^-½ by default). */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: { scale?: number } = {}): Tensor {
  checkTensors('attention', { q, k, v });
  const o = checkOptions('attention', options, ['scale']);
  if (q.rank !== 4) throw new ShapeError(`attention: q must be [B, heads, T, d], got ${describeShape(q.shape)}`);
  const [b, h, , d] = q.shape as [number, number, number, number];
  if (k.rank !== 4 || k.shape[0] !== b || k.shape[1] !== h || k.shape[3] !== d) {
    throw new ShapeError(`attention: k ${describeShape(k.shape)} must be [${b}, ${h}, S, ${d}] for q ${describeShape(q.shape)}`);
  }
  if (v.rank !== 4 || v.shape[0] !== b || v.shape[1] !== h || v.shape[2] !== k.shape[2]) {
    throw new ShapeError(`attention: v ${describeShape(v.shape)} must be [${b}, ${h}, ${k.shape[2]}, d] for k ${describeShape(k.shape)}`);
  }
  const scale = o.scale === undefined ? 1 / Math.sqrt(d) : checkNumber('attention', 'scale', o.scale);
  return composite(() => ops.matmul(ops.softmax(ops.mulScalar(ops.matmul(q, k, { transposeB: true }), scale), -1), v));
}

/** NHWC [N, H, W, C] → [N, (H/p)·(W/p), p·p·C]: patches row by row, each in (py, px, c) order. */
export function patchify(x: Tensor, patch: number): Tensor {
  checkTensor('patchify', 'x', x);
  checkNumber('patchify', 'patch', patch, { min: 1, integer: true });
  if (x.rank !== 4) throw new ShapeError(`patchify: x must be NHWC [N, H, W, C], got ${describeShape(x.shape)}`);
  const [n, hh, ww, c] = x.shape as [number, number, number, number];
  if (hh % patch || ww % patch) throw new ShapeError(`patchify: image ${hh}×${ww} of ${describeShape(x.shape)} is not a whole number of ${patch}×${patch} patches`);
  const [gh, gw] = [hh / patch, ww / patch];
  return composite(() => ops.reshape(ops.permute(ops.reshape(x, [n, gh, patch, gw, patch, c]), [0, 1, 3, 2, 4, 5]), [n, gh * gw, patch * patch * c]));
}

/** Per-sample drop: each sample (axis 0) is zeroed with probability `rate`, kept ones are scaled by 1/(1 − rate). */
export function dropPath(x: Tensor, options: { rate: number; seed: number; training?: boolean }): Tensor {
  checkTensor('dropPath', 'x', x);
  const { rate, seed, training = true } = checkOptions('dropPath', options, ['rate', 'seed', 'training']);
  checkBoolean('dropPath', 'training', training);
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw new ValueError(`dropPath: rate must be in [0, 1), got ${String(rate)}`);
  checkNumber('dropPath', 'seed', seed);
  if (x.rank < 1) throw new ShapeError(`dropPath: needs a batch axis, got ${describeShape(x.shape)}`);
  if (!training || rate === 0) return ops.reshape(x, x.shape);
  const perSample = x.shape[0] ? x.size / x.shape[0] : 1;
  return maskOp([x], { unitSize: Math.max(1, perSample), key: seedKey(seed), rate, scale: 1 / (1 - rate) });
}
