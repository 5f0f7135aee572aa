/**
 * `init()`: acquire an adapter and device in Node (Dawn) or the browser (navigator.gpu),
 * and make it the current backend for every op.
 */
import { Backend, type CacheStats, type BackendCounters } from './backend.js';
import { DeviceError, DeviceLostError, ValueError } from './errors.js';
import { checkBoolean, checkNumber, checkOneOf, checkOptions, describeValue } from './validate.js';
import { requestNodeAdapter, releaseNodeGpu } from './platform-node.js';
import type { PoolStats } from './pool.js';
import type { ProfileReport } from './profiler.js';
import { NumericsCheck } from './numerics.js';

export interface InitOptions {
  /** Prefer a high-performance or low-power adapter. */
  powerPreference?: GPUPowerPreference;
  /**
   * Opt-in fast mode (Node/Dawn only): enables the Dawn toggles `allow_unsafe_apis` and
   * `disable_robustness`, which drop bounds-check instrumentation (~20% on SwiftShader).
   * Kernels in this project bound-check themselves, so results do not change.
   */
  fast?: boolean;
  /** Node only: use the software adapter even when a hardware Vulkan driver exists. */
  forceSoftware?: boolean;
  /**
   * Node only: which software Vulkan driver runs the kernels when there is no GPU (or with
   * `forceSoftware`): 'swiftshader' (default; Debian's chromium ships it) or 'lavapipe'
   * (Mesa >= 23, `npm run setup:lavapipe`; about 2× SwiftShader's training steps on this
   * project's kernels, docs/adapters.md). Default: $NFNET_SOFTWARE_ADAPTER, else 'swiftshader'.
   */
  softwareAdapter?: SoftwareAdapter;
  /** Upper bound on bytes kept in the buffer pool's free lists (default 1 GiB). */
  maxPooledBytes?: number;
  /** Print the adapter choice note (default true). */
  verbose?: boolean;
  /**
   * Debugging: check every op's output for NaN/±∞ and throw a NumericsError at the next
   * readback naming the first op that made one (a dispatch per op; default false).
   */
  checkNumerics?: boolean;
  /**
   * Optional features not to request even where the adapter offers them (init requests
   * 'timestamp-query', 'subgroups' and 'shader-f16' when offered): e.g. ['subgroups'] runs
   * the kernels that do without, as on an adapter that lacks it.
   */
  disableFeatures?: OptionalFeature[];
}

/** The software Vulkan drivers init() can put under the kernels in Node (docs/adapters.md). */
export const SOFTWARE_ADAPTERS = ['swiftshader', 'lavapipe'] as const;
export type SoftwareAdapter = (typeof SOFTWARE_ADAPTERS)[number];

/** The software driver asked for: the init option, else $NFNET_SOFTWARE_ADAPTER, else SwiftShader. */
function chosenSoftwareAdapter(option: SoftwareAdapter | undefined): SoftwareAdapter {
  if (option !== undefined) return option;
  const env = typeof process === 'undefined' ? undefined : process.env?.NFNET_SOFTWARE_ADAPTER;
  return env ? checkOneOf('init', 'the environment variable NFNET_SOFTWARE_ADAPTER', env, SOFTWARE_ADAPTERS) : 'swiftshader';
}

/** The optional device features init() requests when the adapter offers them. */
export const OPTIONAL_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True when running on a software rasterizer (SwiftShader or lavapipe: the CPU runs the kernels). */
  software: boolean;
  platform: 'node' | 'browser';
}

export interface Gpu {
  readonly adapter: AdapterSummary;
  /** What the adapter offers. */
  readonly features: readonly string[];
  /** What the device was created with (the kernels may use these): e.g. includes 'subgroups' when subgroup kernels can run. */
  readonly deviceFeatures: readonly string[];
  /** Lanes per subgroup the adapter may use (SwiftShader: 4…4), or null when the device has no 'subgroups' or the adapter does not say. */
  readonly subgroupSize: { min: number; max: number } | null;
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
  /** Submit everything recorded and wait for the GPU (and for pipelines building in the background, so that what follows runs on them). */
  sync(): Promise<void>;
  /** Destroy the device and free every buffer; the process can exit on its own afterwards. */
  dispose(): Promise<void>;
  /** Tuned kernel configs applied from the tune cache at init (Node), or null. */
  readonly tuned: Record<string, unknown> | null;
}

// ---- Autotune cache hook (`npm run bench -- --tune` writes it; see docs/bench.md) ----

/** Ops with tunable launch configs register an applier here (matmul: 'gemm'; conv2d: 'conv', through defineTunable in runtime/tuning.ts). */
const tunables = new Map<string, (config: unknown) => void>();

export function registerTunable(name: string, apply: (config: unknown) => void): void {
  tunables.set(name, apply);
}

/** The tune cache's key for an adapter. */
export function tuneKey(a: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description'>): string {
  return [a.vendor, a.architecture, a.device, a.description].map((s) => s || '-').join(' | ');
}

