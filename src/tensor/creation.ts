/**
 * Creating tensors: from host data, filled with a constant, or drawn from the seeded
 * counter-based GPU RNG (same numbers on every adapter for the same seed).
 */
import { backend } from '../runtime/init.js';
import { defineKernel } from '../runtime/kernel.js';
import { DTypeError, LimitError, ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { checkOptions, describeValue } from '../runtime/validate.js';
import { Storage, Tensor, checkTensor, type DType } from './tensor.js';
import fillWgsl from '../../shaders/fill.wgsl';
import randomWgsl from '../../shaders/random.wgsl';

const FILL = defineKernel('fill', fillWgsl, 'fill');
const DRAW = defineKernel('random', randomWgsl, 'draw');
export const ELEMENTWISE_WG = 256;

export function checkShape(shape: readonly number[], what = 'shape'): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new ShapeError(`${what} must be an array of non-negative integers, got ${Array.isArray(shape) ? JSON.stringify(shape) : describeValue(shape)}`);
  }
  if (shape.length > 8) throw new ShapeError(`${what} has rank ${shape.length}; at most 8 dimensions are supported`);
}

const DTYPES: readonly DType[] = ['f32', 'i32', 'u32'];

export function checkDType(fn: string, dtype: unknown): DType {
  if (!DTYPES.includes(dtype as DType)) throw new DTypeError(`${fn}: dtype must be 'f32', 'i32' or 'u32', got ${describeValue(dtype)}`);
  return dtype as DType;
}

/**
 * Bytes of a tensor of `shape`, refused with LimitError when the device could not hold or
 * bind it: every kernel binds a tensor whole, so one buffer must fit both maxBufferSize and
 * maxStorageBufferBindingSize. Checked before anything is allocated.
 */
export function checkAllocation(fn: string, shape: readonly number[]): number {
  const bytes = sizeOf(shape) * 4;
  const { maxBufferSize, maxStorageBufferBindingSize } = backend().device.limits;
  const limit = Math.min(maxBufferSize, maxStorageBufferBindingSize);
  if (bytes > limit) {
    const which = maxBufferSize <= maxStorageBufferBindingSize ? `maxBufferSize ${maxBufferSize}` : `maxStorageBufferBindingSize ${maxStorageBufferBindingSize}`;
    throw new LimitError(`${fn}: a tensor of shape ${describeShape(shape)} needs ${bytes} bytes, more than this device's ${which} bytes`);
  }
  return Math.max(4, bytes);
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A new tensor with uninitialised pooled storage. */
export function empty<D extends DType = 'f32'>(shape: readonly number[], dtype: D = 'f32' as D): Tensor<D> {
  checkShape(shape);
  checkDType('empty', dtype);
  const bytes = checkAllocation('empty', shape);
  const b = backend();
  return new Tensor(new Storage(b.pool.acquire(bytes), bytes), [...shape], dtype);
}

export type TensorData = Float32Array | Int32Array | Uint32Array | readonly number[];

/** A tensor from host data; `shape` defaults to 1-D. dtype follows the typed array (number[] → f32). */
export function tensor(data: Float32Array | readonly number[], shape?: readonly number[], dtype?: 'f32'): Tensor<'f32'>;
export function tensor(data: Int32Array, shape?: readonly number[], dtype?: 'i32'): Tensor<'i32'>;
export function tensor(data: Uint32Array, shape?: readonly number[], dtype?: 'u32'): Tensor<'u32'>;
export function tensor(data: TensorData, shape?: readonly number[], dtype?: DType): Tensor;
export function tensor(data: TensorData, shape?: readonly number[], dtype?: DType): Tensor {
  const numeric = Array.isArray(data) ? data.every((v) => typeof v === 'number') : ArrayBuffer.isView(data) && !(data instanceof DataView) && !(data instanceof BigInt64Array) && !(data instanceof BigUint64Array);
  if (!numeric) throw new ValueError(`tensor(): data must be a typed array or an array of numbers, got ${describeValue(data)}`);
  const dt: DType = dtype === undefined ? (data instanceof Int32Array ? 'i32' : data instanceof Uint32Array ? 'u32' : 'f32') : dtype;
  if (!['f32', 'i32', 'u32'].includes(dt)) throw new DTypeError(`dtype must be 'f32', 'i32' or 'u32', got '${String(dt)}'`);
  const s = shape === undefined ? [data.length] : shape;
  checkShape(s);
  checkAllocation('tensor', s);
  if (sizeOf(s) !== data.length) {
    throw new ShapeError(`tensor(): shape ${describeShape(s)} needs ${sizeOf(s)} values, got ${data.length}`);
  }
  const ctor = dt === 'f32' ? Float32Array : dt === 'i32' ? Int32Array : Uint32Array;
  const host = data instanceof ctor ? data : ctor.from(data as ArrayLike<number>);
  const t = empty(s, dt);
  if (host.length) backend().upload(t.buffer, host);
  return t;
}

export function scalar(value: number): Tensor<'f32'> {
  if (typeof value !== 'number') throw new ValueError(`scalar: value must be a number, got ${describeValue(value)}`);
  return tensor([value], []);
}

export function full(shape: readonly number[], value: number): Tensor<'f32'> {
  if (typeof value !== 'number') throw new ValueError(`full: value must be a number, got ${describeValue(value)}`);
  const t = empty(shape);
  fillWith(t, value);
  return t;
}

function fillWith(t: Tensor, value: number): void {
  if (!t.size) return;
  const elems = t.size % 4 === 0 ? 4 : 1; // four per invocation, as elementsPerInvocation in src/ops/util.ts
  backend().dispatch({
    kernel: FILL,
    bindings: { out: t },
    params: { n: t.size, value },
    overrides: { ELEMS: elems },
    workgroups: Math.ceil(t.size / elems / ELEMENTWISE_WG),
  });
}

export const zeros = (shape: readonly number[]): Tensor<'f32'> => full(shape, 0);
export const ones = (shape: readonly number[]): Tensor<'f32'> => full(shape, 1);
export const zerosLike = (t: Tensor): Tensor => zeros(checkTensor('zerosLike', 't', t).shape);
export const onesLike = (t: Tensor): Tensor => ones(checkTensor('onesLike', 't', t).shape);

export interface RandomOptions {
  /** Any finite number; the same seed gives the same values on every adapter. */
  seed?: number;
  /** Counter offset: draws with the same seed and different offsets do not overlap. */
  offset?: number;
}

let autoSeed = 0x5eed;

/** The Philox key of a seed (an automatic one when omitted); dropout masks use the same mixing. */
export function seedKey(seed: number | undefined): [number, number] {
  const s = seed === undefined ? autoSeed++ : seed;
  if (typeof s !== 'number' || !Number.isFinite(s)) throw new ValueError(`seed must be a finite number, got ${String(s)}`);
  // Mix the float's bits into two 32-bit words so 1, 1.5 and 2**40 are all distinct keys.
  const u = new Uint32Array(new Float64Array([s]).buffer);
  return [(u[0]! ^ 0x9e3779b9) >>> 0, (u[1]! ^ 0x85ebca6b) >>> 0];
}

/** The largest f32 strictly below f32(high) (uniform's exclusive bound), never below f32(low). */
function f32Below(low: number, high: number): number {
  const f = new Float32Array([high]);
  const lo = Math.fround(low);
  if (f[0]! <= lo) return lo;
  const u = new Uint32Array(f.buffer);
  if (f[0] === 0) f[0] = -1.1754943508222875e-38; // smallest normal: GPUs may flush denormals to 0
  else if (f[0]! > 0) u[0] = u[0]! - 1;
  else u[0] = u[0]! + 1;
  return Math.max(f[0]!, lo);
}

function draw(shape: readonly number[], dist: 0 | 1, p0: number, p1: number, opts: RandomOptions): Tensor<'f32'> {
  const [key_lo, key_hi] = seedKey(opts.seed);
  const offset = opts.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset > 0xffffffff) throw new ValueError(`offset must be a non-negative integer, got ${offset} (at most 2^32 − 1)`);
  const t = empty(shape);
  if (!t.size) return t;
  backend().dispatch({
    kernel: DRAW,
    bindings: { out: t },
    params: { n: t.size, key_lo, key_hi, offset, p0, p1, p2: dist === 0 ? f32Below(p0, p1) : 0 },
    overrides: { DIST: dist },
    workgroups: Math.ceil(t.size / ELEMENTWISE_WG),
  });
  return t;
}

