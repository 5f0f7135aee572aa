/**
 * The backend: the one object that touches GPUDevice. Ops hand it a kernel, named buffers
 * and a params object; it picks (or builds) the pipeline, packs the uniform, folds
 * oversized linear dispatches, and records into one open command encoder. Nothing is
 * submitted until a readback or an explicit `flush()`, so a training step is a handful of
 * submits rather than one per op.
 */
import type { AdapterSummary } from './init.js';
import { BufferPool, READBACK_USAGE, UNIFORM_USAGE, objectId, type PoolStats } from './pool.js';
import { type Kernel, type Params } from './kernel.js';
import { Profiler } from './profiler.js';
import type { NumericsCheck } from './numerics.js';
import type { Tunable } from './tuning.js';
import { gpuWait } from './platform-node.js';
import {
  DeviceLostError, FeatureError, GPUOutOfMemory, GPUValidationFailure, KernelError, NfnetError, ValueError,
} from './errors.js';

/** What a binding takes: a tensor (bound at its own range of its storage) or a whole buffer. */
export type BindingSource = GPUBuffer | { readonly binding: GPUBufferBinding };

function bufferBinding(src: BindingSource): GPUBufferBinding {
  return 'binding' in src ? src.binding : { buffer: src };
}

export interface DispatchSpec {
  kernel: Kernel;
  /** Tensors or buffers by the names the WGSL declares (the `params` uniform is bound automatically). */
  bindings: Record<string, BindingSource>;
  params?: Params;
  /** Pipeline-overridable constants (workgroup and tile sizes, op codes). */
  overrides?: Record<string, number>;
  /** Workgroup counts. A linear count above the per-dimension limit is folded into y. */
  workgroups: number | [number, number, number?];
}

export interface CacheStats {
  /** Pipelines built (each kernel + override values once). */
  pipelines: number;
  hits: number;
  /** Dispatches that found no ready pipeline and built it on the spot (blocking). */
  misses: number;
  /** Pipelines built ahead of use, in the background, by `prebuild` (`warmup()`). */
  prebuilt: number;
  /** Pipelines built in the background while a cheaper one stood in (`readyOrBuildInBackground`). */
  background: number;
  /** Milliseconds the recording thread spent blocked building shader modules and pipelines. */
  buildMs: number;
}

/** What `Backend.prebuild` did. */
export interface PrebuildReport {
  /** Distinct pipelines the recorded work uses. */
  pipelines: number;
  /** Of those, the ones built in the background now (the rest were built already, or fail to compile: their first dispatch reports it). */
  built: number;
  /** Wall milliseconds from the start of recording to the last pipeline ready. */
  ms: number;
}

export interface BackendCounters {
  dispatches: number;
  submits: number;
  /** Buffer-to-host copies (each `Tensor.data()` is one). */
  readbacks: number;
}

const ARENA_BYTES = 64 * 1024;
const UNIFORM_ALIGN = 256;
/** Bind groups kept for reuse (the cache is emptied when it reaches this size). */
const BIND_GROUP_CACHE = 4096;

export class Backend {
  readonly pool: BufferPool;
  readonly profiler: Profiler;
  readonly counters: BackendCounters = { dispatches: 0, submits: 0, readbacks: 0 };
  /** Shader module of each kernel family, with a kernel of it (for compile-error locations). */
  private readonly modules = new Map<string, { module: GPUShaderModule; kernel: Kernel }>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Each pipeline's bind group layout, asked of Dawn once (a native call per dispatch otherwise). */
  private readonly layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  /**
   * Bind groups by layout and buffer ranges (buffers by object id). A training step repeats
   * its dispatches on the same pooled buffers and uniform slots (the pool's free lists are
   * put in creation order at each submit, the uniform arenas are the backend's own), and
   * createBindGroup was ~30 µs of a dispatch's ~57 µs of recording: nano's step 8.3 of
   * 27 ms. A destroyed buffer's id is never handed out again, so a bind group of one is
   * never found again (it goes when the cache is emptied).
   */
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly cacheStats: CacheStats = { pipelines: 0, hits: 0, misses: 0, prebuilt: 0, background: 0, buildMs: 0 };
  /** Background builds under way (`readyOrBuildInBackground`), by pipeline key; `sync()` waits for them. */
  private readonly building = new Map<string, Promise<boolean>>();
  /** Background builds asked for since the last submit: `flush()` starts them (see `readyOrBuildInBackground`). */
  private readonly buildAfterSubmit = new Map<string, { kernel: Kernel; overrides: Record<string, number> }>();
  /** Keys whose background build failed: their next dispatch builds them on the spot and reports why. */
  private readonly failedInBackground = new Set<string>();
  /** Set while `prebuild` records: each pipeline key it asked for → its build (true: built; null: was built already). */
  private planned: Map<string, Promise<boolean> | null> | null = null;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Buffers the open encoder reads or writes: a queue write to one of them must flush first. */
  private readonly inFlight = new Set<GPUBuffer>();
  private arenas: { buffer: GPUBuffer; bytes: Uint8Array; used: number }[] = [];
  /** Every uniform arena buffer made so far, reused in order by each submit (`arenaBuffer`). */
  private readonly arenaBuffers: GPUBuffer[] = [];
  private pendingErrors: Promise<GPUError | null>[] = [];
  private lostInfo: GPUDeviceLostInfo | null = null;
  private disposed = false;
  /** Active value of each tunable launch config set on this device (absent: its defaults). */
  private readonly tunings = new Map<string, unknown>();
  readonly maxWorkgroupsPerDim: number;

