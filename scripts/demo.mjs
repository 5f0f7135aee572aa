// `npm run demo [-- --port 8080]`: build the demo page (demo/) with the browser bundle inlined
// and serve it, with the Fashion-MNIST files, on http://127.0.0.1. The server code is
// demo/server.ts (also imported by test/demo.test.ts); this file compiles and runs it.
import * as esbuild from 'esbuild';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { nodeOptions, root } from './esbuild-config.mjs';

const outfile = path.join(root, '.tmp', 'demo-server.mjs');
await esbuild.build(nodeOptions(path.join(root, 'demo/server.ts'), outfile));
const { main } = await import(pathToFileURL(outfile).href);
try {
  await main(process.argv.slice(2));
} catch (e) {
  console.error(`demo: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
