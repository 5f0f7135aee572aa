import { describe, expect, it } from 'vitest';
import { DTypeError, ops, tensor, zeros, type Tensor } from '../src/index.js';
import * as R from './ref.js';
import { checkOp, gradsOf, opTest, randArr } from './harness.js';
import { useGpu } from './setup.js';

useGpu();

/** Reference broadcast: the value at every output coordinate (via zip with a zero array). */
const refBroadcast = (a: R.Arr, shape: number[]) => R.zip([a, R.arr(shape, new Float64Array(R.size(shape)))], (x) => x);

describe('reshape', () => {
  opTest('reshape', '[2,3,4] → [4,-1] → gradient passes through', () =>
    checkOp({ gpu: (x) => ops.reshape(x, [4, -1]), ref: (a) => R.arr([4, 6], a.data), inputs: [randArr([2, 3, 4], 1)] }));
  opTest('reshape', 'to and from rank 0 and size-1 dims', async () => {
    await checkOp({ gpu: (x) => ops.reshape(x, []), ref: (a) => R.arr([], a.data), inputs: [randArr([1, 1], 2)] });
    await checkOp({ gpu: (x) => ops.reshape(x, [1, 1, 1]), ref: (a) => R.arr([1, 1, 1], a.data), inputs: [randArr([], 3)] });
  });
  opTest('reshape', 'followed by an op that reads through it (mul by a broadcast row)', () =>
    checkOp({
      gpu: (x, w) => ops.mul(ops.reshape(x, [5, 3]), w),
      ref: (a, w) => R.zip([R.arr([5, 3], a.data), w], (p, q) => p * q),
      inputs: [randArr([15], 4), randArr([3], 5)],
    }));
});

describe('broadcastTo', () => {
  opTest('broadcastTo', '[3,1] → [2,3,4] (new leading dim and a size-1 dim)', () =>
    checkOp({ gpu: (x) => ops.broadcastTo(x, [2, 3, 4]), ref: (a) => refBroadcast(a, [2, 3, 4]), inputs: [randArr([3, 1], 6)] }));
  opTest('broadcastTo', 'rank 0 → [5,67]', () =>
    checkOp({ gpu: (x) => ops.broadcastTo(x, [5, 67]), ref: (a) => refBroadcast(a, [5, 67]), inputs: [randArr([], 7)] }));
  opTest('broadcastTo', '[1,4,1,2] → [3,4,5,2] (non-adjacent broadcast axes)', () =>
    checkOp({ gpu: (x) => ops.broadcastTo(x, [3, 4, 5, 2]), ref: (a) => refBroadcast(a, [3, 4, 5, 2]), inputs: [randArr([1, 4, 1, 2], 8)] }));
  opTest('broadcastTo', '[2,1,8] → [2,3,8] (innermost axis a multiple of 4: four elements per invocation)', () =>
    checkOp({ gpu: (x) => ops.broadcastTo(x, [2, 3, 8]), ref: (a) => refBroadcast(a, [2, 3, 8]), inputs: [randArr([2, 1, 8], 10)] }));
  opTest('broadcastTo', 'to its own shape keeps the gradient', () =>
    checkOp({ gpu: (x) => ops.broadcastTo(x, [2, 3]), ref: (a) => a, inputs: [randArr([2, 3], 9)] }));
  it('sumTo is the adjoint of broadcastTo', async () => {
    const x = randArr([3, 4, 5], 10);
    await checkOp({ gpu: (t) => ops.sumTo(t, [4, 1]), ref: (a) => R.arr([4, 1], R.reduce(a, [0, 2], false, R.sum).data), inputs: [x] });
  });
});

describe('permute / transpose', () => {
  opTest('permute', 'rank 4 [2,3,4,5] by [2,0,3,1]', () =>
    checkOp({ gpu: (x) => ops.permute(x, [2, 0, 3, 1]), ref: (a) => R.permute(a, [2, 0, 3, 1]), inputs: [randArr([2, 3, 4, 5], 11)] }));
  opTest('permute', 'rank 4 with size-1 dims and negative axes', () =>
    checkOp({ gpu: (x) => ops.permute(x, [-1, 1, 0, -2]), ref: (a) => R.permute(a, [3, 1, 0, 2]), inputs: [randArr([1, 3, 1, 7], 12)] }));
  opTest('permute', 'rank 3 cyclic [1,2,0] and its odd sizes', () =>
    checkOp({ gpu: (x) => ops.permute(x, [1, 2, 0]), ref: (a) => R.permute(a, [1, 2, 0]), inputs: [randArr([3, 5, 7], 13)] }));
  opTest('permute', 'identity permutation keeps the gradient', () =>
    checkOp({ gpu: (x) => ops.permute(x, [0, 1]), ref: (a) => a, inputs: [randArr([2, 3], 14)] }));
  it('transpose swaps the last two axes by default, any two on request', async () => {
    await checkOp({ gpu: (x) => ops.transpose(x), ref: (a) => R.permute(a, [0, 2, 1]), inputs: [randArr([2, 3, 5], 15)] });
    await checkOp({ gpu: (x) => ops.transpose(x, 0, -1), ref: (a) => R.permute(a, [2, 1, 0]), inputs: [randArr([2, 3, 5], 16)] });
  });
});

