/**
 * `init()`: acquire an adapter and device in Node (Dawn) or the browser (navigator.gpu),
 * and make it the current backend for every op.
 */
import { Backend, type CacheStats, type BackendCounters } from './backend.js';
import { DeviceError, DeviceLostError } from './errors.js';
import { requestNodeAdapter, releaseNodeGpu } from './platform-node.js';
import type { PoolStats } from './pool.js';
import type { ProfileReport } from './profiler.js';

export interface InitOptions {
  /** Prefer a high-performance or low-power adapter. */
  powerPreference?: GPUPowerPreference;
  /**
   * Opt-in fast mode (Node/Dawn only): enables the Dawn toggles `allow_unsafe_apis` and
   * `disable_robustness`, which drop bounds-check instrumentation (~20% on SwiftShader).
   * Kernels in this project bound-check themselves, so results do not change.
   */
  fast?: boolean;
  /** Node only: use SwiftShader even when a hardware Vulkan driver exists. */
  forceSoftware?: boolean;
  /** Upper bound on bytes kept in the buffer pool's free lists (default 1 GiB). */
  maxPooledBytes?: number;
  /** Print the adapter choice note (default true). */
  verbose?: boolean;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True when running on a software rasterizer (SwiftShader). */
  software: boolean;
  platform: 'node' | 'browser';
}

export interface Gpu {
  readonly adapter: AdapterSummary;
  readonly features: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
  readonly device: GPUDevice;
  readonly fast: boolean;
  poolStats(): PoolStats;
  cacheStats(): CacheStats;
  counters(): BackendCounters;
  profile: {
    start(): void;
    stop(): Promise<ProfileReport>;
  };
  /** Submit everything recorded and wait for the GPU. */
  sync(): Promise<void>;
  /** Destroy the device and free every buffer; the process can exit on its own afterwards. */
  dispose(): Promise<void>;
}

let current: Backend | null = null;
let currentGpu: Gpu | null = null;
let noteShown = false;

/** The backend every op records into. Throws a clear error before `init()`. */
export function backend(): Backend {
  if (!current) throw new DeviceError('nfnet-webgpu is not initialised: call `await init()` first');
  current.checkAlive();
  return current;
}

export function currentGpuOrNull(): Gpu | null {
  return currentGpu;
}

const FAST_TOGGLES = ['allow_unsafe_apis', 'disable_robustness'];

export async function init(options: InitOptions = {}): Promise<Gpu> {
  if (currentGpu) return currentGpu;
  const powerPreference = options.powerPreference ?? 'high-performance';
  // Node (Dawn) when running under Node; otherwise the page's navigator.gpu. A bundler's
  // `process` shim has no versions.node, so it does not make a page look like Node.
  const inNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  let adapter: GPUAdapter | null;
  let platform: AdapterSummary['platform'];
  if (!inNode && typeof navigator !== 'undefined' && navigator.gpu) {
    adapter = await navigator.gpu.requestAdapter({ powerPreference });
    platform = 'browser';
    if (!adapter) {
      throw new DeviceError(
        'no WebGPU adapter is available (navigator.gpu.requestAdapter() returned null): WebGPU may be disabled or ' +
          'blocklisted for this GPU; on Linux Chromium needs --enable-unsafe-webgpu (and --enable-features=Vulkan)',
      );
    }
  } else if (inNode) {
    const node = await requestNodeAdapter(options.fast ? FAST_TOGGLES : [], options.forceSoftware ?? false, powerPreference);
    if (node.note && (options.verbose ?? true) && !noteShown) {
      console.warn(node.note);
      noteShown = true;
    }
    adapter = node.adapter;
    platform = 'node';
  } else {
    throw new DeviceError(
      'WebGPU is not available here (navigator.gpu is missing): use a browser with WebGPU (Chrome/Edge 113+) ' +
        'and serve the page from a secure origin (https:// or http://localhost / 127.0.0.1)',
    );
  }
  if (!adapter) throw new DeviceError('no WebGPU adapter is available (requestAdapter returned null)');
  const features = [...adapter.features] as string[];
  const wanted = ['timestamp-query', 'subgroups', 'shader-f16'].filter((f) => adapter.features.has(f));
  const limitNames = [
    'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension',
    'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY',
    'maxComputeWorkgroupStorageSize', 'maxStorageBuffersPerShaderStage',
  ] as const;
  const requiredLimits: Record<string, number> = {};
  for (const k of limitNames) requiredLimits[k] = adapter.limits[k];
  const device = await adapter.requestDevice({ requiredFeatures: wanted as GPUFeatureName[], requiredLimits });
  const info = adapter.info;
  const summary: AdapterSummary = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: /swiftshader/i.test(`${info.vendor} ${info.architecture} ${info.description}`),
    platform,
  };
  const b = new Backend(device, { ...summary } as unknown as Record<string, string>, options.maxPooledBytes ?? 2 ** 30);
  current = b;
  const limits: Record<string, number> = {};
  for (const k of limitNames) limits[k] = device.limits[k];
  const handle: Gpu = {
    adapter: summary,
    features,
    limits,
    device,
    fast: Boolean(options.fast) && platform === 'node',
    poolStats: () => b.poolStats(),
    cacheStats: () => b.getCacheStats(),
    counters: () => ({ ...b.counters }),
    profile: { start: () => b.profiler.start(), stop: () => b.profiler.stop() },
    sync: () => b.sync(),
    async dispose() {
      if (current !== b) return;
      try {
        await b.sync();
      } catch (e) {
        if (!(e instanceof DeviceLostError)) throw e;
      } finally {
        b.destroy();
        current = null;
        currentGpu = null;
        releaseNodeGpu();
      }
    },
  };
  currentGpu = handle;
  return handle;
}
