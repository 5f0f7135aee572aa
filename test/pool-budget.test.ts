// With a tiny pool budget, released buffers are evicted (destroyed). A buffer released while
// the open command encoder still uses it must not be destroyed before that work is submitted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { init, ops, tensor, type Gpu } from '../src/index.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await init({ verbose: false, maxPooledBytes: 1024 });
});
afterAll(async () => {
  await gpu.dispose();
});

it('evicting a buffer still used by recorded work is deferred until after the submit', async () => {
  const xs = Float32Array.from({ length: 512 }, (_, i) => i / 100);
  const a = tensor(xs, [512]); // 2 KiB: over the 1 KiB pool budget once released
  const b = ops.mul(a, 3); // recorded, not submitted
  a.dispose(); // released → evicted at once
  const d = await b.data();
  expect(d[0]).toBe(0);
  expect(d[511]).toBeCloseTo(15.33, 4);
  expect(gpu.poolStats().evictions).toBeGreaterThan(0);
  expect(gpu.poolStats().pooledBytes).toBeLessThanOrEqual(1024);
});
