/**
 * Node platform: Dawn through the `webgpu` package. On a machine without a GPU we point
 * the Vulkan loader at SwiftShader (shipped by Debian's chromium package) and say so once.
 * Mesa's software driver (lavapipe) is rejected by Dawn, so "has a Vulkan ICD" is not
 * "has a GPU": we look for GPU device nodes, and if the default adapter still comes back
 * null we retry on SwiftShader.
 */
import { existsSync, readdirSync } from 'node:fs';
import { installQuietDawnPolling } from './dawn-polling.js';
import { DeviceError } from './errors.js';

export { gpuWait } from './dawn-polling.js';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface NodeAdapter {
  adapter: GPUAdapter;
  /** How the adapter was chosen, when it is worth telling the user (printed once by init). */
  note: string | null;
}

type DawnModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };

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

function useSwiftShader(): void {
  if (!existsSync(SWIFTSHADER_ICD)) {
    throw new DeviceError(
      `no GPU adapter and no SwiftShader driver at ${SWIFTSHADER_ICD}: install Debian's chromium and libvulkan1 ` +
        `(apt-get install chromium libvulkan1; npm test and npm run bench do this when run as root) or set VK_ICD_FILENAMES`,
    );
  }
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

export async function requestNodeAdapter(
  dawnToggles: string[],
  forceSoftware: boolean,
  powerPreference: GPUPowerPreference,
): Promise<NodeAdapter> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const userChoseIcd = Boolean(process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES);
  const dawn = await loadDawn();
  const flags = dawnToggles.length ? [`enable-dawn-features=${dawnToggles.join(',')}`] : [];
  const attempt = async () => {
    const gpu = dawn.create(flags);
    keepAlive.push(gpu);
    return gpu.requestAdapter({ powerPreference });
  };
  const softwareNote = `nfnet-webgpu: no GPU adapter found, using the SwiftShader software adapter (${SWIFTSHADER_ICD})`;
  if (!userChoseIcd && (forceSoftware || !hasGpuDeviceNode())) {
    useSwiftShader();
    const adapter = await attempt();
    if (!adapter) throw new DeviceError(`SwiftShader (${SWIFTSHADER_ICD}) gave no WebGPU adapter; is libvulkan1 installed?`);
    return { adapter, note: forceSoftware ? null : softwareNote };
  }
  const adapter = await attempt();
  if (adapter) return { adapter, note: null };
  if (userChoseIcd) throw new DeviceError(`no WebGPU adapter from the Vulkan driver in VK_ICD_FILENAMES/VK_DRIVER_FILES`);
  useSwiftShader();
  const fallback = await attempt();
  if (!fallback) throw new DeviceError('no WebGPU adapter is available, not even SwiftShader');
  return { adapter: fallback, note: softwareNote };
}

export function releaseNodeGpu(): void {
  keepAlive = [];
}