describe('slice / pad / concat', () => {
  opTest('slice', 'middle axes of rank 4', () =>
    checkOp({ gpu: (x) => ops.slice(x, [0, 1, 2, 0], [2, 2, 3, 3]), ref: (a) => R.slice(a, [0, 1, 2, 0], [2, 2, 3, 3]), inputs: [randArr([2, 4, 6, 3], 17)] }));
  opTest('slice', 'size -1 means to the end; single elements; rank 1', async () => {
    await checkOp({ gpu: (x) => ops.slice(x, [1, 2], [-1, 1]), ref: (a) => R.slice(a, [1, 2], [2, 1]), inputs: [randArr([3, 5], 18)] });
    await checkOp({ gpu: (x) => ops.slice(x, [3], [251]), ref: (a) => R.slice(a, [3], [251]), inputs: [randArr([257], 19)] });
  });
  opTest('slice', 'out-of-range begin/size is rejected', async () => {
    const x = ops.reshape((await import('../src/index.js')).zeros([6]), [2, 3]);
    expect(() => ops.slice(x, [0, 2], [1, 2])).toThrow(/axis 1 range \[2, 4\) is outside 0…3/);
  });
  opTest('pad', 'middle axes, asymmetric, with a fill value', () =>
    checkOp({
      gpu: (x) => ops.pad(x, [[0, 0], [2, 1], [0, 3], [0, 0]], -1.5),
      ref: (a) => R.pad(a, [[0, 0], [2, 1], [0, 3], [0, 0]], -1.5),
      inputs: [randArr([2, 3, 2, 3], 20)],
    }));
  opTest('pad', 'rank 1 and a size-1 axis', async () => {
    await checkOp({ gpu: (x) => ops.pad(x, [[3, 0]]), ref: (a) => R.pad(a, [[3, 0]], 0), inputs: [randArr([5], 21)] });
    await checkOp({ gpu: (x) => ops.pad(x, [[1, 1], [0, 2]]), ref: (a) => R.pad(a, [[1, 1], [0, 2]], 0), inputs: [randArr([1, 1], 22)] });
  });
  opTest('concat', 'three tensors on a middle axis (sizes 2, 1, 4)', () =>
    checkOp({
      gpu: (a, b, c) => ops.concat([a, b, c], 1),
      ref: (a, b, c) => R.concat([a, b, c], 1),
      inputs: [randArr([3, 2, 5], 23), randArr([3, 1, 5], 24), randArr([3, 4, 5], 25)],
    }));
  opTest('concat', 'negative axis, rank 1 and a single input', async () => {
    await checkOp({ gpu: (a, b) => ops.concat([a, b], -1), ref: (a, b) => R.concat([a, b], 1), inputs: [randArr([2, 3], 26), randArr([2, 5], 27)] });
    await checkOp({ gpu: (a, b) => ops.concat([a, b]), ref: (a, b) => R.concat([a, b], 0), inputs: [randArr([7], 28), randArr([1], 29)] });
    await checkOp({ gpu: (a) => ops.concat([a], 0), ref: (a) => a, inputs: [randArr([4, 2], 30)] });
  });
  opTest('concat', 'the same tensor twice accumulates both gradients', async () => {
    const x = randArr([2, 3], 31);
    const cot = randArr([2, 6], 32);
    const [g] = await gradsOf((t: Tensor) => ops.concat([t, t], 1), [x], cot);
    const want = Array.from({ length: 6 }, (_, i) => {
      const r = Math.floor(i / 3);
      const c = i % 3;
      return cot.data[r * 6 + c]! + cot.data[r * 6 + 3 + c]!;
    });
    for (let i = 0; i < 6; i++) expect(g![i]).toBeCloseTo(want[i]!, 6);
  });
  it('concat rejects mismatched shapes off the axis', async () => {
    const { zeros } = await import('../src/index.js');
    expect(() => ops.concat([zeros([2, 3]), zeros([3, 3])], 1)).toThrow(/along axis 1, \[3, 3\] does not match \[2, 3\]/);
  });
});

