/**
 * The browser bundle (dist/browser/nfnet-webgpu.js, built with scripts/esbuild-config.mjs)
 * must be one self-contained ES module: no Node built-in anywhere in its import graph,
 * nothing left external, every WGSL kernel embedded as text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { ROOT, browserUnsafeImports, buildLibraryBundle, removeDir, scratchDir, type BuiltBundle } from './browser/bundle.js';

let dir = '';
let bundle: BuiltBundle;

beforeAll(async () => {
  dir = scratchDir('browser-bundle');
  bundle = await buildLibraryBundle(dir);
  const gz = gzipSync(bundle.code, { level: 9 }).length;
  console.log(
    `browser bundle: ${(bundle.bytes / 1024).toFixed(1)} KiB minified, ${(gz / 1024).toFixed(1)} KiB gzipped ` +
      `(${Object.keys(bundle.metafile.inputs).length} inputs, ${Object.keys(bundle.metafile.inputs).filter((f) => f.endsWith('.wgsl')).length} WGSL files)`,
  );
});

afterAll(() => {
  if (dir) removeDir(dir);
});

describe('browser bundle', () => {
  it('imports no Node built-ins and leaves nothing external', () => {
    expect(browserUnsafeImports(bundle.metafile)).toEqual([]);
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs.some((f) => f.endsWith('platform-node.ts')), 'platform-node.ts must be swapped for platform-browser.ts').toBe(false);
    expect(inputs.some((f) => f.endsWith('platform-browser.ts'))).toBe(true);
    const leak = /\brequire\(|from\s*["']node:|import\(\s*["'](webgpu|node:)/.exec(bundle.code);
    expect(leak && bundle.code.slice(Math.max(0, leak.index - 80), leak.index + 80), 'Node-only code in the bundle').toBeNull();
  });

  it('the import check itself flags Node built-ins and externals', () => {
    const meta = (imports: { path: string; external?: boolean }[]) => ({
      inputs: { 'src/x.ts': { bytes: 1, imports: imports.map((i) => ({ kind: 'import-statement' as const, ...i })) } },
      outputs: {},
    });
    expect(browserUnsafeImports(meta([{ path: 'node:fs', external: true }]))).toHaveLength(1);
    expect(browserUnsafeImports(meta([{ path: 'path' }]))).toHaveLength(1);
    expect(browserUnsafeImports(meta([{ path: 'webgpu', external: true }]))).toHaveLength(1);
    expect(browserUnsafeImports(meta([{ path: './tensor.js', external: true }]))).toHaveLength(0);
  });

  it('embeds every WGSL kernel it uses', () => {
    expect(bundle.code.includes('@compute'), 'WGSL source text (@compute) in the bundle').toBe(true);
    const shaders = readdirSync(path.join(ROOT, 'shaders')).filter((f) => f.endsWith('.wgsl'));
    const embedded = Object.keys(bundle.metafile.inputs).filter((f) => f.endsWith('.wgsl'));
    expect(embedded.length).toBeGreaterThan(0);
    const [output] = Object.values(bundle.metafile.outputs).filter((o) => o.entryPoint);
    for (const f of embedded) {
      expect(shaders, `${f} is a project shader`).toContain(path.basename(f));
      // Inlined as text (the esbuild 'text' loader), not fetched at run time.
      expect(output!.inputs[f]?.bytesInOutput ?? 0, `${f} bytes in the bundle`).toBeGreaterThan(0);
    }
  });

  it('is a single ES module of reasonable size', () => {
    expect(/\bexport\s*\{/.test(bundle.code), 'an ES module export').toBe(true);
    expect(bundle.bytes).toBeGreaterThan(10_000);
    expect(bundle.bytes, 'over 2 MiB: did a large dependency slip in?').toBeLessThan(2 * 1024 * 1024);
  });
});
