/**
 * Fully connected layer, y = x·w + b, with w laid out [in, out] as in the reference JAX
 * NFNet (so AGC's unit is a column of w). A composite of matmul and a broadcast add: the
 * gradients come from those ops, and the GEMM does all the heavy work anyway.
 */
import { checkTensors, type Tensor } from '../tensor/tensor.js';
import { ShapeError, describeShape } from '../runtime/errors.js';
import { assertF32 } from './util.js';
import { matmul } from './matmul.js';
import { add } from './binary.js';
import { reshape } from './layout.js';
import { composite } from './composite.js';

function validate(x: Tensor, w: Tensor, b?: Tensor): void {
  checkTensors('linear', b === undefined ? { x, w } : { x, w, b });
  assertF32('linear', x, w, ...(b ? [b] : []));
  if (w.rank !== 2) throw new ShapeError(`linear: weight must be [in, out], got ${describeShape(w.shape)}`);
  const [fanIn, fanOut] = w.shape as [number, number];
  if (x.rank < 1 || x.shape[x.rank - 1] !== fanIn) {
    throw new ShapeError(`linear: the last axis of x ${describeShape(x.shape)} must equal the weight's in (${fanIn}) of ${describeShape(w.shape)}`);
  }
  if (b && (b.rank !== 1 || b.size !== fanOut)) {
    throw new ShapeError(`linear: bias must be [${fanOut}] for weight ${describeShape(w.shape)}, got ${describeShape(b.shape)}`);
  }
}

/** x [..., in] · w [in, out] (+ b [out]) → [..., out]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  validate(x, w, b);
  return composite(() => {
    // matmul wants rank ≥ 2; a single vector is a batch of one row.
    const rows = x.rank === 1 ? reshape(x, [1, x.size]) : x;
    const y = matmul(rows, w);
    const withBias = b ? add(y, b) : y;
    return x.rank === 1 ? reshape(withBias, [w.shape[1]!]) : withBias;
  });
}