/** Normal(mean, std) samples. */
export function randn(shape: readonly number[], opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor<'f32'> {
  checkOptions('randn', opts, ['seed', 'offset', 'mean', 'std']);
  const { mean = 0, std = 1 } = opts;
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0) {
    throw new ValueError(`randn: mean must be finite and std finite and >= 0, got mean=${mean}, std=${std}`);
  }
  return draw(shape, 1, mean, std, opts);
}

/** Uniform samples in [low, high). */
export function uniform(shape: readonly number[], opts: RandomOptions & { low?: number; high?: number } = {}): Tensor<'f32'> {
  checkOptions('uniform', opts, ['seed', 'offset', 'low', 'high']);
  const { low = 0, high = 1 } = opts;
  if (!Number.isFinite(low) || !Number.isFinite(high) || high < low) {
    throw new ValueError(`uniform: need finite low <= high, got low=${low}, high=${high}`);
  }
  return draw(shape, 0, low, high, opts);
}

/**
 * Overwrite a tensor's values in place (same GPU buffer, so every holder of the handle
 * sees the new values): from host data of the same size, or by copying another tensor.
 * Not differentiable; for loading checkpoints, optimizers and tests.
 */
export function assign(target: Tensor, source: Float32Array | Int32Array | Uint32Array | Tensor): void {
  checkTensor('assign', 'target', target);
  if (source instanceof Tensor) {
    checkTensor('assign', 'source', source);
    if (source.dtype !== target.dtype) throw new DTypeError(`assign: source is ${source.dtype}, target ${describeShape(target.shape)} is ${target.dtype}`);
  } else {
    const host = { f32: Float32Array, i32: Int32Array, u32: Uint32Array }[target.dtype];
    if (!(source instanceof host)) {
      throw new DTypeError(`assign: a ${target.dtype} target takes a ${host.name} or a tensor, got ${describeValue(source)}`);
    }
  }
  const n = source instanceof Tensor ? source.size : source.length;
  if (n !== target.size) {
    throw new ShapeError(`assign: target ${describeShape(target.shape)} has ${target.size} values, source has ${n}`);
  }
  if (!n) return;
  const dst = target.binding;
  if (source instanceof Tensor) {
    const src = source.binding;
    backend().copy(src.buffer, src.offset ?? 0, dst.buffer, dst.offset ?? 0, n * 4);
  } else {
    backend().upload(dst.buffer, source, dst.offset ?? 0);
  }
}
