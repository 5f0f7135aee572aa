// Shared esbuild settings: WGSL embedded as text; the browser build swaps the Node
// platform module for a stub so no Node built-in reaches the bundle.
import path from 'node:path';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

export const wgslText = { '.wgsl': 'text' };

/** Replace src/runtime/platform-node.ts with platform-browser.ts. */
export const browserPlatform = {
  name: 'browser-platform',
  setup(build) {
    build.onResolve({ filter: /platform-node\.js$/ }, (args) => ({
      path: path.join(path.dirname(args.importer), 'platform-browser.ts'),
    }));
  },
};

/** esbuild resolves `./x.js` to `./x.ts` in TypeScript sources by itself. */
export function nodeOptions(entry, outfile) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    loader: wgslText,
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  };
}
