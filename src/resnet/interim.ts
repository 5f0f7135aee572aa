/**
 * A composite stand-in for ops.batchNorm (contract of issue #18, branch `bn`), with the
 * same signature, built from existing ops (mean, variance, sub, mul, rsqrt): the lead
 * replaces it with the GPU op at merge. Its gradients come from the ops it is built of.
 */
import { checkTensors, type Tensor } from '../tensor/tensor.js';
import { assign } from '../tensor/creation.js';
import { noGrad } from '../autodiff/tape.js';
import { tidy } from '../tensor/scope.js';
import * as ops from '../ops/index.js';
import { composite } from '../ops/composite.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { checkBoolean, checkNumber, checkOneOf, checkOptions } from '../runtime/validate.js';

export interface BatchNormOptions {
  training: boolean;
  /** PyTorch's: running ← (1 − m)·running + m·batch (default 0.1). */
  momentum?: number;
  eps?: number;
  /** Fused after the normalization (plain, γ = 1). */
  activation?: 'relu' | 'silu' | 'identity';
}

/**
 * y = (x − μ)/√(σ² + ε)·weight + bias over the last axis (C), then the activation.
 * Training: μ, σ² are the batch's (biased variance) and runningMean / runningVar are
 * updated in place with the unbiased variance (as PyTorch), outside the tape. Eval: the
 * running statistics.
 */
export function batchNorm(x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions): Tensor {
  checkTensors('batchNorm', { x, weight, bias, runningMean, runningVar });
  const o = checkOptions('batchNorm', options, ['training', 'momentum', 'eps', 'activation']);
  if (o === undefined) throw new ValueError('batchNorm: options { training } are required');
  checkBoolean('batchNorm', 'training', o.training);
  const momentum = o.momentum ?? 0.1;
  const eps = o.eps ?? 1e-5;
  checkNumber('batchNorm', 'momentum', momentum, { min: 0, max: 1 });
  checkNumber('batchNorm', 'eps', eps, { min: 0, exclusiveMin: true });
  const activation = checkOneOf('batchNorm', 'activation', o.activation ?? 'identity', ['relu', 'silu', 'identity'] as const);
  const c = x.shape[x.rank - 1];
  if (x.rank < 2) throw new ShapeError(`batchNorm: x must be [..., C] of rank ≥ 2, got ${describeShape(x.shape)}`);
  for (const [name, t] of [['weight', weight], ['bias', bias], ['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    if (t.rank !== 1 || t.shape[0] !== c) throw new ShapeError(`batchNorm: ${name} must be [${c}] for x ${describeShape(x.shape)}, got ${describeShape(t.shape)}`);
  }
  const count = x.size / c!;
  if (o.training && count < 2) throw new ShapeError(`batchNorm: training needs more than one value per channel, x is ${describeShape(x.shape)}`);
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  return composite(() => {
    let mean = runningMean;
    let variance = runningVar;
    if (o.training) {
      mean = ops.mean(x, { axes });
      variance = ops.variance(x, { axes });
      const [m, v] = [mean, variance];
      noGrad(() =>
        tidy(() => {
          assign(runningMean, ops.add(ops.mulScalar(runningMean, 1 - momentum), ops.mulScalar(m, momentum)));
          assign(runningVar, ops.add(ops.mulScalar(runningVar, 1 - momentum), ops.mulScalar(v, (momentum * count) / (count - 1))));
        }),
      );
    }
    const scale = ops.mul(ops.rsqrt(ops.addScalar(variance, eps)), weight);
    const y = ops.add(ops.mul(ops.sub(x, mean), scale), bias);
    return activation === 'identity' ? y : ops.activation(y, { kind: activation, gamma: 1 });
  });
}
