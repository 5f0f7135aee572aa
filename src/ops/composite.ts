import { isGradEnabled } from '../autodiff/tape.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Run a composite op (built from primitive ops). While a gradient is being taken its
 * intermediates must live until the backward walk (the enclosing valueAndGrad scope
 * frees them); otherwise they are freed at once.
 */
export function composite(fn: () => Tensor): Tensor {
  return isGradEnabled() ? fn() : tidy(fn);
}
