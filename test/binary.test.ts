import { describe, expect, it } from 'vitest';
import { ops, tensor, type Tensor } from '../src/index.js';
import * as R from './ref.js';
import { checkOp, expectClose, gradsOf, opTest, randArr, toTensor } from './harness.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

type Fn = (a: Tensor, b: Tensor) => Tensor;
type Ref = (x: number, y: number) => number;

/** Shape pairs covering same shape, broadcasting both ways, rank 0, size-1 dims, odd/long sizes. */
const SHAPES: [number[], number[]][] = [
  [[3, 5], [3, 5]],
  [[2, 1, 3], [4, 1]],
  [[5, 1], [1, 7]],
  [[], [3, 4]],
  [[1], []],
  [[2, 257], [257]],
  // Multiples of 4 in the innermost dimension: 4 elements per invocation, plain and broadcast.
  [[3, 8], [3, 8]],
  [[2, 3, 8], [8]],
  [[4, 8], [4, 1]],
  [[40, 64], [64]], // four per invocation over more than one workgroup
  // Both operands contiguous along a last dimension that is a multiple of 4: the
  // broadcasting vec4 kernel (a per-image gate [B, 1, C], a bias on the left, rank 4).
  [[2, 3, 8], [2, 1, 8]],
  [[12], [5, 12]],
  [[2, 3, 2, 8], [2, 1, 1, 8]],
  // Multiples of 16: mat4x4s per access (same shapes; a gate and a bias on the left).
  [[3, 16], [3, 16]],
  [[2, 3, 16], [2, 1, 16]],
  [[32], [5, 32]],
];

function binaryCases(gpu: Fn, f: Ref, lo = -1, hi = 1, bLo = lo, bHi = hi) {
  return SHAPES.map(([sa, sb], k) => ({
    title: `${JSON.stringify(sa)} with ${JSON.stringify(sb)}`,
    run: () =>
      checkOp({ gpu, ref: (a, b) => R.zip([a, b], f), inputs: [randArr(sa, 10 + k, lo, hi), randArr(sb, 20 + k, bLo, bHi)] }),
  }));
}

it('contiguous operands run on the vec4 kernels, as mat4x4s where the run is a multiple of 16', async () => {
  const kernelOf = async (sa: number[], sb: number[]) => {
    const [a, b] = [toTensor(randArr(sa, 1)), toTensor(randArr(sb, 2))];
    gpu().profile.start();
    ops.add(a, b).dispose();
    const names = (await gpu().profile.stop()).kernels.map((k) => k.kernel);
    a.dispose();
    b.dispose();
    return names;
  };
  expect(await kernelOf([6, 8], [8])).toEqual(['elementwise-vec4/binary_broadcast']); // a bias
  expect(await kernelOf([2, 5, 12], [2, 1, 12])).toEqual(['elementwise-vec4/binary_broadcast']); // a gate
  expect(await kernelOf([6, 16], [16])).toEqual(['elementwise-vec4/binary_broadcast16']);
  expect(await kernelOf([2, 5, 32], [2, 1, 32])).toEqual(['elementwise-vec4/binary_broadcast16']);
  expect(await kernelOf([3, 4], [3, 4])).toEqual(['elementwise-vec4/binary']);
  expect(await kernelOf([3, 16], [3, 16])).toEqual(['elementwise-vec4/binary16']);
  expect(await kernelOf([6, 10], [10])).toEqual(['elementwise/binary']); // 10 is not a multiple of 4
  expect(await kernelOf([6, 16], [6, 1])).toEqual(['elementwise/binary']); // broadcast along the last dimension
});

describe('arithmetic', () => {
  for (const c of binaryCases(ops.add, (x, y) => x + y)) opTest('add', c.title, c.run);
  for (const c of binaryCases(ops.sub, (x, y) => x - y)) opTest('sub', c.title, c.run);
  for (const c of binaryCases(ops.mul, (x, y) => x * y)) opTest('mul', c.title, c.run);
  // Divisors kept away from zero so the central difference is well conditioned.
  for (const c of binaryCases(ops.div, (x, y) => x / y, -1, 1, 0.5, 2)) opTest('div', c.title, c.run);
  opTest('div', 'negative divisors, broadcast column', () =>
    checkOp({ gpu: ops.div, ref: (a, b) => R.zip([a, b], (x, y) => x / y), inputs: [randArr([3, 4], 5), randArr([3, 1], 6, -2, -0.5)] }));

  it('number operands (add/sub/mul/div with a scalar on either side)', async () => {
    const x = randArr([2, 3], 7, 0.5, 2);
    const cases: [(t: Tensor) => Tensor, (v: number) => number][] = [
      [(t) => ops.add(t, 2.5), (v) => v + 2.5],
      [(t) => ops.add(-1, t), (v) => v - 1],
      [(t) => ops.sub(t, 3), (v) => v - 3],
      [(t) => ops.sub(3, t), (v) => 3 - v],
      [(t) => ops.mul(t, -2), (v) => v * -2],
      [(t) => ops.mul(0.5, t), (v) => v * 0.5],
      [(t) => ops.div(t, 4), (v) => v / 4],
      [(t) => ops.div(2, t), (v) => 2 / v],
    ];
    for (const [gpu, f] of cases) await checkOp({ gpu, ref: (a) => R.map(a, f), inputs: [x] });
  });
});