describe('integer tensors through data-movement ops keep their dtype and bits', () => {
  const ids = () => tensor(new Int32Array([0, 1, 2, 3, 4, 5, -7, 1 << 30, 9]), [3, 3]);
  it('slice, permute, broadcastTo, pad (value 0) and concat of i32', async () => {
    const x = ids();
    const cases: [Tensor, number[]][] = [
      [ops.slice(x, [1, 0], [2, 2]), [3, 4, -7, 1 << 30]],
      [ops.transpose(x), [0, 3, -7, 1, 4, 1 << 30, 2, 5, 9]],
      [ops.broadcastTo(ops.slice(x, [2, 0], [1, 3]), [2, 3]), [-7, 1 << 30, 9, -7, 1 << 30, 9]],
      [ops.pad(ops.slice(x, [0, 0], [1, 2]), [[0, 0], [1, 1]]), [0, 0, 1, 0]],
      [ops.concat([ops.slice(x, [0, 0], [1, 3]), ops.slice(x, [2, 0], [1, 3])], 0), [0, 1, 2, -7, 1 << 30, 9]],
      [ops.reshape(x, [9]), [0, 1, 2, 3, 4, 5, -7, 1 << 30, 9]],
    ];
    for (const [t, want] of cases) {
      expect(t.dtype).toBe('i32');
      const d = await t.data();
      expect(d).toBeInstanceOf(Int32Array);
      expect(Array.from(d)).toEqual(want);
    }
  });
  it('concat of mixed dtypes and a non-zero pad value on i32 are rejected', () => {
    const x = ids();
    expect(() => ops.concat([x, ops.reshape(zeros([9]), [3, 3])])).toThrow(DTypeError);
    expect(() => ops.pad(x, [[1, 0], [0, 0]], 2)).toThrow(DTypeError);
  });
});

describe('empty tensors', () => {
  it('elementwise, reductions, layout and softmax on size-0 shapes', async () => {
    const e = zeros([0, 3]);
    expect((await ops.add(e, tensor([1, 2, 3], [3])).data()).length).toBe(0);
    expect(ops.exp(e).shape).toEqual([0, 3]);
    const s = ops.sum(e, { axes: 0 });
    expect(s.shape).toEqual([3]);
    expect(Array.from(await s.data())).toEqual([0, 0, 0]);
    expect(Array.from(await ops.max(e, { axes: 0 }).data())).toEqual([-Infinity, -Infinity, -Infinity]);
    expect(ops.transpose(e).shape).toEqual([3, 0]);
    expect(ops.softmax(e).shape).toEqual([0, 3]);
    const c = ops.concat([e, tensor([1, 2, 3], [1, 3])], 0);
    expect(Array.from(await c.data())).toEqual([1, 2, 3]);
    expect(Array.from(await ops.pad(zeros([0]), [[1, 2]], 5).data())).toEqual([5, 5, 5]);
  });
});

describe('ranks above 4 (the general index path)', () => {
  opTest('permute', 'rank 5 [2,3,1,4,3] by [4,2,0,3,1]', () =>
    checkOp({ gpu: (x) => ops.permute(x, [4, 2, 0, 3, 1]), ref: (a) => R.permute(a, [4, 2, 0, 3, 1]), inputs: [randArr([2, 3, 1, 4, 3], 40)] }));
  opTest('permute', 'rank 6 reversal', () =>
    checkOp({ gpu: (x) => ops.permute(x, [5, 4, 3, 2, 1, 0]), ref: (a) => R.permute(a, [5, 4, 3, 2, 1, 0]), inputs: [randArr([2, 1, 3, 2, 2, 3], 41)] }));
  opTest('slice', 'rank 5, middle axes', () =>
    checkOp({ gpu: (x) => ops.slice(x, [0, 1, 0, 1, 0], [2, 2, 3, 1, 2]), ref: (a) => R.slice(a, [0, 1, 0, 1, 0], [2, 2, 3, 1, 2]), inputs: [randArr([2, 4, 3, 3, 2], 42)] }));
  opTest('pad', 'rank 5, several axes', () =>
    checkOp({
      gpu: (x) => ops.pad(x, [[0, 1], [1, 0], [0, 0], [2, 1], [0, 0]], 0.25),
      ref: (a) => R.pad(a, [[0, 1], [1, 0], [0, 0], [2, 1], [0, 0]], 0.25),
      inputs: [randArr([2, 2, 3, 1, 2], 43)],
    }));
  opTest('concat', 'rank 5 on axis 2', () =>
    checkOp({
      gpu: (a, b) => ops.concat([a, b], 2),
      ref: (a, b) => R.concat([a, b], 2),
      inputs: [randArr([2, 1, 2, 3, 2], 44), randArr([2, 1, 3, 3, 2], 45)],
    }));
  opTest('broadcastTo', 'rank 6 with alternating broadcast axes', () =>
    checkOp({ gpu: (x) => ops.broadcastTo(x, [2, 3, 2, 3, 2, 3]), ref: (a) => refBroadcast(a, [2, 3, 2, 3, 2, 3]), inputs: [randArr([2, 1, 2, 1, 2, 1], 46)] }));
  opTest('add', 'rank 5 broadcast that cannot be coalesced', () =>
    checkOp({ gpu: ops.add, ref: (a, b) => R.zip([a, b], (x, y) => x + y), inputs: [randArr([2, 1, 3, 1, 2], 47), randArr([1, 2, 1, 3, 1], 48)] }));
  opTest('where', 'rank 5 broadcast condition', () =>
    checkOp({
      gpu: ops.where,
      ref: (c, a, b) => R.zip([c, a, b], (p, x, y) => (p ? x : y)),
      inputs: [R.map(randArr([1, 2, 1, 2, 1], 49), (v) => (v > 0 ? 1 : 0)), randArr([2, 1, 2, 1, 3], 50), randArr([2, 2, 2, 2, 3], 51)],
      wrt: [1, 2],
    }));
});
