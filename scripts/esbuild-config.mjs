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

/** The browser bundle (dist/browser/nfnet-webgpu.js): one ESM file, WGSL embedded, no Node built-ins. */
export function browserOptions(entry, outfile) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    loader: wgslText,
    plugins: [browserPlatform],
    minify: true,
    // Errors take their name from the class (`this.name = new.target.name`): keep class
    // names through minification so a page sees 'DeviceError', not a mangled identifier.
    keepNames: true,
    sourcemap: true,
    logLevel: 'warning',
  };
}
