/**
 * The `navigator.gpu` the JavaScript peers (TF.js, jax-js, onnxruntime-web) share: one
 * Dawn instance from the `webgpu` package, created after our `init()` (which picks the
 * Vulkan driver and installs Dawn's GPU* globals) and exposed before a peer loads, since
 * each reads `navigator.gpu` when it initialises. Our own device lives on another instance.
 */
type Dawn = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
let shared: GPU | null = null;

export async function peerNavigatorGpu(): Promise<GPU> {
  if (shared) return shared;
  const dawn = (await import('webgpu')) as unknown as Dawn;
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  shared = dawn.create([]);
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator!, 'gpu', { value: shared, configurable: true });
  // jax-js reads these two when it picks kernel shapes and thread counts.
  if (!('userAgent' in g.navigator!)) Object.defineProperty(g.navigator!, 'userAgent', { value: `Node.js/${process.version}`, configurable: true });
  if (!('hardwareConcurrency' in g.navigator!)) {
    const { availableParallelism } = await import('node:os');
    Object.defineProperty(g.navigator!, 'hardwareConcurrency', { value: availableParallelism(), configurable: true });
  }
  return shared;
}

/** A package's version from its package.json ('unknown' if not found): found from its entry point, since some export maps hide package.json. */
export async function packageVersion(name: string): Promise<string> {
  const { createRequire } = await import('node:module');
  const { existsSync, readFileSync } = await import('node:fs');
  const path = await import('node:path');
  try {
    let dir = path.dirname(createRequire(import.meta.url).resolve(name));
    for (;;) {
      const file = path.join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
        if (pkg.name === name) return pkg.version;
      }
      const up = path.dirname(dir);
      if (up === dir) return 'unknown';
      dir = up;
    }
  } catch {
    return 'unknown';
  }
}
