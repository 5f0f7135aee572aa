/**
 * A stand-in, built from existing ops, for the op the EfficientNet blocks need and that
 * another branch delivers (contract of issue #18): `dropPath` (branch `vitops`). Same
 * signature as the contract's, so the merge swaps the import and nothing else.
 * (`batchNorm` came with branch `bn`, merged here.)
 */
import type { Tensor } from '../tensor/tensor.js';
import { ValueError } from '../runtime/errors.js';
import * as ops from '../ops/index.js';

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
