import { describe, expect, it } from 'vitest';
import { ops, tensor, ShapeError } from '../src/index.js';
import * as R from './ref.js';
import { checkOp, randArr } from './harness.js';
import { useGpu } from './setup.js';

useGpu();

const ref = (x: R.Arr, w: R.Arr, b?: R.Arr) => {
  const y = R.matmul(x.shape.length === 1 ? { shape: [1, x.shape[0]!], data: x.data } : x, w);
  const withBias = b ? R.zip([y, b], (u, v) => u + v) : y;
  return x.shape.length === 1 ? { shape: [w.shape[1]!], data: withBias.data } : withBias;
};

describe('linear (w is [in, out])', () => {
  it('x [3, 5] · w [5, 4] + b [4]: reference and gradients for x, w, b', () =>
    checkOp({ gpu: (x, w, b) => ops.linear(x, w, b), ref, inputs: [randArr([3, 5], 51), randArr([5, 4], 52), randArr([4], 53)] }));
  it('no bias, batch 1, in = out = 1', () =>
    checkOp({ gpu: (x, w) => ops.linear(x, w), ref: (x, w) => ref(x, w), inputs: [randArr([1, 1], 54), randArr([1, 1], 55)] }));
  it('rank-1 input and rank-3 input [2, 3, 5]', async () => {
    await checkOp({ gpu: (x, w, b) => ops.linear(x, w, b), ref, inputs: [randArr([5], 56), randArr([5, 3], 57), randArr([3], 58)] });
    await checkOp({ gpu: (x, w) => ops.linear(x, w), ref: (x, w) => ref(x, w), inputs: [randArr([2, 3, 5], 59), randArr([5, 2], 60)] });
  });
  it('rejects mismatched in, weight rank and bias size', () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    expect(() => ops.linear(x, tensor(new Float32Array(8), [4, 2]))).toThrow(ShapeError);
    expect(() => ops.linear(x, tensor(new Float32Array(3), [3]))).toThrow(ShapeError);
    expect(() => ops.linear(x, tensor(new Float32Array(6), [3, 2]), tensor(new Float32Array(3), [3]))).toThrow(ShapeError);
  });
});