describe('maximum / minimum', () => {
  for (const c of binaryCases(ops.maximum, Math.max)) opTest('maximum', c.title, c.run);
  for (const c of binaryCases(ops.minimum, Math.min)) opTest('minimum', c.title, c.run);

  opTest('maximum', 'ties send the whole gradient to the first argument', async () => {
    const a = R.arr([5], [1, 2, 3, -1, 0]);
    const b = R.arr([5], [1, 0, 3, 2, 0]);
    const [ga, gb] = await gradsOf(ops.maximum, [a, b], R.arr([5], [1, 2, 3, 4, 5]));
    expect(Array.from(ga!)).toEqual([1, 2, 3, 0, 5]);
    expect(Array.from(gb!)).toEqual([0, 0, 0, 4, 0]);
  });
  opTest('minimum', 'ties send the whole gradient to the first argument', async () => {
    const a = R.arr([5], [1, 2, 3, -1, 0]);
    const b = R.arr([5], [1, 0, 3, 2, 0]);
    const [ga, gb] = await gradsOf(ops.minimum, [a, b], R.arr([5], [1, 2, 3, 4, 5]));
    expect(Array.from(ga!)).toEqual([1, 0, 3, 4, 5]);
    expect(Array.from(gb!)).toEqual([0, 2, 0, 0, 0]);
  });
  opTest('maximum', 'ties with a broadcast second argument', async () => {
    // b broadcasts over rows; its gradient sums the rows where it strictly wins.
    const a = R.arr([2, 3], [0, 1, 2, 5, 1, -3]);
    const b = R.arr([3], [0, 1, 0]);
    const [ga, gb] = await gradsOf(ops.maximum, [a, b]);
    expect(Array.from(ga!)).toEqual([1, 1, 1, 1, 1, 0]);
    expect(Array.from(gb!)).toEqual([0, 0, 1]);
  });
});

describe('comparisons (forward only: not differentiable)', () => {
  // Small integers so that ties (and therefore eq/ge/le) occur often.
  const ints = (shape: number[], seed: number) => R.map(randArr(shape, seed, -2, 2), Math.round);
  const check = (gpu: Fn, f: Ref, sa: number[], sb: number[], seed: number) =>
    checkOp({ gpu, ref: (a, b) => R.zip([a, b], (x, y) => (f(x, y) ? 1 : 0)), inputs: [ints(sa, seed), ints(sb, seed + 1)], wrt: [], fwdTol: 0 });
  opTest('gt', 'same shape and broadcast', async () => {
    await check(ops.gt, (x, y) => +(x > y), [4, 9], [4, 9], 30);
    await check(ops.gt, (x, y) => +(x > y), [3, 1, 5], [2, 1], 31);
  });
  opTest('ge', 'same shape and broadcast', async () => {
    await check(ops.ge, (x, y) => +(x >= y), [4, 9], [4, 9], 32);
    await check(ops.ge, (x, y) => +(x >= y), [], [7], 33);
  });
  opTest('eq', 'same shape and broadcast', async () => {
    await check(ops.eq, (x, y) => +(x === y), [4, 9], [4, 9], 34);
    await check(ops.eq, (x, y) => +(x === y), [6, 1], [1, 5], 35);
  });
  opTest('lt', 'same shape and broadcast', async () => {
    await check(ops.lt, (x, y) => +(x < y), [4, 9], [4, 9], 36);
    await check(ops.lt, (x, y) => +(x < y), [2, 257], [1], 37);
  });
  opTest('le', 'same shape and broadcast', async () => {
    await check(ops.le, (x, y) => +(x <= y), [4, 9], [4, 9], 38);
    await check(ops.le, (x, y) => +(x <= y), [1, 3, 1], [2, 1, 4], 39);
  });
  it('a comparison mask inside a differentiated function contributes no gradient', async () => {
    // f(x) = Σ x · (x > 0): gradient is the mask itself.
    const x = R.arr([6], [-2, -0.5, 0, 0.5, 1, 3]);
    const [g] = await gradsOf((t) => ops.mul(t, ops.gt(t, tensor([0], []))), [x]);
    expect(Array.from(g!)).toEqual([0, 0, 0, 1, 1, 1]);
  });
  it('comparisons also work at rank 0', async () => {
    const y = ops.lt(tensor([1], []), tensor([2], []));
    expect(y.shape).toEqual([]);
    expectClose(await y.data(), [1], 0);
  });
});

