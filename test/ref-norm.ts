/**
 * Float64 CPU references for batch normalization, written from the definition (PyTorch's
 * BatchNorm conventions), independently of the kernels: statistics per channel (the last
 * axis) over every other axis, the biased variance to normalize, the unbiased one for the
 * running estimate.
 */
import { type Arr } from './ref.js';
import { ACTS } from './ref-nn.js';

/** Per-channel mean and biased variance of x [..., C] (two passes). */
export function channelMoments(x: Arr): { mean: Float64Array; variance: Float64Array; count: number } {
  const c = x.shape[x.shape.length - 1]!;
  const count = x.data.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < x.data.length; i++) mean[i % c]! += x.data[i]! / count;
  for (let i = 0; i < x.data.length; i++) variance[i % c]! += (x.data[i]! - mean[i % c]!) ** 2 / count;
  return { mean, variance, count };
}

/**
 * act((x − mean)/sqrt(var + eps)·weight + bias): with `stats` the given (running)
 * statistics (eval), without them the batch's (training).
 */
export function batchNorm(x: Arr, weight: Arr, bias: Arr, eps: number, activation: string, stats?: { mean: Arr; variance: Arr }): Arr {
  const c = x.shape[x.shape.length - 1]!;
  const m = stats ? { mean: stats.mean.data, variance: stats.variance.data } : channelMoments(x);
  const act = ACTS[activation]!;
  const data = x.data.map((v, i) => {
    const k = i % c;
    return act(((v - m.mean[k]!) / Math.sqrt(m.variance[k]! + eps)) * weight.data[k]! + bias.data[k]!);
  });
  return { shape: [...x.shape], data };
}

/** The running statistics after one training call on x: (1 − m)·r + m·batch, unbiased variance. */
export function runningUpdate(runningMean: Float64Array, runningVar: Float64Array, x: Arr, momentum: number): { mean: Float64Array; variance: Float64Array } {
  const { mean, variance, count } = channelMoments(x);
  return {
    mean: runningMean.map((r, k) => (1 - momentum) * r + momentum * mean[k]!),
    variance: runningVar.map((r, k) => (1 - momentum) * r + momentum * variance[k]! * (count / (count - 1))),
  };
}
