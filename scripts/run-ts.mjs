// Run a TypeScript entry point (bench, CLI during development): bundle it with esbuild to
// .tmp/ (WGSL embedded, packages external) and import it, passing the arguments through.
import * as esbuild from 'esbuild';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { nodeOptions, root } from './esbuild-config.mjs';

const [entry, ...args] = process.argv.slice(2);
const name = path.basename(entry, '.ts');
const outfile = path.join(root, '.tmp', `${name}.mjs`);
await esbuild.build(nodeOptions(path.resolve(entry), outfile));
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
