// Bad inputs throw a typed error naming what was expected and what was given, before any
// GPU work: the dispatch counter must not move during the failing call.
import { describe, expect, it } from 'vitest';
import {
  DTypeError, DisposedError, NfnetError, ShapeError, ValueError, ops, randn, tensor, uniform, valueAndGrad, zeros, type Tensor,
} from '../src/index.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

type ErrorClass = new (...args: never[]) => Error;

/** Assert `fn` throws `cls` with every pattern in its message, and records no dispatch. */
function expectTypedError(fn: () => unknown, cls: ErrorClass, ...patterns: RegExp[]): Error {
  const before = gpu().counters().dispatches;
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'an error was thrown').toBeInstanceOf(cls);
  expect(caught).toBeInstanceOf(NfnetError);
  const msg = (caught as Error).message;
  for (const p of patterns) expect(msg).toMatch(p);
  expect(gpu().counters().dispatches, 'no GPU work before the error').toBe(before);
  return caught as Error;
}

describe('typed errors before any GPU work', () => {
  it('matmul inner-dimension mismatch names both shapes and both sizes', () => {
    const a = zeros([2, 3]);
    const b = zeros([4, 5]);
    const e = expectTypedError(() => ops.matmul(a, b), ShapeError, /\[2, 3\]/, /\[4, 5\]/, /3 vs 4/);
    expect(e.name).toBe('ShapeError');
    const v = zeros([3]);
    const [p, q] = [zeros([2, 2, 3]), zeros([3, 3, 1])];
    expectTypedError(() => ops.matmul(v, b), ShapeError, /rank >= 2/, /\[3\]/);
    expectTypedError(() => ops.matmul(p, q), ShapeError, /batch dimensions \[2\] and \[3\]/);
  });

  it('bad broadcast names both shapes and the dimension', () => {
    const a = zeros([2, 3]);
    const b = zeros([4, 3]);
    for (const f of [ops.add, ops.sub, ops.mul, ops.div, ops.maximum, ops.gt]) {
      expectTypedError(() => f(a, b), ShapeError, /\[2, 3\] and \[4, 3\] do not broadcast/, /2 vs 4/);
    }
    const v = zeros([3]);
    expectTypedError(() => ops.broadcastTo(v, [2, 4]), ShapeError, /\[3\]/, /\[2, 4\]/);
    expectTypedError(() => ops.where(a, a, b), ShapeError, /do not broadcast/);
  });

  it('where with a number branch validates shapes before creating the constant', () => {
    const [c5, x4, x5, i5] = [zeros([5]), zeros([4]), zeros([5]), tensor(new Int32Array(5))];
    expectTypedError(() => ops.where(c5, 0, x4), ShapeError, /do not broadcast/);
    expectTypedError(() => ops.where(c5, x4, 1), ShapeError, /do not broadcast/);
    expectTypedError(() => ops.where(i5, 0, x5), DTypeError, /expected an f32 tensor, got i32/);
  });

  it('wrong dtype: an i32 tensor into an f32 op', () => {
    const i = tensor(new Int32Array([1, 2, 3]));
    const f = tensor([1, 2, 3]);
    expect(i.dtype).toBe('i32');
    expectTypedError(() => ops.add(f, i), DTypeError, /expected an f32 tensor/, /got i32 \[3\]/);
    expectTypedError(() => ops.exp(i), DTypeError, /exp: expected an f32 tensor, got i32/);
    expectTypedError(() => ops.sum(i), DTypeError, /sum/, /got i32/);
    expectTypedError(() => ops.softmax(i), DTypeError, /softmax/, /got i32/);
    const [row, col] = [ops.reshape(i, [1, 3]), zeros([3, 1])];
    expectTypedError(() => ops.matmul(row, col), DTypeError, /matmul/, /got i32/);
  });

  it('valueAndGrad refuses to differentiate a non-f32 tensor', async () => {
    const i = tensor(new Int32Array([1, 2, 3]));
    const before = gpu().counters().dispatches;
    await expect(valueAndGrad((x: Tensor) => ops.sum(x))(i)).rejects.toThrow(DTypeError);
    await expect(valueAndGrad((x: Tensor) => ops.sum(x))(i)).rejects.toThrow(/f32/);
    expect(gpu().counters().dispatches).toBe(before);
  });

  it('axis out of range names the axis and the rank', () => {
    const x = zeros([2, 3, 4]);
    expectTypedError(() => ops.sum(x, { axes: 3 }), ValueError, /axis 3 is out of range/, /rank 3/, /-3…2/);
    expectTypedError(() => ops.max(x, { axes: [0, -4] }), ValueError, /axis -4/);
    expectTypedError(() => ops.mean(x, { axes: [1, -2] }), ValueError, /repeated axis/);
    expectTypedError(() => ops.softmax(x, 5), ValueError, /softmax: axis 5/);
    expectTypedError(() => ops.logSoftmax(x, -4), ValueError, /logSoftmax: axis -4/);
    expectTypedError(() => ops.concat([x, x], 3), ValueError, /concat: axis 3/);
    expectTypedError(() => ops.permute(x, [0, 1, 3]), ValueError, /permute: axis 3/);
    const s = tensor([1], []);
    expectTypedError(() => ops.sum(s, { axes: 0 }), ValueError, /rank 0/);
    expectTypedError(() => ops.sum(x, { axes: 1.5 }), ValueError, /axis 1.5/);
  });

  it('layout ops reject bad shapes and ranges', () => {
    const x = zeros([2, 3]);
    const x33 = zeros([3, 3]);
    expectTypedError(() => ops.reshape(x, [4, 2]), ShapeError, /cannot view \[2, 3\] \(6 elements\) as \[4, 2\]/);
    expectTypedError(() => ops.reshape(x, [-1, -1]), ShapeError, /at most one dimension may be -1/);
    expectTypedError(() => ops.reshape(x, [-1, 4]), ShapeError, /reshape/);
    expectTypedError(() => ops.permute(x, [0]), ShapeError, /perm must list all 2 axes/);
    expectTypedError(() => ops.slice(x, [0, 0], [3, 1]), ValueError, /axis 0 range \[0, 3\) is outside 0…2/);
    expectTypedError(() => ops.slice(x, [0], [1]), ShapeError, /need 2 entries/);
    expectTypedError(() => ops.pad(x, [[0, 1]]), ShapeError, /need 2 \[before, after\] pairs/);
    expectTypedError(() => ops.pad(x, [[0, -1], [0, 0]]), ValueError, /non-negative/);
    expectTypedError(() => ops.concat([x, x33], 1), ShapeError, /\[3, 3\] does not match \[2, 3\]/);
  });

  it('use after dispose', () => {
    const x = zeros([2, 3]);
    const y = zeros([2, 3]);
    x.dispose();
    expectTypedError(() => ops.add(x, y), DisposedError, /\[2, 3\]/, /used after dispose/);
    expectTypedError(() => ops.exp(x), DisposedError, /used after dispose/);
    expectTypedError(() => ops.concat([y, x]), DisposedError, /used after dispose/);
    expect(() => x.buffer).toThrow(DisposedError);
    expect(x.disposed).toBe(true);
    x.dispose(); // twice is fine
  });

  it('data() of a disposed tensor rejects with DisposedError', async () => {
    const x = zeros([2]);
    x.dispose();
    await expect(x.data()).rejects.toThrow(DisposedError);
  });

  it('non-finite seeds and bad distribution parameters', () => {
    expectTypedError(() => randn([3], { seed: NaN }), ValueError, /seed must be a finite number, got NaN/);
    expectTypedError(() => randn([3], { seed: Infinity }), ValueError, /got Infinity/);
    expectTypedError(() => uniform([3], { seed: -Infinity }), ValueError, /got -Infinity/);
    expectTypedError(() => randn([3], { std: -1 }), ValueError, /std=-1/);
    expectTypedError(() => uniform([3], { low: 2, high: 1 }), ValueError, /low=2, high=1/);
    expectTypedError(() => randn([3], { seed: 1, offset: -1 }), ValueError, /offset must be a non-negative integer, got -1/);
  });

  it('tensor() with a data length that does not match the shape', () => {
    expectTypedError(() => tensor([1, 2, 3], [2, 2]), ShapeError, /shape \[2, 2\] needs 4 values, got 3/);
    expectTypedError(() => tensor(new Float32Array(5), []), ShapeError, /needs 1 values, got 5/);
    expectTypedError(() => tensor([1, 2], [2, -1]), ShapeError, /non-negative integers/);
    expectTypedError(() => tensor([1], [1], 'f16' as never), DTypeError, /dtype must be/, /f16/);
  });

  it('scalar arguments must be finite', () => {
    const x = zeros([2]);
    expectTypedError(() => ops.pow(x, Infinity), ValueError, /exponent/);
    expectTypedError(() => ops.affine(x, NaN, 0), ValueError, /finite/);
    expectTypedError(() => ops.pad(x, [[1, 1]], NaN), ValueError, /value must be finite/);
  });

  it('valueAndGrad: f must return a scalar first', async () => {
    const x = zeros([2, 2]);
    await expect(valueAndGrad((t: Tensor) => ops.exp(t))(x)).rejects.toThrow(/must return a scalar.*\[2, 2\]/);
    await expect(valueAndGrad((t: Tensor) => ops.exp(t))(x)).rejects.toBeInstanceOf(ShapeError);
  });
});
