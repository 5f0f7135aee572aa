/**
 * Stand-ins, built from existing ops, for the two ops the EfficientNet blocks need and
 * that other branches deliver (contract of issue #18): `batchNorm` (branch `bn`) and
 * `dropPath` (branch `vitops`). Same signatures as the contract's, so the merge swaps
 * the import and nothing else. Composite, hence slower than the fused kernels to come.
 */
import { checkTensor, type Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autodiff/tape.js';
import { tidy } from '../tensor/scope.js';
import { backend } from '../runtime/init.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { checkBoolean, checkOneOf, checkOptions, describeValue } from '../runtime/validate.js';
import * as ops from '../ops/index.js';

export interface BatchNormOptions {
  training: boolean;
  /** PyTorch's: running ← (1 − m)·running + m·batch. Default 0.1. */
  momentum?: number;
  /** Default 1e-5. */
  eps?: number;
  /** Applied after the affine step (plain, γ = 1). Default 'identity'. */
  activation?: 'relu' | 'silu' | 'identity';
}

function checkBatchNorm(x: Tensor, vectors: Record<string, Tensor>, o: BatchNormOptions): Required<BatchNormOptions> {
  const fn = 'batchNorm';
  checkTensor(fn, 'x', x);
  checkOptions(fn, o ?? null, ['training', 'momentum', 'eps', 'activation']);
  checkBoolean(fn, 'training', o.training);
  const { momentum = 0.1, eps = 1e-5, activation = 'identity' } = o;
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) throw new ValueError(`${fn}: momentum must be in [0, 1], got ${describeValue(momentum)}`);
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) throw new ValueError(`${fn}: eps must be a positive finite number, got ${describeValue(eps)}`);
  checkOneOf(fn, 'activation', activation, ['relu', 'silu', 'identity'] as const);
  if (x.rank < 2) throw new ShapeError(`${fn}: x must have a batch axis and channels last, got ${describeShape(x.shape)}`);
  const c = x.shape[x.rank - 1]!;
  for (const [name, v] of Object.entries(vectors)) {
    checkTensor(fn, name, v);
    if (v.rank !== 1 || v.shape[0] !== c) throw new ShapeError(`${fn}: ${name} must be [${c}] (the channels of x ${describeShape(x.shape)}), got ${describeShape(v.shape)}`);
  }
  if (o.training && x.size / c < 2) throw new ValueError(`${fn}: training needs more than one value per channel to estimate a variance, got x ${describeShape(x.shape)}`);
  return { training: o.training, momentum, eps, activation };
}

/** Overwrite `dst`'s values with `src`'s on the GPU (same size), in stream order. */
function writeInPlace(dst: Tensor, src: Tensor): void {
  backend().copy(src.buffer, src.byteOffset, dst.buffer, dst.byteOffset, src.size * 4);
}

/**
 * Batch normalization over every axis but the last (channels), then `activation`.
 * Training: the batch's mean and biased variance, and runningMean / runningVar updated in
 * place (unbiased variance, as PyTorch), outside the tape. Eval: the running statistics.
 * y = x·scale + shift with scale = w/√(var + ε), shift = b − mean·scale, so the per-element
 * work is one multiply and one fused bias + activation.
 */
export function batchNorm(x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions): Tensor {
  const o = checkBatchNorm(x, { weight, bias, runningMean, runningVar }, options);
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  let mean = runningMean;
  let variance = runningVar;
  if (o.training) {
    mean = ops.mean(x, { axes });
    variance = ops.mean(ops.square(ops.sub(x, mean)), { axes });
    const n = x.size / x.shape[x.rank - 1]!;
    noGrad(() => tidy(() => {
      const m = o.momentum;
      writeInPlace(runningMean, ops.add(ops.mulScalar(runningMean, 1 - m), ops.mulScalar(mean, m)));
      writeInPlace(runningVar, ops.add(ops.mulScalar(runningVar, 1 - m), ops.mulScalar(variance, (m * n) / (n - 1))));
    }));
  }
  const scale = ops.mul(weight, ops.rsqrt(ops.addScalar(variance, o.eps)));
  const shift = ops.sub(bias, ops.mul(mean, scale));
  return ops.activation(ops.mul(x, scale), { kind: o.activation, gamma: 1, bias: shift });
}

/**
 * Drop-connect (timm's drop_path): each sample of the batch is zeroed with probability
 * `rate`, kept samples are scaled by 1/(1 − rate). Identity when not training.
 */
export function dropPath(x: Tensor, options: { rate: number; seed: number; training?: boolean }): Tensor {
  const { rate } = options ?? ({} as never);
  if (typeof rate === 'number' && rate >= 1) throw new ValueError(`dropPath: rate must be in [0, 1), got ${rate}`);
  const dropped = ops.stochasticDepth(x, options);
  if (options.training === false || rate === 0) return dropped;
  return ops.mulScalar(dropped, 1 / (1 - rate));
}
