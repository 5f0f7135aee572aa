/**
 * Node platform: Dawn through the `webgpu` package. On a machine without a GPU we point
 * the Vulkan loader at a software driver and say so once: SwiftShader (shipped by
 * Debian's chromium package) by default, or Mesa's lavapipe when asked for
 * (`softwareAdapter: 'lavapipe'`, NFNET_SOFTWARE_ADAPTER=lavapipe; docs/adapters.md).
 * Dawn rejects lavapipe before Mesa 23, so "has a Vulkan ICD" is not "has a GPU": we
 * look for GPU device nodes, and if the default adapter still comes back null we retry on
 * the software driver.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { installQuietDawnPolling } from './dawn-polling.js';
import { DeviceError } from './errors.js';
import type { SoftwareAdapter } from './init.js';

export { gpuWait } from './dawn-polling.js';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface NodeAdapter {
  adapter: GPUAdapter;
  /** How the adapter was chosen, when it is worth telling the user (printed once by init). */
  note: string | null;
}

type DawnModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };

/** Where `npm run setup:lavapipe` unpacks a Mesa new enough for Dawn (scripts/setup-lavapipe.sh). */
function lavapipeCacheIcd(): string {
  return `${process.env.XDG_CACHE_HOME || `${homedir()}/.cache`}/nfnet-webgpu/lavapipe/lvp_icd.json`;
}

/** lavapipe's ICD files, most likely to work first: one the user named, the setup script's copy, then the system's. */
function lavapipeIcds(): string[] {
  const named = process.env.VK_ICD_FILENAMES;
  return [...(named && /lvp/.test(named) ? [named] : []), lavapipeCacheIcd(), '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json', '/usr/share/vulkan/icd.d/lvp_icd.json'];
}

// Dawn's `create()` result must stay referenced while its devices live.
let keepAlive: GPU[] = [];

function hasGpuDeviceNode(): boolean {
  const dri = existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  return dri || existsSync('/dev/nvidia0') || existsSync('/dev/dxg');
}

async function loadDawn(): Promise<DawnModule> {
  let mod: DawnModule;
  try {
    mod = (await import('webgpu')) as unknown as DawnModule;
  } catch (e) {
    throw new DeviceError(`cannot load the 'webgpu' package (Dawn for Node): ${(e as Error).message}`);
  }
  installQuietDawnPolling();
  // GPUBufferUsage, GPUMapMode, … are globals in browsers; Dawn exports them instead.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  return mod;
}

/** SwiftShader's ICD file, or a DeviceError saying how to install it. */
function swiftShaderIcd(): string {
  if (!existsSync(SWIFTSHADER_ICD)) {
    throw new DeviceError(
      `no GPU adapter and no SwiftShader driver at ${SWIFTSHADER_ICD}: install Debian's chromium and libvulkan1 ` +
        `(apt-get install chromium libvulkan1; npm test and npm run bench do this when run as root) or set VK_ICD_FILENAMES`,
    );
  }
  return SWIFTSHADER_ICD;
}

/** The first lavapipe ICD file that exists, or a DeviceError naming the setup script. */
function lavapipeIcd(): string {
  const candidates = lavapipeIcds();
  const icd = candidates.find((f) => existsSync(f));
  if (!icd) {
    throw new DeviceError(
      `softwareAdapter 'lavapipe': no lavapipe driver found (looked for ${candidates.join(', ')}); ` +
        'run `npm run setup:lavapipe` (as root on Debian) to install one that Dawn accepts (Mesa >= 23)',
    );
  }
  return icd;
}

/** Point the Vulkan loader at the chosen software driver; returns its ICD file. */
function useSoftware(kind: SoftwareAdapter): string {
  const icd = kind === 'lavapipe' ? lavapipeIcd() : swiftShaderIcd();
  process.env.VK_ICD_FILENAMES = icd;
  return icd;
}

const SOFTWARE_NAMES: Record<SoftwareAdapter, string> = { swiftshader: 'SwiftShader', lavapipe: 'lavapipe' };

function noAdapterFrom(kind: SoftwareAdapter, icd: string): DeviceError {
  const hint =
    kind === 'lavapipe'
      ? 'Dawn accepts lavapipe from Mesa 23 on (Debian 12 ships 22.3): run `npm run setup:lavapipe`'
      : 'is libvulkan1 installed?';
  return new DeviceError(`${SOFTWARE_NAMES[kind]} (${icd}) gave no WebGPU adapter; ${hint}`);
}

export async function requestNodeAdapter(
  dawnToggles: string[],
  forceSoftware: boolean,
  powerPreference: GPUPowerPreference,
  kind: SoftwareAdapter,
): Promise<NodeAdapter> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  // A driver the user named in VK_ICD_FILENAMES wins, unless they asked for lavapipe by name.
  const userChoseIcd = Boolean(process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) && kind === 'swiftshader';
  const dawn = await loadDawn();
  const flags = dawnToggles.length ? [`enable-dawn-features=${dawnToggles.join(',')}`] : [];
  const attempt = async () => {
    const gpu = dawn.create(flags);
    keepAlive.push(gpu);
    return gpu.requestAdapter({ powerPreference });
  };
  const note = (icd: string) => `nfnet-webgpu: no GPU adapter found, using the ${SOFTWARE_NAMES[kind]} software adapter (${icd})`;
  if (!userChoseIcd && (forceSoftware || !hasGpuDeviceNode())) {
    const icd = useSoftware(kind);
    const adapter = await attempt();
    if (!adapter) throw noAdapterFrom(kind, icd);
    return { adapter, note: forceSoftware ? null : note(icd) };
  }
  const adapter = await attempt();
  if (adapter) return { adapter, note: null };
  if (userChoseIcd) throw new DeviceError(`no WebGPU adapter from the Vulkan driver in VK_ICD_FILENAMES/VK_DRIVER_FILES`);
  const icd = useSoftware(kind);
  const fallback = await attempt();
  if (!fallback) throw new DeviceError(`no WebGPU adapter is available, not even ${SOFTWARE_NAMES[kind]}`);
  return { adapter: fallback, note: note(icd) };
}

export function releaseNodeGpu(): void {
  keepAlive = [];
}
