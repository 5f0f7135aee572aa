// A quad GEMM whose row count's pipeline is not built yet runs one-row tiles while that
// pipeline builds in the background (src/ops/matmul.ts, `quadRowsNow`; Backend
// `readyOrBuildInBackground`). Its own file, so that no earlier test has built the pipelines.
import { expect, it } from 'vitest';
import { ops, warmup } from '../src/index.js';
import { quadBand, quadRows } from '../src/ops/matmul.js';
import * as R from './ref.js';
import { expectClose, randArr, toTensor } from './harness.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();
const quadAvailable = () => gpu().adapter.software && gpu().features.includes('subgroups');

it('runs one-row tiles until the wider tile is built, bit for bit the same result', async (ctx) => {
  if (!quadAvailable()) ctx.skip();
  // 8 rows per invocation on a 32-column band, 8 on 16-column bands, 9 with a partial quad.
  const shapes: [number, number, number][] = [[256, 40, 64], [256, 21, 48], [100, 12, 56]];
  expect(shapes.map(([m]) => quadRows(m))).toEqual([8, 8, 9]);
  expect(shapes.map(([, , n]) => quadBand(n))).toEqual([32, 16, 32]);
  for (const [m, k, n] of shapes) {
    const A = randArr([m, k], m + k);
    const B = randArr([k, n], n);
    const [a, b] = [toTensor(A), toTensor(B)];
    const before = gpu().cacheStats();
    const first = await ops.matmul(a, b).data(); // the wide tile is not built: one-row tiles
    const during = gpu().cacheStats();
    expect(during.background, 'nothing finished building yet').toBe(before.background);
    await gpu().sync(); // waits for the background build too
    const after = gpu().cacheStats();
    expect(after.background, `[${m}×${k}]·[${k}×${n}]: the wide tile was built in the background`).toBe(before.background + 1);
    const second = await ops.matmul(a, b).data(); // now on the wide tile
    expect(gpu().cacheStats().misses, 'the second product found its pipeline built').toBe(after.misses);
    expect(Array.from(second)).toEqual(Array.from(first));
    expectClose(first, R.matmul(A, B, false, false), 1e-5, `[${m}×${k}]·[${k}×${n}]`);
    a.dispose();
    b.dispose();
  }
});

it('warmup() builds the wide tile itself, so the first real product runs on it', async (ctx) => {
  if (!quadAvailable()) ctx.skip();
  const [m, k, n] = [72, 16, 40]; // 9 rows on 16-column bands: a pipeline the test above did not build
  expect(quadRows(m)).toBe(9);
  const a = toTensor(randArr([m, k], 3));
  const b = toTensor(randArr([k, n], 4));
  const report = await warmup(() => ops.matmul(a, b));
  expect(report.built).toBeGreaterThanOrEqual(1);
  const before = gpu().cacheStats();
  await ops.matmul(a, b).data();
  await gpu().sync();
  const after = gpu().cacheStats();
  expect(after.background, 'no background build: warmup built the 9-row tile').toBe(before.background);
  expect(after.misses).toBe(before.misses);
  a.dispose();
  b.dispose();
});
