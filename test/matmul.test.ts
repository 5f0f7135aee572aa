// Correctness only (no performance): matmul against a float64 reference, with central
// differences on small shapes and the float64 closed-form gradients on larger ones.
import { describe, expect, it } from 'vitest';
import { ops, ShapeError, zeros } from '../src/index.js';
import * as R from './ref.js';
import { checkOp, expectClose, gradsOf, opTest, randArr, toTensor } from './harness.js';
import { useGpu } from './setup.js';

useGpu();

/** Swap the last two axes (float64). */
const T = (a: R.Arr) => R.permute(a, [...a.shape.keys()].map((i, _, l) => (i >= l.length - 2 ? 2 * l.length - 3 - i : i)));

describe('matmul forward + central-difference gradients (small shapes)', () => {
  opTest('matmul', '1×1 · 1×1', () =>
    checkOp({ gpu: (a, b) => ops.matmul(a, b), ref: (a, b) => R.matmul(a, b), inputs: [randArr([1, 1], 1), randArr([1, 1], 2)] }));
  opTest('matmul', '5×7 · 7×3', () =>
    checkOp({ gpu: (a, b) => ops.matmul(a, b), ref: (a, b) => R.matmul(a, b), inputs: [randArr([5, 7], 3), randArr([7, 3], 4)] }));
  opTest('matmul', '1×9 · 9×1 and 6×1 · 1×5 (vector-shaped)', async () => {
    await checkOp({ gpu: (a, b) => ops.matmul(a, b), ref: (a, b) => R.matmul(a, b), inputs: [randArr([1, 9], 5), randArr([9, 1], 6)] });
    await checkOp({ gpu: (a, b) => ops.matmul(a, b), ref: (a, b) => R.matmul(a, b), inputs: [randArr([6, 1], 7), randArr([1, 5], 8)] });
  });
  for (const [ta, tb] of [[true, false], [false, true], [true, true]] as const) {
    opTest('matmul', `transposeA=${ta} transposeB=${tb} on 5×7 · 7×3`, () =>
      checkOp({
        gpu: (a, b) => ops.matmul(a, b, { transposeA: ta, transposeB: tb }),
        ref: (a, b) => R.matmul(a, b, ta, tb),
        inputs: [randArr(ta ? [7, 5] : [5, 7], 9), randArr(tb ? [3, 7] : [7, 3], 10)],
      }));
  }
  opTest('matmul', 'batch broadcasting [3,5,7] · [7,3]', () =>
    checkOp({ gpu: (a, b) => ops.matmul(a, b), ref: (a, b) => R.matmul(a, b), inputs: [randArr([3, 5, 7], 11), randArr([7, 3], 12)] }));
  opTest('matmul', 'batch broadcasting [1,2,5] · [4,5,3] with transposeB on [4,3,5]', async () => {
    await checkOp({ gpu: (a, b) => ops.matmul(a, b), ref: (a, b) => R.matmul(a, b), inputs: [randArr([1, 2, 5], 13), randArr([4, 5, 3], 14)] });
    await checkOp({
      gpu: (a, b) => ops.matmul(a, b, { transposeB: true }),
      ref: (a, b) => R.matmul(a, b, false, true),
      inputs: [randArr([2, 5], 15), randArr([4, 3, 5], 16)],
    });
  });
  opTest('matmul', 'batch 1 and rank-4 batches [2,3,4,5] · [2,3,5,2]', async () => {
    await checkOp({ gpu: (a, b) => ops.matmul(a, b), ref: (a, b) => R.matmul(a, b), inputs: [randArr([1, 3, 4], 17), randArr([1, 4, 2], 18)] });
    await checkOp({ gpu: (a, b) => ops.matmul(a, b), ref: (a, b) => R.matmul(a, b), inputs: [randArr([2, 3, 4, 5], 19), randArr([2, 3, 5, 2], 20)] });
  });
});

describe('matmul at sizes that are not multiples of the tile', () => {
  // Forward vs float64; gradients vs the float64 closed form dA = R·Bᵀ, dB = Aᵀ·R
  // (central differences would need thousands of reference matmuls here).
  const cases: [number, number, number, boolean, boolean][] = [
    [67, 33, 65, false, false],
    [67, 33, 65, true, false],
    [67, 33, 65, false, true],
    [13, 129, 9, true, true],
    [2, 300, 3, false, false],
  ];
  for (const [m, k, n, ta, tb] of cases) {
    opTest('matmul', `${m}×${k} · ${k}×${n} transposeA=${ta} transposeB=${tb}`, async () => {
      const a = randArr(ta ? [k, m] : [m, k], m + k);
      const b = randArr(tb ? [n, k] : [k, n], k + n);
      const y = ops.matmul(toTensor(a), toTensor(b), { transposeA: ta, transposeB: tb });
      expect(y.shape).toEqual([m, n]);
      expectClose(await y.data(), R.matmul(a, b, ta, tb), 1e-5, 'forward');
      const cot = randArr([m, n], 7);
      const [ga, gb] = await gradsOf((p, q) => ops.matmul(p, q, { transposeA: ta, transposeB: tb }), [a, b], cot);
      const A = ta ? T(a) : a;
      const B = tb ? T(b) : b;
      const dA = R.matmul(cot, B, false, true); // [m, k]
      const dB = R.matmul(A, cot, true, false); // [k, n]
      expectClose(ga!, ta ? T(dA) : dA, 1e-5, 'dA');
      expectClose(gb!, tb ? T(dB) : dB, 1e-5, 'dB');
    });
  }
  opTest('matmul', 'batched [3,17,9] · [9,66] with the weight gradient summed over the batch', async () => {
    const a = randArr([3, 17, 9], 30);
    const b = randArr([9, 66], 31);
    expectClose(await ops.matmul(toTensor(a), toTensor(b)).data(), R.matmul(a, b), 1e-5);
    const cot = randArr([3, 17, 66], 32);
    const [, gb] = await gradsOf((p, q) => ops.matmul(p, q), [a, b], cot);
    // dB = Σ_batch Aᵀ·R, i.e. (A reshaped [51, 9])ᵀ · (R reshaped [51, 66]).
    expectClose(gb!, R.matmul(R.arr([51, 9], a.data), R.arr([51, 66], cot.data), true, false), 1e-5);
  });
});

describe('matmul edge cases', () => {
  opTest('matmul', 'K = 0 gives zeros', async () => {
    const y = ops.matmul(zeros([3, 0]), zeros([0, 5]));
    expect(y.shape).toEqual([3, 5]);
    expect(Array.from(await y.data())).toEqual(new Array(15).fill(0));
  });
  it('inner dimensions must agree (after transposes)', () => {
    expect(() => ops.matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(ShapeError);
    expect(() => ops.matmul(zeros([3, 2]), zeros([4, 5]), { transposeA: true })).toThrow(/\(3 vs 4\)/);
  });
});