  /** The opt-in numerics check (init({ checkNumerics: true })), or null. */
  numerics: NumericsCheck | null = null;

  constructor(readonly device: GPUDevice, readonly adapter: AdapterSummary, maxPooledBytes: number) {
    this.pool = new BufferPool(device, maxPooledBytes);
    this.pool.deferDestroy = () => this.encoder !== null; // evicted buffers may be in the open encoder
    this.profiler = new Profiler(device);
    this.maxWorkgroupsPerDim = device.limits.maxComputeWorkgroupsPerDimension;
    device.lost.then((info) => {
      this.lostInfo = info;
    });
  }

  /** The active launch config of a tunable op family on this device: its defaults until set. */
  tuning<T extends object>(t: Tunable<T>): Readonly<T> {
    return (this.tunings.get(t.name) as T | undefined) ?? t.defaults;
  }

  /** Set part of a tunable's config (validated by the tunable); returns the previous one. */
  setTuning<T extends object>(t: Tunable<T>, patch: Partial<T>): Readonly<T> {
    const prev = this.tuning(t);
    this.tunings.set(t.name, Object.freeze(t.merge(prev, patch)));
    return prev;
  }

  /** True after `destroy()` (gpu.dispose()): tensors made on it are stale. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Throws DeviceLostError once the device is gone (never hang on a dead device). */
  checkAlive(): void {
    if (this.lostInfo && !this.disposed) {
      throw new DeviceLostError(`the GPU device was lost (${this.lostInfo.reason}): ${this.lostInfo.message}`);
    }
    if (this.disposed) throw new DeviceLostError('the runtime was disposed; call init() again');
  }

  // ---------------------------------------------------------------- pipelines

  private pipelineKey(kernel: Kernel, overrides: Record<string, number>): string {
    const overrideKey = Object.keys(overrides).sort().map((k) => `${k}=${overrides[k]}`).join(',');
    return `${kernel.name}|${overrideKey}`;
  }

  private checkOverrides(kernel: Kernel, overrides: Record<string, number>): void {
    for (const k of Object.keys(overrides)) {
      if (!kernel.overrides.has(k)) throw new KernelError(`kernel ${kernel.name} declares no override '${k}'`);
    }
  }

  /** The shader module of a kernel's family: one per family, shared by its entry points and override values. */
  private moduleFor(kernel: Kernel): GPUShaderModule {
    const family = kernel.name.split('/')[0]!;
    let module = this.modules.get(family)?.module;
    if (!module) {
      module = this.device.createShaderModule({ label: family, code: kernel.source });
      this.modules.set(family, { module, kernel });
    }
    return module;
  }

