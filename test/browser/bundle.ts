/**
 * Build the browser bundle exactly as `npm run build` does (scripts/esbuild-config.mjs),
 * but into a temporary directory and with a metafile, plus the page-side bundle of the
 * shared op cases (test/cases/), which must not pull in a second copy of the library.
 */
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root: the nearest ancestor holding scripts/esbuild-config.mjs (robust to being bundled elsewhere). */
export const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'scripts/esbuild-config.mjs'))) {
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
    dir = up;
  }
  return dir;
})();

interface EsbuildConfig {
  browserOptions(entry: string, outfile: string): esbuild.BuildOptions;
}

async function config(): Promise<EsbuildConfig> {
  // A runtime path keeps tsc from looking for declarations of the .mjs module.
  const url = pathToFileURL(path.join(ROOT, 'scripts/esbuild-config.mjs')).href;
  return (await import(/* @vite-ignore */ url)) as EsbuildConfig;
}

export interface BuiltBundle {
  file: string;
  code: string;
  bytes: number;
  metafile: esbuild.Metafile;
}

/** A fresh scratch directory under .tmp/ (ignored by git); remove it with `rmSync` when done. */
export function scratchDir(name: string): string {
  const dir = path.join(ROOT, '.tmp', `${name}-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** dist/browser/nfnet-webgpu.js, built with the project's own browser options. */
export async function buildLibraryBundle(outDir: string): Promise<BuiltBundle> {
  const { browserOptions } = await config();
  const file = path.join(outDir, 'nfnet-webgpu.js');
  const result = await esbuild.build({ ...browserOptions(path.join(ROOT, 'src/index.ts'), file), metafile: true, logLevel: 'silent' });
  const code = readFileSync(file, 'utf8');
  return { file, code, bytes: Buffer.byteLength(code), metafile: result.metafile! };
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

export function isNodeBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || NODE_BUILTINS.has(spec) || NODE_BUILTINS.has(spec.split('/')[0]!);
}

/**
 * Imports in a metafile that a browser cannot satisfy: Node built-ins anywhere, and any
 * import the bundle leaves external (the bundle must be self-contained). Type-only imports
 * that esbuild erased show up as `external` relative paths of TypeScript inputs; those are fine.
 */
export function browserUnsafeImports(meta: esbuild.Metafile): string[] {
  const bad: string[] = [];
  for (const [input, info] of Object.entries(meta.inputs)) {
    for (const imp of info.imports) {
      if (imp.path === '<runtime>') continue; // esbuild's own helpers (e.g. keepNames' __name)
      const erasedTypeImport = imp.external && imp.path.startsWith('.') && /\.tsx?$/.test(input);
      if (isNodeBuiltin(imp.path) || (imp.external && !erasedTypeImport)) bad.push(`${input} imports ${imp.path} (${imp.kind})`);
    }
  }
  for (const [output, info] of Object.entries(meta.outputs)) {
    for (const imp of info.imports) bad.push(`${output} keeps an import of ${imp.path} (${imp.kind})`);
  }
  return bad;
}

/**
 * The page-side bundle of test/cases/*.ts. The cases receive the library as an argument,
 * so they may import it for types only; a value import from src/ would bundle a second
 * copy of the library (a second backend) and is rejected.
 */
export async function buildCasesBundle(outDir: string): Promise<BuiltBundle> {
  const file = path.join(outDir, 'op-cases.js');
  const srcDir = path.join(ROOT, 'src') + path.sep;
  const noLibrary: esbuild.Plugin = {
    name: 'no-library-in-cases',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.startsWith(srcDir)) {
          return { errors: [{ text: `test/cases must not value-import the library (${path.relative(ROOT, args.path)}); take it as the \`lib\` argument` }] };
        }
        return undefined;
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [path.join(ROOT, 'test/cases/index.ts')],
    outfile: file,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    plugins: [noLibrary],
    metafile: true,
    logLevel: 'silent',
  });
  const code = readFileSync(file, 'utf8');
  return { file, code, bytes: Buffer.byteLength(code), metafile: result.metafile! };
}
