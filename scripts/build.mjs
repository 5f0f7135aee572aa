// `npm run build`: Node and browser ESM bundles (WGSL embedded) and tsc declarations.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { browserOptions, nodeOptions, root } from './esbuild-config.mjs';

const out = (f) => path.join(root, 'dist', f);
rmSync(out('node'), { recursive: true, force: true }); // no stale chunks
// One build with code splitting: `nfnet-webgpu`, `nfnet-webgpu/node` and the CLI share one
// copy of the runtime (two copies would mean two backends, and init() in one not seen by the other).
const { outfile: _unused, ...shared } = nodeOptions(path.join(root, 'src/index.ts'), out('node/index.js'));
await esbuild.build({
  ...shared,
  entryPoints: { index: path.join(root, 'src/index.ts'), node: path.join(root, 'src/node.ts'), cli: path.join(root, 'src/cli.ts') },
  outdir: out('node'),
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  banner: { js: '#!/usr/bin/env node' }, // needed by cli.js; a hashbang is valid in any ES module
});
await esbuild.build(browserOptions(path.join(root, 'src/index.ts'), out('browser/nfnet-webgpu.js')));
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });
const kb = (f) => (statSync(out(f)).size / 1024).toFixed(1);
const nodeKb = (readdirSync(out('node/chunks')).filter((f) => f.endsWith('.js')).reduce((s, f) => s + statSync(out(`node/chunks/${f}`)).size, 0) / 1024).toFixed(1);
console.log(`dist/node (index, node, cli; ${nodeKb} KiB shared chunks), dist/browser/nfnet-webgpu.js ${kb('browser/nfnet-webgpu.js')} KiB (minified), dist/types/`);
