/**
 * A bounded buffer pool with size classes. Creating a GPU buffer costs far more than a
 * dispatch (a 4 MB create is ~1.7 ms on SwiftShader), so released buffers go back to a
 * free list keyed by (usage, size class) and are handed out again. Size classes are
 * powers of two split into four steps, so at most 25% of a buffer is slack.
 */
import { LimitError } from './errors.js';

export interface PoolStats {
  /** Bytes held by live (handed-out) buffers. */
  liveBytes: number;
  /** Highest liveBytes seen since the pool was created or `resetPeak()`. */
  peakLiveBytes: number;
  /** Bytes sitting in free lists, ready for reuse. */
  pooledBytes: number;
  liveBuffers: number;
  /** GPU buffers created (pool misses). */
  creations: number;
  /** Requests served from a free list. */
  reuses: number;
  /** Buffers destroyed because the free lists were over their byte budget. */
  evictions: number;
}

export const STORAGE_USAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST
export const UNIFORM_USAGE = 0x40 | 0x08; // UNIFORM | COPY_DST
export const READBACK_USAGE = 0x01 | 0x08; // MAP_READ | COPY_DST

const MIN_BYTES = 256;

/** The size a request of `bytes` is rounded up to. */
export function sizeClass(bytes: number): number {
  const n = Math.max(MIN_BYTES, Math.ceil(bytes));
  const pow = 2 ** Math.floor(Math.log2(n));
  const step = pow / 4;
  return Math.ceil(n / step) * step;
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/**
 * A number for a GPU object, the same for its lifetime and never reused: the pool orders
 * its free lists by it (buffers are numbered as they are created), the backend keys its
 * bind groups by it.
 */
export function objectId(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly stats: PoolStats = {
    liveBytes: 0, peakLiveBytes: 0, pooledBytes: 0, liveBuffers: 0, creations: 0, reuses: 0, evictions: 0,
  };

  /** Free lists pushed to since the last `canonicalize`. */
  private readonly released = new Set<GPUBuffer[]>();
  /** Evicted buffers that recorded-but-unsubmitted work may still use (see `deferDestroy`). */
  private retired: GPUBuffer[] = [];
  /**
   * Set by the backend: true while an open command encoder may reference pooled buffers.
   * Destroying such a buffer would make the later submit fail, so eviction waits for it.
   */
  deferDestroy: () => boolean = () => false;

  constructor(
    private readonly device: GPUDevice,
    /** Free lists never hold more than this many bytes; the oldest buffers go first. */
    private readonly maxPooledBytes: number,
  ) {}

  acquire(bytes: number, usage: number = STORAGE_USAGE): GPUBuffer {
    // Refused before createBuffer: Dawn would hand back an invalid buffer that fails only at
    // the next submit, and the stats would count bytes that were never allocated.
    const max = this.device.limits.maxBufferSize;
    if (!(bytes >= 0) || bytes > max) throw new LimitError(`a buffer of ${bytes} bytes exceeds this device's maxBufferSize (${max} bytes)`);
    // Near the limit a size class may round past it: take the exact (4-aligned) size then.
    const size = sizeClass(bytes) <= max ? sizeClass(bytes) : Math.ceil(bytes / 4) * 4;
    const list = this.free.get(`${usage}:${size}`);
    let buffer = list?.pop();
    if (buffer) {
      this.stats.reuses++;
      this.stats.pooledBytes -= size;
    } else {
      buffer = this.device.createBuffer({ size, usage });
      objectId(buffer); // numbered at creation: canonicalize sorts by it
      this.stats.creations++;
    }
    this.stats.liveBytes += size;
    this.stats.liveBuffers++;
    this.stats.peakLiveBytes = Math.max(this.stats.peakLiveBytes, this.stats.liveBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.stats.liveBytes -= size;
    this.stats.liveBuffers--;
    const key = `${buffer.usage}:${size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
    this.released.add(list);
    this.stats.pooledBytes += size;
    this.evictOverBudget();
  }

  private evictOverBudget(): void {
    for (const list of this.free.values()) {
      while (this.stats.pooledBytes > this.maxPooledBytes && list.length) {
        const b = list.shift()!;
        this.stats.pooledBytes -= b.size;
        this.stats.evictions++;
        if (this.deferDestroy()) this.retired.push(b);
        else b.destroy();
      }
      if (this.stats.pooledBytes <= this.maxPooledBytes) return;
    }
  }

  /**
   * Put the free lists released into since the last call in creation order. Called at
   * each submit: a step that repeats the same requests from the same free buffers then
   * gets the same buffers every time, which lets the backend reuse its bind groups (LIFO
   * lists otherwise rotate from step to step).
   */
  canonicalize(): void {
    for (const list of this.released) list.sort((a, b) => objectId(a) - objectId(b));
    this.released.clear();
  }

  /** Destroy every pooled (free) buffer; live buffers are untouched. */
  trim(): void {
    this.destroyRetired();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.released.clear();
    this.stats.pooledBytes = 0;
  }

  /** Destroy evicted buffers once the work that may use them has been submitted. */
  destroyRetired(): void {
    for (const b of this.retired) b.destroy();
    this.retired = [];
  }

  resetPeak(): void {
    this.stats.peakLiveBytes = this.stats.liveBytes;
  }

  getStats(): PoolStats {
    return { ...this.stats };
  }
}
