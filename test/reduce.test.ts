import { describe, expect, it } from 'vitest';
import { ops, tensor, noGrad, type Tensor } from '../src/index.js';
import * as R from './ref.js';
import { checkOp, expectClose, gradsOf, opTest, rand, randArr, toTensor } from './harness.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

type Opts = { axes?: number | number[]; keepdims?: boolean };
type Reducer = (x: Tensor, o?: Opts) => Tensor;

const refs = {
  sum: R.sum,
  mean: (v: number[]) => R.sum(v) / v.length,
  max: (v: number[]) => Math.max(...v),
  min: (v: number[]) => Math.min(...v),
};
const gpus: Record<keyof typeof refs, Reducer> = { sum: ops.sum, mean: ops.mean, max: ops.max, min: ops.min };

/** Shapes and axis choices: all axes, one axis, negative axes, several non-adjacent axes, size-1 dims. */
const CASES: [number[], Opts][] = [
  [[7], {}],
  [[7], { axes: 0 }],
  [[3, 5], { axes: -1 }],
  [[3, 5], { axes: 0, keepdims: true }],
  [[2, 3, 4, 5], { axes: [0, 2] }],
  [[2, 3, 4, 5], { axes: [-1, 1], keepdims: true }],
  [[2, 3, 4, 5], { axes: [0, 1, 3] }],
  [[1, 6, 1, 3], { axes: [0, 2] }],
  [[1, 6, 1, 3], { axes: [1, -1], keepdims: true }],
  [[4, 1, 9], {}],
  [[4, 1, 9], { keepdims: true }],
  [[3, 67], { axes: 1 }],
  // Inner extents that are multiples of 4: four outputs per invocation.
  [[6, 8], { axes: 0 }],
  [[2, 5, 4], { axes: 1, keepdims: true }],
];

const refAxes = (shape: number[], o: Opts) => (o.axes === undefined ? undefined : (typeof o.axes === 'number' ? [o.axes] : o.axes).map((a) => (a < 0 ? a + shape.length : a)));

describe('reductions vs float64', () => {
  for (const name of ['sum', 'mean', 'max', 'min'] as const) {
    CASES.forEach(([shape, o], k) => {
      // Random inputs have no ties, so central differences are valid for max/min too.
      opTest(name, `${JSON.stringify(shape)} ${JSON.stringify(o)}`, () =>
        checkOp({
          gpu: (x) => gpus[name](x, o),
          ref: (a) => R.reduce(a, refAxes(shape, o), o.keepdims ?? false, refs[name]),
          inputs: [randArr(shape, 200 + k)],
        }));
    });
  }

  for (const name of ['sum', 'mean', 'max', 'min'] as const) {
    opTest(name, 'rank 0 (no axes) and an empty axis list are the identity', async () => {
      await checkOp({ gpu: (x) => gpus[name](x), ref: (a) => a, inputs: [R.arr([], [0.7])] });
      await checkOp({ gpu: (x) => gpus[name](x, { axes: [] }), ref: (a) => a, inputs: [randArr([2, 3], 9)] });
    });
  }

  it('variance (composite) is the population variance', () =>
    checkOp({
      gpu: (x) => ops.variance(x, { axes: [0, 2] }),
      ref: (a) => {
        const m = R.reduce(a, [0, 2], true, refs.mean);
        return R.reduce(R.zip([a, m], (x, y) => (x - y) ** 2), [0, 2], false, refs.mean);
      },
      inputs: [randArr([3, 2, 5], 17)],
    }));
});

describe('ties: the gradient is split equally among the positions attaining the extreme', () => {
  opTest('max', 'ties along the reduced axis', async () => {
    const x = R.arr([3, 3], [1, 3, 3, 2, 2, 2, 5, -1, 0]);
    const [g] = await gradsOf((t) => ops.max(t, { axes: 1 }), [x], R.arr([3], [6, 3, 2]));
    expectClose(g!, [0, 3, 3, 1, 1, 1, 2, 0, 0], 1e-6);
  });
  opTest('min', 'ties along the reduced axis', async () => {
    const x = R.arr([2, 4], [0, 0, 1, 0, 4, 7, 4, 5]);
    const [g] = await gradsOf((t) => ops.min(t, { axes: -1, keepdims: true }), [x], R.arr([2, 1], [3, 2]));
    expectClose(g!, [1, 1, 0, 1, 1, 0, 1, 0], 1e-6);
  });
  opTest('max', 'ties across several non-adjacent axes', async () => {
    // [2, 2, 2]: reduce axes 0 and 2; for each middle index, count the maxima.
    const x = R.arr([2, 2, 2], [1, 1, 0, 4, 1, -1, 4, 4]);
    const [g] = await gradsOf((t) => ops.max(t, { axes: [0, 2] }), [x], R.arr([2], [1, 1]));
    expectClose(g!, [1 / 3, 1 / 3, 0, 1 / 3, 1 / 3, 0, 1 / 3, 1 / 3], 1e-6);
  });
  opTest('min', 'all-equal input over everything', async () => {
    const [g] = await gradsOf((t) => ops.min(t), [R.arr([5], [2, 2, 2, 2, 2])]);
    expectClose(g!, [0.2, 0.2, 0.2, 0.2, 0.2], 1e-6);
  });
});

