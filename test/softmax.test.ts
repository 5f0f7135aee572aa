import { describe, expect, it } from 'vitest';
import { ops, tensor } from '../src/index.js';
import * as R from './ref.js';
import { checkOp, expectClose, gradsOf, opTest, randArr } from './harness.js';
import { useGpu } from './setup.js';

useGpu();

const SHAPES: [number[], number][] = [
  [[3, 5], -1],
  [[3, 5], 0],
  [[2, 3, 4], 1],
  [[7], 0],
  [[1, 6], -1],
  [[4, 1], -1],
  [[2, 67], -1],
];

describe('softmax / logSoftmax vs float64', () => {
  for (const [shape, axis] of SHAPES) {
    opTest('softmax', `${JSON.stringify(shape)} axis ${axis}`, () =>
      checkOp({ gpu: (x) => ops.softmax(x, axis), ref: (a) => R.softmax(a, axis, false), inputs: [randArr(shape, 50, -3, 3)] }));
    opTest('logSoftmax', `${JSON.stringify(shape)} axis ${axis}`, () =>
      checkOp({ gpu: (x) => ops.logSoftmax(x, axis), ref: (a) => R.softmax(a, axis, true), inputs: [randArr(shape, 51, -3, 3)] }));
  }
});

describe('extreme logits stay finite', () => {
  const logits = [1e4, -1e4, 0, 1e4 - 1, -1e4, -1e4, 5, 1e4];
  for (const axis of [0, -1]) {
    const shape = axis === 0 ? [4, 2] : [2, 4];
    opTest('softmax', `±1e4 logits, axis ${axis}`, async () => {
      const x = R.arr(shape, logits);
      const y = await ops.softmax(tensor(logits, shape), axis).data();
      expect(y.every(Number.isFinite)).toBe(true);
      expectClose(y, R.softmax(x, axis, false), 1e-6);
      const [g] = await gradsOf((t) => ops.softmax(t, axis), [x], randArr(shape, 3));
      expect(g!.every(Number.isFinite)).toBe(true);
    });
    opTest('logSoftmax', `±1e4 logits, axis ${axis}`, async () => {
      const x = R.arr(shape, logits);
      const y = await ops.logSoftmax(tensor(logits, shape), axis).data();
      expect(y.every(Number.isFinite)).toBe(true);
      expectClose(y, R.softmax(x, axis, true), 1e-6);
      const [g] = await gradsOf((t) => ops.logSoftmax(t, axis), [x], randArr(shape, 4));
      expect(g!.every(Number.isFinite)).toBe(true);
      // Gradient vs the float64 closed form dy − softmax·Σdy.
      const cot = randArr(shape, 4);
      const p = R.softmax(x, axis, false);
      const s = R.reduce(cot, [axis < 0 ? axis + 2 : axis], true, R.sum);
      expectClose(g!, R.zip([cot, p, s], (d, q, t) => d - q * t), 1e-5);
    });
  }
  it('softmax rows sum to 1 over a long axis (r = 1000)', async () => {
    const y = ops.softmax(tensor(Float32Array.from(randArr([3, 1000], 5, -20, 20).data), [3, 1000]));
    const s = await ops.sum(y, { axes: -1 }).data();
    expectClose(s, [1, 1, 1], 1e-5);
  });
});
