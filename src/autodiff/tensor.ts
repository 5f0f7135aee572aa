/**
 * Tensor: a handle on pooled GPU storage plus shape and dtype. Storage is refcounted so
 * views (reshape) share it for free. Nothing is read back until `await t.data()`.
 */
import { backend } from '../runtime/init.js';
import { DisposedError, describeShape } from '../runtime/errors.js';
import { registerInScope } from './scope.js';

export type DType = 'f32' | 'i32' | 'u32';
export type TypedArrayFor<D extends DType> = D extends 'f32' ? Float32Array : D extends 'i32' ? Int32Array : Uint32Array;

export class Storage {
  refs = 1;
  constructor(readonly buffer: GPUBuffer, readonly bytes: number) {}
  release(): void {
    if (--this.refs === 0) backend().pool.release(this.buffer);
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

  /** The GPU buffer (throws DisposedError after `dispose()`). */
  get buffer(): GPUBuffer {
    return this.checkedStorage().buffer;
  }

  checkedStorage(): Storage {
    if (!this.storage) {
      throw new DisposedError(`tensor #${this.id} ${describeShape(this.shape)} ${this.dtype} was used after dispose()`);
    }
    return this.storage;
  }

  /** A tensor sharing this one's storage with another shape of the same size. */
  view(shape: readonly number[]): Tensor<D> {
    const s = this.checkedStorage();
    s.refs++;
    return new Tensor(s, shape, this.dtype);
  }

  /** Copy the values to the host (flushes pending GPU work). */
  async data(): Promise<TypedArrayFor<D>> {
    const s = this.checkedStorage();
    const bytes = await backend().read(s.buffer, this.size * 4);
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

  /** Return the storage to the pool. Safe to call twice. */
  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
  }

  toString(): string {
    return `Tensor#${this.id}(${describeShape(this.shape)}, ${this.dtype}${this.disposed ? ', disposed' : ''})`;
  }
}
