import { describe, expect, it } from 'vitest';
import { ops, tensor, type Tensor } from '../src/index.js';
import * as R from './ref.js';
import { checkOp, expectClose, gradsOf, opTest, randArr } from './harness.js';
import { useGpu } from './setup.js';

useGpu();

/** Rank 0, rank 1, size-1 dims, a length that is not a multiple of 4/8/64/256, and one that is (4 elements per invocation). */
const SHAPES: number[][] = [[], [7], [1, 5, 1], [3, 257], [4, 6]];

function cases(gpu: (x: Tensor) => Tensor, f: (v: number) => number, lo: number, hi: number, tol?: { fwd?: number; grad?: number }) {
  return SHAPES.map((shape, k) => ({
    title: `shape ${JSON.stringify(shape)} on [${lo}, ${hi}]`,
    run: () =>
      checkOp({ gpu, ref: (a) => R.map(a, f), inputs: [randArr(shape, 100 + k, lo, hi)], fwdTol: tol?.fwd, gradTol: tol?.grad }),
  }));
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

describe('unary ops vs float64', () => {
  for (const c of cases(ops.neg, (v) => -v, -3, 3)) opTest('neg', c.title, c.run);
  for (const c of cases(ops.exp, Math.exp, -4, 4)) opTest('exp', c.title, c.run);
  for (const c of cases(ops.log, Math.log, 0.1, 10)) opTest('log', c.title, c.run);
  for (const c of cases(ops.sqrt, Math.sqrt, 0.1, 10)) opTest('sqrt', c.title, c.run);
  for (const c of cases(ops.rsqrt, (v) => 1 / Math.sqrt(v), 0.2, 10)) opTest('rsqrt', c.title, c.run);
  for (const c of cases(ops.square, (v) => v * v, -3, 3)) opTest('square', c.title, c.run);
  for (const c of cases(ops.abs, Math.abs, -3, 3)) opTest('abs', c.title, c.run);
  for (const c of cases(ops.reciprocal, (v) => 1 / v, 0.3, 3)) opTest('reciprocal', c.title, c.run);
  opTest('reciprocal', 'negative inputs', () =>
    checkOp({ gpu: ops.reciprocal, ref: (a) => R.map(a, (v) => 1 / v), inputs: [randArr([9], 7, -3, -0.3)] }));
  for (const c of cases(ops.relu, (v) => Math.max(v, 0), -2, 2)) opTest('relu', c.title, c.run);
  for (const c of cases(ops.sigmoid, sigmoid, -6, 6)) opTest('sigmoid', c.title, c.run);
  for (const c of cases(ops.tanh, Math.tanh, -4, 4)) opTest('tanh', c.title, c.run);
  for (const c of cases((x) => ops.affine(x, -1.5, 0.25), (v) => v * -1.5 + 0.25, -3, 3)) opTest('affine', c.title, c.run);
  opTest('affine', 'scale 0 gives a zero gradient', async () => {
    const [g] = await gradsOf((x) => ops.affine(x, 0, 3), [randArr([5], 1)]);
    expect(Array.from(g!)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('pow', () => {
  for (const p of [2, 3, -1, -2, 0.5, 1.5, 1]) {
    opTest('pow', `positive base, exponent ${p}`, () =>
      checkOp({ gpu: (x) => ops.pow(x, p), ref: (a) => R.map(a, (v) => v ** p), inputs: [randArr([3, 5], 40, 0.3, 2)] }));
  }
  for (const p of [2, 3, 4, -1, -3]) {
    opTest('pow', `negative base, integer exponent ${p}`, () =>
      checkOp({ gpu: (x) => ops.pow(x, p), ref: (a) => R.map(a, (v) => v ** p), inputs: [randArr([11], 41, -2, -0.3)] }));
  }
  opTest('pow', 'mixed signs, odd exponent, rank 0 and odd size', async () => {
    await checkOp({ gpu: (x) => ops.pow(x, 3), ref: (a) => R.map(a, (v) => v ** 3), inputs: [randArr([], 42)] });
    await checkOp({ gpu: (x) => ops.pow(x, 5), ref: (a) => R.map(a, (v) => v ** 5), inputs: [randArr([2, 67], 43)] });
  });
  opTest('pow', 'negative base with a fractional exponent is NaN; exponent 0 is 1 with gradient 0', async () => {
    const x = tensor([-2, -0.5, 0, 4], [4]);
    const y = await ops.pow(x, 0.5).data();
    expect(Number.isNaN(y[0]!) && Number.isNaN(y[1]!)).toBe(true);
    expectClose([y[2]!, y[3]!], [0, 2], 1e-6);
    expect(Array.from(await ops.pow(x, 0).data())).toEqual([1, 1, 1, 1]);
    const [g] = await gradsOf((t) => ops.pow(t, 0), [R.arr([4], [-2, -0.5, 0, 4])]);
    expect(Array.from(g!)).toEqual([0, 0, 0, 0]);
  });
  it('pow rejects a non-finite exponent', () => {
    const x = tensor([1, 2], [2]);
    expect(() => ops.pow(x, NaN)).toThrow(/exponent must be a finite number/);
  });
});

describe('kinks and saturation (pinned conventions)', () => {
  opTest('relu', 'gradient at exactly 0 is 0', async () => {
    const [g] = await gradsOf(ops.relu, [R.arr([5], [-1, 0, 0, 1e-30, 2])]);
    expect(Array.from(g!)).toEqual([0, 0, 0, 1, 1]);
  });
  opTest('abs', 'gradient at exactly 0 is 0, sign elsewhere', async () => {
    const [g] = await gradsOf(ops.abs, [R.arr([4], [-3, 0, 0.5, -1e-30])]);
    expect(Array.from(g!)).toEqual([-1, 0, 1, -1]);
  });
  opTest('sigmoid', 'saturates without NaN at ±100', async () => {
    const xs = [-100, -50, 50, 100];
    const y = await ops.sigmoid(tensor(xs, [4])).data();
    expectClose(y, xs.map(sigmoid), 1e-6);
    const [g] = await gradsOf(ops.sigmoid, [R.arr([4], xs)]);
    for (const v of g!) expect(Number.isFinite(v) && Math.abs(v) < 1e-20).toBe(true);
  });
  opTest('tanh', 'saturates without NaN at ±100', async () => {
    const xs = [-100, -20, -10, 10, 20, 100];
    const y = await ops.tanh(tensor(xs, [6])).data();
    expectClose(y, xs.map(Math.tanh), 1e-6);
    const [g] = await gradsOf(ops.tanh, [R.arr([6], xs)]);
    for (const v of g!) expect(Number.isFinite(v) && Math.abs(v) < 1e-6).toBe(true);
  });
  opTest('tanh', 'relative precision near 0 and at moderate inputs', async () => {
    const xs = [1e-6, -1e-4, 1e-3, 0.01, -0.1, 0.29, 0.31, -0.5, 1, 2.5];
    const y = await ops.tanh(tensor(xs, [xs.length])).data();
    xs.forEach((v, i) => expect(Math.abs(y[i]! - Math.tanh(v)) / Math.abs(Math.tanh(v)), `tanh(${v})`).toBeLessThan(1e-6));
  });
  opTest('exp', 'large inputs overflow to +inf, very negative underflow to 0', async () => {
    const y = await ops.exp(tensor([100, -200], [2])).data();
    expect(y[0]).toBe(Infinity);
    expect(y[1]).toBe(0);
  });
  opTest('log', 'log(0) is -inf, log of a negative number is NaN', async () => {
    const y = await ops.log(tensor([0, 1, -1, -0.5], [4])).data();
    expect(y[0]).toBe(-Infinity);
    expect(y[1]).toBe(0);
    expect(Number.isNaN(y[2]!) && Number.isNaN(y[3]!)).toBe(true);
  });
});
