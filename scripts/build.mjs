// `npm run build`: Node and browser ESM bundles (WGSL embedded) and tsc declarations.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { browserOptions, nodeOptions, root } from './esbuild-config.mjs';

const out = (f) => path.join(root, 'dist', f);
await esbuild.build(nodeOptions(path.join(root, 'src/index.ts'), out('node/index.js')));
await esbuild.build({ ...nodeOptions(path.join(root, 'src/cli.ts'), out('node/cli.js')), banner: { js: '#!/usr/bin/env node' } });
await esbuild.build(browserOptions(path.join(root, 'src/index.ts'), out('browser/nfnet-webgpu.js')));
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });
const kb = (f) => (statSync(out(f)).size / 1024).toFixed(1);
console.log(`dist/node/index.js ${kb('node/index.js')} KiB, dist/browser/nfnet-webgpu.js ${kb('browser/nfnet-webgpu.js')} KiB (minified), dist/types/`);
