// Runs the library example from README.md verbatim (the block marked `readme-example`).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as lib from '../src/index.js';

it('the README example runs and prints what it claims', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /```ts readme-example\n([\s\S]*?)```/.exec(readme);
  expect(block, 'README.md has a ```ts readme-example block').not.toBeNull();
  const body = block![1]!.replace(/^import .*$/gm, '');
  const logs: unknown[][] = [];
  const log = (...a: unknown[]) => logs.push(a);
  const fn = new Function('lib', 'console', `return (async () => { const { ${Object.keys(lib).join(', ')} } = lib; ${body} })();`);
  await fn(lib, { log, warn: () => {} });
  expect(logs.length).toBeGreaterThan(0);
  // The example prints the loss and the gradient; check them against the closed form.
  const [lossLine, gradLine] = logs;
  expect(lossLine![0]).toBe('loss');
  expect(lossLine![1]).toBeCloseTo((1 + 4 + 9 + 16) / 4, 5);
  expect(gradLine![0]).toBe('grad');
  expect(Array.from(gradLine![1] as Float32Array)).toEqual([0.5, 1, 1.5, 2]);
});