describe('long reductions (several chunked passes) vs float64', () => {
  const N = 300_003;
  const data = rand(N, 77, -1, 1);
  opTest('sum', `${N} elements to a scalar`, async () => {
    const x = tensor(Float32Array.from(data), [N]);
    const got = await ops.sum(x).item();
    const want = R.sum(Array.from(Float32Array.from(data)));
    // Error relative to Σ|x| (the scale of the rounding error of any summation order).
    const scale = R.sum(Array.from(data, Math.abs));
    expect(Math.abs(got - want) / scale).toBeLessThan(1e-6);
    x.dispose();
  });
  opTest('mean', `${N} elements along the middle axis of [3, N/3, 1]-like layouts`, async () => {
    const x = R.arr([3, 100_001, 1], data);
    const got = await ops.mean(toTensor(x), { axes: 1 }).data();
    const want = R.reduce(x, [1], false, refs.mean);
    expectClose(got, want, 1e-5);
  });
  opTest('max', `${N} elements, maximum placed near the end`, async () => {
    const d = Float32Array.from(data);
    d[N - 5] = 3.5;
    d[17] = -4;
    const x = tensor(d, [N]);
    expect(await ops.max(x).item()).toBe(3.5);
    expect(await ops.min(x).item()).toBe(-4);
    x.dispose();
  });
  opTest('sum', 'gradient of a long sum is all ones', async () => {
    const [g] = await gradsOf((t) => ops.sum(t, { axes: 0 }), [R.arr([70_001, 2], rand(140_002, 3))]);
    expect(g!.length).toBe(140_002);
    expect(g!.every((v) => v === 1)).toBe(true);
  });
  opTest('sum', 'a short r split for parallelism (few columns): [1, 1000, 128] over axis 1, NaN in the last chunk', async () => {
    // 32 vec4 columns → r split into chunks of 64 rows, then a pass over the 16 chunk sums.
    const d = rand(128_000, 9, -1, 1);
    const x = R.arr([1, 1000, 128], d);
    expectClose(await ops.sum(toTensor(x), { axes: 1 }).data(), R.reduce(x, [1], false, refs.sum), 1e-5);
    const withNan = Float32Array.from(d);
    withNan[999 * 128 + 5] = NaN;
    const m = await ops.max(tensor(withNan, [1, 1000, 128]), { axes: 1 }).data();
    expect(Number.isNaN(m[5]!)).toBe(true);
    expect(m.filter((v) => Number.isNaN(v)).length).toBe(1);
  });
  opTest('mean', 'chunked passes with a non-trivial inner stride: [2, 9000, 3] over axis 1', async () => {
    const x = R.arr([2, 9000, 3], rand(54_000, 5, 0, 2));
    expectClose(await ops.mean(toTensor(x), { axes: 1 }).data(), R.reduce(x, [1], false, refs.mean), 1e-5);
  });
});

describe('dtype, axes and NaN', () => {
  it('NaN propagates through max, min and sum', async () => {
    const x = tensor([1, NaN, 3, 4], [2, 2]);
    for (const f of [ops.max, ops.min, ops.sum]) {
      const y = await f(x, { axes: 1 }).data();
      expect(Number.isNaN(y[0]!)).toBe(true);
      expect(Number.isNaN(y[1]!)).toBe(false);
    }
  });
  it('a reduction leaves no live buffers behind (forward, outside any scope)', async () => {
    const x = toTensor(randArr([3, 4, 5], 1));
    await gpu().sync();
    const before = gpu().poolStats().liveBytes;
    noGrad(() => {
      for (const o of [{}, { axes: [] }, { axes: [0, 2] }, { axes: 1, keepdims: true }] as Opts[]) {
        for (const f of Object.values(gpus)) f(x, o).dispose();
      }
      const s = toTensor(R.arr([], [1]));
      ops.sum(s).dispose();
      ops.max(s).dispose();
      s.dispose();
    });
    await gpu().sync();
    expect(gpu().poolStats().liveBytes).toBe(before);
    x.dispose();
  });
});
