// Runs the library example from README.md verbatim (the block marked `readme-example`), and
// docs/kernels.md's runKernel example (`kernels-example`).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as lib from '../src/index.js';

/** Runs the ```ts <tag> block of a doc with the library's exports in scope; returns what it logged. */
async function runDocBlock(doc: string, tag: string): Promise<unknown[][]> {
  const text = readFileSync(new URL(`../${doc}`, import.meta.url), 'utf8');
  const block = new RegExp('```ts ' + tag + '\\n([\\s\\S]*?)```').exec(text);
  expect(block, `${doc} has a \`\`\`ts ${tag} block`).not.toBeNull();
  const body = block![1]!.replace(/^import .*$/gm, '');
  const logs: unknown[][] = [];
  const log = (...a: unknown[]) => logs.push(a);
  const fn = new Function('lib', 'console', `return (async () => { const { ${Object.keys(lib).join(', ')} } = lib; ${body} })();`);
  await fn(lib, { log, warn: () => {} });
  return logs;
}

it('the README example runs and prints what it claims', async () => {
  const logs = await runDocBlock('README.md', 'readme-example');
  expect(logs.length).toBeGreaterThan(0);
  // The example prints the loss and the gradient; check them against the closed form.
  const [lossLine, gradLine] = logs;
  expect(lossLine![0]).toBe('loss');
  expect(lossLine![1]).toBeCloseTo((1 + 4 + 9 + 16) / 4, 5);
  expect(gradLine![0]).toBe('grad');
  expect(Array.from(gradLine![1] as Float32Array)).toEqual([0.5, 1, 1.5, 2]);
});

it('the README\'s other-networks example runs: timm\'s parameter counts, a BN training step and an eval-mode prediction', async () => {
  const logs = await runDocBlock('README.md', 'models-example');
  expect(logs[0]).toEqual(['params', 5288548, 25557032]);
  expect(logs[1]![0]).toBe('classes');
  const classes = Array.from(logs[1]![1] as Int32Array);
  expect(classes).toHaveLength(2);
  for (const c of classes) expect(c >= 0 && c < 10).toBe(true);
}, 240_000);

it('the docs/kernels.md runKernel example runs and prints alpha·x + y', async () => {
  const logs = await runDocBlock('docs/kernels.md', 'kernels-example');
  expect(logs).toHaveLength(1);
  const [label, out] = logs[0]!;
  expect(label).toBe('out');
  const x = [1, 2, 3, 4];
  const y = [10, 20, 30, 40];
  expect(Array.from(out as Float32Array)).toEqual(x.map((v, i) => 0.5 * v + y[i]!));
});
