/**
 * Per-kernel GPU time. With the `timestamp-query` feature every dispatch gets its own
 * compute pass with begin/end timestamps, resolved at each submit and read back lazily.
 * Without it, the profiler falls back to wall time: each dispatch is submitted and awaited
 * on its own, so the figures include launch overhead (the report says which mode ran).
 */
export interface KernelTiming {
  kernel: string;
  calls: number;
  totalMs: number;
  meanMs: number;
}

export interface ProfileReport {
  mode: 'timestamp' | 'wall' | 'off';
  kernels: KernelTiming[];
  totalMs: number;
}

const CAPACITY = 4096; // queries per query set (two per dispatch)

export class Profiler {
  private enabled = false;
  private readonly hasTimestamps: boolean;
  private querySet: GPUQuerySet | null = null;
  private resolveBuffer: GPUBuffer | null = null;
  private labels: string[] = [];
  private readonly pendingReads: Promise<void>[] = [];
  private readonly totals = new Map<string, { calls: number; ns: number }>();

  constructor(private readonly device: GPUDevice) {
    this.hasTimestamps = device.features.has('timestamp-query');
  }

  get mode(): ProfileReport['mode'] {
    return !this.enabled ? 'off' : this.hasTimestamps ? 'timestamp' : 'wall';
  }

  start(): void {
    this.enabled = true;
    this.totals.clear();
  }

  /** Stop recording and return per-kernel totals, slowest first. */
  async stop(): Promise<ProfileReport> {
    const mode = this.mode;
    await Promise.all(this.pendingReads);
    await this.device.queue.onSubmittedWorkDone();
    this.enabled = false;
    const kernels = [...this.totals.entries()]
      .map(([kernel, t]) => ({ kernel, calls: t.calls, totalMs: t.ns / 1e6, meanMs: t.ns / 1e6 / t.calls }))
      .sort((a, b) => b.totalMs - a.totalMs);
    return { mode, kernels, totalMs: kernels.reduce((s, k) => s + k.totalMs, 0) };
  }

  /** Timestamp writes for the next dispatch's pass, or null when not profiling with timestamps. */
  timestampWrites(kernel: string): GPUComputePassTimestampWrites | null {
    if (!this.enabled || !this.hasTimestamps) return null;
    if (!this.querySet) {
      this.querySet = this.device.createQuerySet({ type: 'timestamp', count: CAPACITY });
      this.resolveBuffer = this.device.createBuffer({ size: CAPACITY * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    }
    if (this.labels.length * 2 >= CAPACITY) return null; // full until the next submit
    const i = this.labels.length * 2;
    this.labels.push(kernel);
    return { querySet: this.querySet, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 };
  }

  needsFlushPerDispatch(): boolean {
    return this.enabled && !this.hasTimestamps;
  }

  /** Wall-time mode: time a dispatch from record to completion. */
  wallTime(kernel: string, submit: () => void): void {
    const start = performance.now();
    submit();
    this.pendingReads.push(this.device.queue.onSubmittedWorkDone().then(() => this.add(kernel, (performance.now() - start) * 1e6)));
  }

  private toMap: { read: GPUBuffer; labels: string[] }[] = [];

  /** Called before an encoder is finished: copy this submit's timestamps out. */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.labels.length || !this.querySet || !this.resolveBuffer) return;
    const n = this.labels.length * 2;
    const read = this.device.createBuffer({ size: n * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, n, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, read, 0, n * 8);
    this.toMap.push({ read, labels: this.labels });
    this.labels = [];
  }

  /** Called after the submit: only now may the readback buffers be mapped. */
  afterSubmit(): void {
    for (const { read, labels } of this.toMap) {
      this.pendingReads.push(
        read.mapAsync(GPUMapMode.READ).then(() => {
          const t = new BigUint64Array(read.getMappedRange());
          labels.forEach((name, k) => this.add(name, Number(t[2 * k + 1]! - t[2 * k]!)));
          read.unmap();
          read.destroy();
        }),
      );
    }
    this.toMap = [];
  }

  private add(kernel: string, ns: number): void {
    const t = this.totals.get(kernel) ?? { calls: 0, ns: 0 };
    t.calls++;
    t.ns += Math.max(0, ns);
    this.totals.set(kernel, t);
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
  }
}