  pipeline(kernel: Kernel, overrides: Record<string, number> = {}): GPUComputePipeline {
    const key = this.pipelineKey(kernel, overrides);
    const hit = this.pipelines.get(key);
    if (hit) {
      this.cacheStats.hits++;
      return hit;
    }
    this.checkOverrides(kernel, overrides);
    this.cacheStats.misses++;
    const t0 = performance.now();
    const p = this.device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module: this.moduleFor(kernel), entryPoint: kernel.entry, constants: overrides },
    });
    this.cacheStats.buildMs += performance.now() - t0;
    this.pipelines.set(key, p);
    this.cacheStats.pipelines++;
    return p;
  }

  /** While prebuilding: start building a dispatch's pipeline in the background (once per key). */
  private plan(kernel: Kernel, overrides: Record<string, number>): void {
    const planned = this.planned!;
    const key = this.pipelineKey(kernel, overrides);
    if (planned.has(key)) return;
    // One build per key: a background build still queued for the next submit starts now.
    if (this.buildAfterSubmit.has(key)) this.startBackgroundBuild(key);
    planned.set(key, this.pipelines.has(key) ? null : this.building.get(key) ?? this.buildAsync(kernel, overrides, 'prebuilt'));
  }

  /**
   * Whether a dispatch of (kernel, overrides) finds its pipeline ready. When it is not, its
   * build starts on Dawn's worker threads (once) and this returns false: the caller may
   * dispatch a cheaper kernel computing the same values meanwhile (the GEMM's one-row quad
   * tile stands in for its 8-row one, whose build takes ~2 s on SwiftShader). True while
   * prebuilding (warmup() builds what was asked for) and after a background build failed
   * (the dispatch then builds it on the spot and reports the error as usual).
   *
   * The build starts at the next submit, not now: SwiftShader compiles one shader at a
   * time (its JIT holds a process-wide lock), so a background build started mid-recording
   * made the recording thread's next on-the-spot builds wait for it (an 11 ms pipeline took
   * 926 ms). After the submit it overlaps the GPU's work instead.
   */
  readyOrBuildInBackground(kernel: Kernel, overrides: Record<string, number>): boolean {
    const key = this.pipelineKey(kernel, overrides);
    if (this.planned || this.pipelines.has(key) || this.failedInBackground.has(key)) return true;
    if (!this.building.has(key) && !this.buildAfterSubmit.has(key)) {
      this.checkOverrides(kernel, overrides);
      this.buildAfterSubmit.set(key, { kernel, overrides });
    }
    return false;
  }

  /** Start the background builds asked for since the last submit. */
  private startBackgroundBuilds(): void {
    for (const key of [...this.buildAfterSubmit.keys()]) this.startBackgroundBuild(key);
  }

  /** Move one queued background build from the queue to the builds under way. */
  private startBackgroundBuild(key: string): void {
    const { kernel, overrides } = this.buildAfterSubmit.get(key)!;
    this.buildAfterSubmit.delete(key);
    const build = this.buildAsync(kernel, overrides, 'background').then((ok) => {
      this.building.delete(key);
      if (!ok && !this.pipelines.has(key)) this.failedInBackground.add(key);
      return ok;
    });
    this.building.set(key, build);
  }

  /** Build a pipeline on Dawn's worker threads into the cache; false if it failed or was built meanwhile. */
  private buildAsync(kernel: Kernel, overrides: Record<string, number>, how: 'prebuilt' | 'background'): Promise<boolean> {
    const key = this.pipelineKey(kernel, overrides);
    const family = kernel.name.split('/')[0]!;
    const newModule = !this.modules.has(family);
    if (newModule) this.device.pushErrorScope('validation');
    const module = this.moduleFor(kernel);
    const moduleChecked = newModule
      ? // A module with WGSL errors is forgotten, so that the first dispatch of one of its
        // kernels makes it again inside that dispatch's error scope and reports it as usual.
        this.device.popErrorScope().then((e) => {
          if (e && this.modules.get(family)?.module === module) this.modules.delete(family);
        })
      : Promise.resolve();
    const built = this.device
      .createComputePipelineAsync({ label: key, layout: 'auto', compute: { module, entryPoint: kernel.entry, constants: overrides } })
      .then(
        (p) => {
          if (this.pipelines.has(key) || this.disposed) return false; // a dispatch that could not wait built it meanwhile
          this.pipelines.set(key, p);
          this.cacheStats.pipelines++;
          this.cacheStats[how]++;
          return true;
        },
        () => false, // a pipeline that fails to build is left to its first dispatch, which reports it as usual
      );
    return Promise.all([moduleChecked, built]).then(([, ok]) => ok);
  }

  /**
   * Build, in the background and all at once, every pipeline that `record` would dispatch,
   * so that running it afterwards finds them ready. `record` runs in a planning mode: its
   * dispatches are checked as usual but neither recorded nor run, and buffer copies are
   * skipped (buffers it allocates and uploads are real, its results are garbage: dispose
   * them). It must record synchronously and read nothing back. Dawn builds asynchronous
   * pipelines on worker threads: in parallel where cores are free, and while this thread
   * does other work (e.g. loads weights) until the promise is awaited.
   */
  async prebuild(record: () => unknown): Promise<PrebuildReport> {
    this.checkAlive();
    if (this.planned) throw new ValueError('prebuild: already prebuilding (prebuild calls do not nest)');
    const planned = new Map<string, Promise<boolean> | null>();
    const t0 = performance.now();
    this.planned = planned;
    let result: unknown;
    try {
      result = record();
    } finally {
      this.planned = null;
    }
    const building = [...planned.values()].filter((p): p is Promise<boolean> => p !== null);
    if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
      Promise.resolve(result).catch(() => {}); // its rejection (e.g. a readback refused above) is reported here instead
      throw new ValueError('prebuild: the function must record synchronously, but it returned a promise');
    }
    const built = (await Promise.all(building)).filter(Boolean).length;
    return { pipelines: planned.size, built, ms: performance.now() - t0 };
  }

  getCacheStats(): CacheStats {
    return { ...this.cacheStats };
  }

  // ---------------------------------------------------------------- recording

  private openEncoder(): GPUCommandEncoder {
    if (!this.encoder) {
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  private uniformSlot(data: ArrayBuffer): { buffer: GPUBuffer; offset: number } {
    let arena = this.arenas[this.arenas.length - 1];
    if (!arena || arena.used + data.byteLength > ARENA_BYTES) {
      arena = { buffer: this.arenaBuffer(this.arenas.length), bytes: new Uint8Array(ARENA_BYTES), used: 0 };
      this.arenas.push(arena);
    }
    const offset = arena.used;
    arena.bytes.set(new Uint8Array(data), offset);
    arena.used += Math.ceil(data.byteLength / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    return { buffer: arena.buffer, offset };
  }

  private fold(workgroups: DispatchSpec['workgroups'], kernel: Kernel): [number, number, number] {
    const max = this.maxWorkgroupsPerDim;
    if (typeof workgroups === 'number') {
      if (workgroups <= max) return [Math.max(1, workgroups), 1, 1];
      const y = Math.ceil(workgroups / max);
      if (y > max) throw new KernelError(`kernel ${kernel.name}: ${workgroups} workgroups exceed ${max}² even folded into two dimensions`);
      return [Math.ceil(workgroups / y), y, 1];
    }
    const [x, y, z = 1] = workgroups;
    if (x > max || y > max || z > max) {
      throw new KernelError(`kernel ${kernel.name}: grid [${x}, ${y}, ${z}] exceeds ${max} workgroups per dimension`);
    }
    return [Math.max(1, x), Math.max(1, y), Math.max(1, z)];
  }

  /** The bind group entries of a dispatch, checked against what its kernel declares (params packed into `uniform`). */
  private bindGroupEntries(spec: DispatchSpec, uniform: ((data: ArrayBuffer) => GPUBufferBinding) | null): { entries: GPUBindGroupEntry[]; resources: Map<string, GPUBufferBinding> } {
    const { kernel } = spec;
    const entries: GPUBindGroupEntry[] = [];
    const resources = new Map<string, GPUBufferBinding>();
    const writable = new Set<GPUBuffer>();
    for (const b of kernel.bindings) {
      if (b.access === 'uniform') continue;
      const source = spec.bindings[b.name];
      if (!source) throw new KernelError(`kernel ${kernel.name}: binding '${b.name}' was not given`);
      const resource = bufferBinding(source);
      resources.set(b.name, resource);
      if (b.access === 'read_write') writable.add(resource.buffer);
      entries.push({ binding: b.binding, resource });
    }
    for (const name of Object.keys(spec.bindings)) {
      if (!kernel.bindings.some((b) => b.name === name)) {
        throw new KernelError(`kernel ${kernel.name} declares no binding '${name}' (it has ${kernel.bindings.map((b) => b.name).join(', ')})`);
      }
    }
    for (const b of kernel.bindings) {
      const buf = resources.get(b.name)?.buffer;
      if (b.access === 'read' && buf && writable.has(buf)) {
        throw new KernelError(`kernel ${kernel.name}: '${b.name}' is bound both read-only and read_write`);
      }
    }
    const u = kernel.bindings.find((b) => b.access === 'uniform');
    if (u) {
      const data = kernel.packParams(spec.params ?? {});
      if (uniform) entries.push({ binding: u.binding, resource: uniform(data) });
    }
    return { entries, resources };
  }

  /**
   * The i-th uniform arena of a submit: the same buffers in the same order for every submit
   * (not the pool's), so that a repeated dispatch finds its uniform at the same buffer and
   * offset, and its bind group in `bindGroups`. Queue order makes the reuse safe: a later
   * submit's writes run after this one's work.
   */
  private arenaBuffer(i: number): GPUBuffer {
    while (this.arenaBuffers.length <= i) this.arenaBuffers.push(this.device.createBuffer({ size: ARENA_BYTES, usage: UNIFORM_USAGE }));
    return this.arenaBuffers[i]!;
  }

  /** The bind group of these entries, created once (see `bindGroups`). */
  private bindGroupFor(layout: GPUBindGroupLayout, entries: GPUBindGroupEntry[]): GPUBindGroup {
    let key = `${objectId(layout)}`;
    for (const e of entries) {
      const r = e.resource as GPUBufferBinding;
      key += `|${e.binding}:${objectId(r.buffer)}:${r.offset ?? 0}:${r.size ?? -1}`;
    }
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
      group = this.device.createBindGroup({ layout, entries });
      this.bindGroups.set(key, group);
    }
    return group;
  }

  private layoutOf(pipeline: GPUComputePipeline): GPUBindGroupLayout {
    let layout = this.layouts.get(pipeline);
    if (!layout) {
      layout = pipeline.getBindGroupLayout(0);
      this.layouts.set(pipeline, layout);
    }
    return layout;
  }

  /** A kernel that enables a WGSL extension runs only on a device created with its feature (not a compile error later). */
  private checkFeatures(kernel: Kernel): void {
    for (const f of kernel.features) {
      if (!this.device.features.has(f)) {
        throw new FeatureError(`kernel ${kernel.name} needs the device feature '${f}', which this device was created without (init() requests it when the adapter offers it)`);
      }
    }
  }

  /** Record one dispatch into the open encoder (while prebuilding: check it and start building its pipeline). */
  dispatch(spec: DispatchSpec): void {
    this.checkAlive();
    const { kernel } = spec;
    this.checkFeatures(kernel);
    if (this.planned) {
      // The build starts before the checks: checking reflects the kernel's source
      // (wgsl_reflect, tens of ms on this thread for a kernel's first use), which then
      // overlaps the build on Dawn's workers. An unknown override fails the build (left to the first dispatch)
      // and is reported here as usual.
      this.plan(kernel, spec.overrides ?? {});
      this.checkOverrides(kernel, spec.overrides ?? {});
      this.bindGroupEntries(spec, null);
      this.fold(spec.workgroups, kernel);
      return;
    }
    const encoder = this.openEncoder(); // first, so pipeline-creation errors land in its error scope
    const pipeline = this.pipeline(kernel, spec.overrides);
    const { entries, resources } = this.bindGroupEntries(spec, (data) => {
      const slot = this.uniformSlot(data);
      return { buffer: slot.buffer, offset: slot.offset, size: kernel.paramsSize };
    });
    const bindGroup = this.bindGroupFor(this.layoutOf(pipeline), entries);
    const [x, y, z] = this.fold(spec.workgroups, kernel);
    const timestampWrites = this.profiler.timestampWrites(kernel.name);
    if (timestampWrites || !this.pass) {
      this.endPass();
      this.pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
    }
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    if (timestampWrites) this.endPass();
    for (const r of resources.values()) this.inFlight.add(r.buffer);
    this.counters.dispatches++;
    if (this.profiler.needsFlushPerDispatch()) this.profiler.wallTime(kernel.name, () => this.flush());
  }

  /** Record a buffer-to-buffer copy (ends the open compute pass). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.checkAlive();
    if (this.planned) return; // prebuilding records nothing
    this.endPass();
    this.openEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.inFlight.add(src).add(dst);
  }

  /** Write host data into a buffer, in order with everything recorded so far. */
  upload(dst: GPUBuffer, data: ArrayBufferView, dstOffset = 0): void {
    this.checkAlive();
    // queue.writeBuffer runs before any not-yet-submitted encoder: flush first if the
    // open encoder still uses this buffer (e.g. it was just released and reused).
    if (this.inFlight.has(dst)) this.flush();
    this.device.queue.writeBuffer(dst, dstOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submit everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    this.profiler.resolve(this.encoder);
    for (const a of this.arenas) this.device.queue.writeBuffer(a.buffer, 0, a.bytes, 0, a.used);
    this.device.queue.submit([this.encoder.finish()]);
    this.counters.submits++;
    this.profiler.afterSubmit();
    this.encoder = null;
    this.pool.destroyRetired(); // after the submit that may still use them
    this.pool.canonicalize();
    this.pendingErrors.push(this.device.popErrorScope(), this.device.popErrorScope());
    // Queue order makes reuse safe: any later write to these buffers runs after this submit.
    this.arenas = [];
    this.inFlight.clear();
    this.startBackgroundBuilds();
  }

  /** Flush, wait for the GPU, and turn any captured GPU error into a typed error. */
  async sync(): Promise<void> {
    this.flush();
    this.startBackgroundBuilds(); // those asked for with nothing left to submit
    await this.raceLoss(gpuWait(this.device.queue.onSubmittedWorkDone()));
    // Pipelines building in the background: after a sync the next dispatches run on them.
    if (this.building.size) await this.raceLoss(gpuWait(Promise.all(this.building.values())));
    await this.throwCapturedErrors();
    await this.numerics?.verify();
  }

  private async throwCapturedErrors(): Promise<void> {
    const errors = await Promise.all(this.pendingErrors);
    this.pendingErrors = [];
    const err = errors.find((e) => e !== null);
    if (!err) return;
    if (err.constructor?.name === 'GPUOutOfMemoryError') {
      throw new GPUOutOfMemory(`the GPU ran out of memory: ${err.message}`);
    }
    if (/WGSL|shader/i.test(err.message)) throw new KernelError(`a kernel failed to compile: ${await this.compileErrors()}\n${err.message}`);
    throw new GPUValidationFailure(`WebGPU validation error: ${err.message}`);
  }

  /** WGSL compile messages of every shader family that has errors (for KernelError). */
  private async compileErrors(): Promise<string> {
    const lines: string[] = [];
    for (const { module, kernel } of this.modules.values()) {
      const info = await module.getCompilationInfo();
      for (const msg of info.messages) {
        if (msg.type === 'error') lines.push(`${kernel.locate(msg.lineNum)}:${msg.linePos}: ${msg.message}`);
      }
    }
    return lines.join('\n');
  }

  private async raceLoss<T>(p: Promise<T>): Promise<T> {
    const lost = this.device.lost.then((info) => {
      throw new DeviceLostError(`the GPU device was lost (${info.reason}): ${info.message}`);
    });
    return Promise.race([p, lost]);
  }

  /** Copy `bytes` from a buffer to the host. Flushes the open encoder. */
  async read(src: GPUBuffer, bytes: number, srcOffset = 0): Promise<ArrayBuffer> {
    this.checkAlive();
    if (this.planned) throw new ValueError('cannot read a tensor back while prebuilding pipelines (warmup): nothing has run yet');
    this.counters.readbacks++;
    const staging = this.pool.acquire(bytes, READBACK_USAGE);
    this.copy(src, srcOffset, staging, 0, Math.ceil(bytes / 4) * 4);
    this.flush();
    try {
      await this.raceLoss(gpuWait(staging.mapAsync(GPUMapMode.READ, 0, Math.ceil(bytes / 4) * 4)));
    } catch (e) {
      await this.throwCapturedErrors();
      throw e instanceof NfnetError ? e : new GPUValidationFailure(`readback failed: ${(e as Error).message}`);
    }
    const out = staging.getMappedRange(0, Math.ceil(bytes / 4) * 4).slice(0, bytes);
    staging.unmap();
    this.pool.release(staging);
    await this.throwCapturedErrors();
    await this.numerics?.verify();
    return out;
  }

  poolStats(): PoolStats {
    return this.pool.getStats();
  }

  destroy(): void {
    if (this.disposed) return;
    this.encoder = null;
    this.pass = null;
    this.disposed = true;
    this.bindGroups.clear();
    this.pool.trim();
    this.profiler.destroy();
    this.device.destroy();
  }
}
