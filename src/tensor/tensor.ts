/**
 * Tensor: a handle on pooled GPU storage plus shape and dtype. Storage is refcounted so
 * views (reshape) share it for free. Nothing is read back until `await t.data()`.
 * Storage is usually a whole pooled buffer; it can also be a byte range of a larger one
 * (`Storage.slice`): a ModelState keeps a model's parameters in its flat regions that way.
 */
import { backend } from '../runtime/init.js';
import type { Backend } from '../runtime/backend.js';
import { DisposedError, ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { describeValue } from '../runtime/validate.js';
import { registerInScope } from './scope.js';

export type DType = 'f32' | 'i32' | 'u32';
export type TypedArrayFor<D extends DType> = D extends 'f32' ? Float32Array : D extends 'i32' ? Int32Array : Uint32Array;

export class Storage {
  refs = 1;
  /**
   * `offset`: where the storage starts in `buffer` (bytes; 0 for a whole buffer). A slice
   * keeps its `parent` alive, and only a storage without a parent returns its buffer to the pool.
   * `owner`: the backend whose pool the buffer came from (and goes back to); a storage never
   * outlives its device into the next `init()`.
   */
  constructor(
    readonly buffer: GPUBuffer,
    readonly bytes: number,
    readonly offset = 0,
    private readonly parent: Storage | null = null,
    readonly owner: Backend = parent?.owner ?? backend(),
  ) {}

  /** True for a byte range of a buffer that other storage shares. */
  get isSlice(): boolean {
    return this.parent !== null;
  }

  /**
   * A storage for `bytes` bytes from `offset` (relative to this one), sharing the buffer.
   * `offset` must be a multiple of the device's minStorageBufferOffsetAlignment for the slice
   * to be bindable.
   */
  slice(offset: number, bytes: number): Storage {
    if (offset < 0 || offset + bytes > this.bytes) throw new ValueError(`Storage.slice: [${offset}, ${offset + bytes}) is outside ${this.bytes} bytes`);
    this.refs++;
    return new Storage(this.buffer, bytes, this.offset + offset, this);
  }

  /** How a kernel binds it: the whole buffer, or the slice's range (rounded up to whole vec4s). */
  get binding(): GPUBufferBinding {
    if (!this.parent) return { buffer: this.buffer };
    return { buffer: this.buffer, offset: this.offset, size: Math.min(Math.ceil(this.bytes / 16) * 16, this.buffer.size - this.offset) };
  }

  /** True once the device this storage lives on was disposed (its buffer is gone with it). */
  get stale(): boolean {
    return this.owner.isDisposed;
  }

  release(): void {
    if (--this.refs > 0) return;
    if (this.parent) this.parent.release();
    else if (!this.owner.isDisposed) this.owner.pool.release(this.buffer); // a dead device's buffers died with it
  }
}

let nextId = 1;

export class Tensor<D extends DType = DType> {
  readonly id = nextId++;
  readonly size: number;
  private storage: Storage | null;

  constructor(storage: Storage, readonly shape: readonly number[], readonly dtype: D) {
    this.storage = storage;
    this.size = shape.reduce((a, b) => a * b, 1);
    registerInScope(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.storage === null;
  }

  /**
   * The GPU buffer the values live in (throws DisposedError after `dispose()`), like a
   * typed array's `.buffer`: a model's parameters share their state's flat region, so the
   * values start at `byteOffset`. Kernels bind the tensor itself (`bindings: { x: tensor }`),
   * which binds exactly its range.
   */
  get buffer(): GPUBuffer {
    return this.checkedStorage().buffer;
  }

  /** Where the values start in `buffer` (bytes; 0 unless the tensor is a slice of a shared region). */
  get byteOffset(): number {
    return this.checkedStorage().offset;
  }

  /** The buffer range a kernel binds: `{ buffer }`, or `{ buffer, offset, size }` for a slice. */
  get binding(): GPUBufferBinding {
    return this.checkedStorage().binding;
  }

  checkedStorage(): Storage {
    if (!this.storage) {
      throw new DisposedError(`tensor #${this.id} ${describeShape(this.shape)} ${this.dtype} was used after dispose()`);
    }
    if (this.storage.stale) throw staleError(this);
    return this.storage;
  }

  /** A tensor sharing this one's storage with another shape of the same size. */
  view(shape: readonly number[]): Tensor<D> {
    const s = this.checkedStorage();
    if (!Array.isArray(shape as unknown) || shape.some((d) => !Number.isSafeInteger(d) || d < 0) || shape.reduce((a, b) => a * b, 1) !== this.size) {
      throw new ShapeError(`view: tensor #${this.id} ${describeShape(this.shape)} (${this.size} values) cannot be viewed as ${describeValue(shape)}`);
    }
    s.refs++;
    return new Tensor(s, shape, this.dtype);
  }

  /** Copy the values to the host (flushes pending GPU work). */
  async data(): Promise<TypedArrayFor<D>> {
    const s = this.checkedStorage();
    const bytes = await backend().read(s.buffer, this.size * 4, s.offset);
    const ctor = this.dtype === 'f32' ? Float32Array : this.dtype === 'i32' ? Int32Array : Uint32Array;
    return new ctor(bytes) as TypedArrayFor<D>;
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    const d = await this.data();
    return d[0]!;
  }

  /** Nested arrays, like `tf.Tensor.array()`; handy in tests and the REPL. */
  async array(): Promise<unknown> {
    const d = Array.from(await this.data());
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return d[offset];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /**
   * Return the storage to the pool. Safe to call twice. A tensor whose device was disposed
   * throws DisposedError (once) and touches no pool: its buffer died with its device.
   */
  dispose(): void {
    if (!this.storage) return;
    const s = this.storage;
    this.storage = null;
    if (s.stale) throw staleError(this);
    s.release();
  }

  toString(): string {
    return `Tensor#${this.id}(${describeShape(this.shape)}, ${this.dtype}${this.disposed ? ', disposed' : ''})`;
  }
}

function staleError(t: Tensor): DisposedError {
  return new DisposedError(
    `tensor #${t.id} ${describeShape(t.shape)} ${t.dtype} belongs to a GPU device that was disposed (gpu.dispose()); ` +
      'tensors do not move to a device from a later init(): create them again there',
  );
}

/** The tensor argument `name` of `fn`, or a ValueError naming it and what was given. */
export function checkTensor(fn: string, name: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) throw new ValueError(`${fn}: ${name} must be a Tensor, got ${describeValue(v)}`);
  v.checkedStorage(); // DisposedError for a disposed tensor or one from a disposed device
  return v;
}

/** Check every tensor argument of `fn`, by name: `checkTensors('matmul', { a, b })`. */
export function checkTensors(fn: string, args: Record<string, unknown>): void {
  for (const [name, v] of Object.entries(args)) checkTensor(fn, name, v);
}