/** Path of the tune cache (Node): $NFNET_TUNE_CACHE, else ~/.cache/nfnet-webgpu/tune.json; null in a browser or when set to 'off'. */
export function tuneCachePath(): string | null {
  if (typeof process === 'undefined') return null;
  const env = process.env?.NFNET_TUNE_CACHE;
  if (env === 'off') return null;
  if (env) return env;
  const os = (process as { getBuiltinModule?: (m: string) => unknown }).getBuiltinModule?.('node:os') as { homedir(): string } | undefined;
  return os ? `${os.homedir()}/.cache/nfnet-webgpu/tune.json` : null;
}

/** Apply the cached configs for this adapter; a missing or unreadable cache is ignored (init stays fast). */
function applyTuneCache(a: AdapterSummary): Record<string, unknown> | null {
  try {
    const fs = (process as { getBuiltinModule?: (m: string) => unknown }).getBuiltinModule?.('node:fs') as typeof import('node:fs') | undefined;
    const file = tuneCachePath();
    if (!fs || !file || !fs.existsSync(file)) return null;
    const entry = (JSON.parse(fs.readFileSync(file, 'utf8')) as { adapters?: Record<string, { configs?: Record<string, unknown> }> }).adapters?.[tuneKey(a)];
    if (!entry?.configs) return null;
    for (const [name, config] of Object.entries(entry.configs)) tunables.get(name)?.(config);
    return entry.configs;
  } catch {
    return null;
  }
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

/** The device ops record into, or null before `init()` (set before the tune cache is applied, unlike currentGpuOrNull). */
export function currentDeviceOrNull(): GPUDevice | null {
  return current?.device ?? null;
}

const FAST_TOGGLES = ['allow_unsafe_apis', 'disable_robustness'];

/** Adapter descriptions of CPU drivers (lavapipe calls itself llvmpipe), for which the kernels pick their CPU-friendly variants. */
const SOFTWARE_ADAPTER_NAME = /swiftshader|llvmpipe/i;

/** Every init option checked by name, before an adapter is requested. */
function checkInitOptions(options: InitOptions): void {
  checkOptions('init', options, ['powerPreference', 'fast', 'forceSoftware', 'softwareAdapter', 'maxPooledBytes', 'verbose', 'checkNumerics', 'disableFeatures']);
  if (options.disableFeatures !== undefined) {
    if (!Array.isArray(options.disableFeatures)) throw new ValueError(`init: disableFeatures must be an array of feature names, got ${describeValue(options.disableFeatures)}`);
    for (const f of options.disableFeatures) checkOneOf('init', 'disableFeatures[]', f, OPTIONAL_FEATURES);
  }
  if (options.powerPreference !== undefined) checkOneOf('init', 'powerPreference', options.powerPreference, ['high-performance', 'low-power']);
  if (options.softwareAdapter !== undefined) checkOneOf('init', 'softwareAdapter', options.softwareAdapter, SOFTWARE_ADAPTERS);
  for (const k of ['fast', 'forceSoftware', 'verbose', 'checkNumerics'] as const) if (options[k] !== undefined) checkBoolean('init', k, options[k]);
  if (options.maxPooledBytes !== undefined) checkNumber('init', 'maxPooledBytes', options.maxPooledBytes, { min: 0, integer: true });
}

export async function init(options: InitOptions = {}): Promise<Gpu> {
  checkInitOptions(options);
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
    const software = chosenSoftwareAdapter(options.softwareAdapter);
    const node = await requestNodeAdapter(options.fast ? FAST_TOGGLES : [], options.forceSoftware ?? false, powerPreference, software);
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
  const wanted = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !options.disableFeatures?.includes(f));
  const limitNames = [
    'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension',
    'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY',
    'maxComputeWorkgroupStorageSize', 'maxStorageBuffersPerShaderStage',
  ] as const;
  const requiredLimits: Record<string, number> = {};
  for (const k of limitNames) requiredLimits[k] = adapter.limits[k];
  const device = await adapter.requestDevice({ requiredFeatures: wanted as GPUFeatureName[], requiredLimits });
  const info = adapter.info;
  const subgroupSize = device.features.has('subgroups') && info.subgroupMinSize && info.subgroupMaxSize ? { min: info.subgroupMinSize, max: info.subgroupMaxSize } : null;
  const summary: AdapterSummary = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: SOFTWARE_ADAPTER_NAME.test(`${info.vendor} ${info.architecture} ${info.description}`),
    platform,
  };
  const b = new Backend(device, summary, options.maxPooledBytes ?? 2 ** 30);
  current = b;
  if (options.checkNumerics) b.numerics = new NumericsCheck(b);
  const tuned = platform === 'node' ? applyTuneCache(summary) : null;
  const limits: Record<string, number> = {};
  for (const k of limitNames) limits[k] = device.limits[k];
  const handle: Gpu = {
    adapter: summary,
    features,
    deviceFeatures: [...device.features] as string[],
    subgroupSize,
    limits,
    device,
    fast: Boolean(options.fast) && platform === 'node',
    tuned,
    poolStats: () => b.poolStats(),
    cacheStats: () => b.getCacheStats(),
    counters: () => ({ ...b.counters }),
    profile: {
      start: () => b.profiler.start(),
      // Submit what was recorded first: timestamps are resolved at submit time.
      stop: () => {
        b.flush();
        return b.profiler.stop();
      },
    },
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
