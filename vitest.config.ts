import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';

/** Embed .wgsl files as strings, as the esbuild `text` loader does for the bundles. */
const wgsl = {
  name: 'wgsl-text',
  enforce: 'pre' as const,
  load(id: string) {
    if (id.endsWith('.wgsl')) return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
    return null;
  },
};

export default defineConfig({
  plugins: [wgsl],
  test: {
    include: ['test/**/*.test.ts'],
    // One SwiftShader device per worker; two cores, so at most two workers.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