describe('same-shape vec4 and mat4x4 paths (shaders/elementwise-vec4.wgsl)', () => {
  // 4·2053 elements (vec4s) and 16·1029 (mat4x4s): both end in a partial workgroup block;
  // the comparison ties (x == y) come from rounding both operands to a coarse grid.
  const grid = (x: R.Arr) => ({ ...x, data: x.data.map((v) => Math.round(v * 4) / 4) });
  const cases: [string, Fn, Ref][] = [
    ['add', ops.add, (x, y) => x + y], ['sub', ops.sub, (x, y) => x - y], ['mul', ops.mul, (x, y) => x * y], ['div', ops.div, (x, y) => x / y],
    ['maximum', ops.maximum, Math.max], ['minimum', ops.minimum, Math.min],
    ['gt', ops.gt, (x, y) => +(x > y)], ['ge', ops.ge, (x, y) => +(x >= y)], ['eq', ops.eq, (x, y) => +(x === y)], ['lt', ops.lt, (x, y) => +(x < y)], ['le', ops.le, (x, y) => +(x <= y)],
  ];
  for (const n of [4 * 2053, 16 * 1029]) {
    it(`every binary op matches the float64 reference over a partial last block (${n} elements)`, async () => {
      const a = grid(randArr([n], 31, -2, 2));
      const b = grid(randArr([n], 32, 0.5, 2));
      const [ta, tb] = [toTensor(a), toTensor(b)];
      for (const [name, gpu, f] of cases) {
        const y = gpu(ta, tb);
        expectClose(await y.data(), R.zip([a, b], f), 1e-6, name);
        y.dispose();
      }
      ta.dispose();
      tb.dispose();
    });
  }
});

describe('where', () => {
  const sel = (c: number, x: number, y: number) => (c !== 0 ? x : y);
  const mask = (shape: number[], seed: number) => R.map(randArr(shape, seed), (v) => (v > 0 ? 1 : 0));
  opTest('where', 'same shapes: forward and gradients to both branches', () =>
    checkOp({ gpu: ops.where, ref: (c, a, b) => R.zip([c, a, b], sel), inputs: [mask([3, 5], 60), randArr([3, 5], 61), randArr([3, 5], 62)], wrt: [1, 2] }));
  opTest('where', 'condition, a and b all broadcast ([4,1], [1,5], [])', () =>
    checkOp({ gpu: ops.where, ref: (c, a, b) => R.zip([c, a, b], sel), inputs: [mask([4, 1], 63), randArr([1, 5], 64), randArr([], 65)], wrt: [1, 2] }));
  opTest('where', 'rank-3 odd sizes with a broadcast middle axis in the condition', () =>
    checkOp({ gpu: ops.where, ref: (c, a, b) => R.zip([c, a, b], sel), inputs: [mask([2, 1, 7], 66), randArr([2, 3, 7], 67), randArr([3, 1], 68)], wrt: [1, 2] }));
  opTest('where', 'innermost axis a multiple of 4 (4 elements per invocation), broadcast condition and branch', () =>
    checkOp({ gpu: ops.where, ref: (c, a, b) => R.zip([c, a, b], sel), inputs: [mask([4, 1], 72), randArr([4, 8], 73), randArr([8], 74)], wrt: [1, 2] }));
  opTest('where', 'number branches', async () => {
    const c = mask([9], 69);
    await checkOp({ gpu: (cc, x) => ops.where(cc, x, -2), ref: (cc, x) => R.zip([cc, x], (p, q) => (p ? q : -2)), inputs: [c, randArr([9], 70)], wrt: [1] });
    await checkOp({ gpu: (cc, x) => ops.where(cc, 0.5, x), ref: (cc, x) => R.zip([cc, x], (p, q) => (p ? 0.5 : q)), inputs: [c, randArr([9], 71)], wrt: [1] });
  });
});
