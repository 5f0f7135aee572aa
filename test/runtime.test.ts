// Runtime behaviour the ops rely on: ordering of host uploads against recorded work,
// uniform arenas spanning many dispatches, pooled-buffer reuse, bind-group reuse and pipeline reuse.
import { describe, expect, it } from 'vitest';
import { noGrad, ops, tensor, tidy, type Tensor } from '../src/index.js';
import { sizeClass } from '../src/runtime/pool.js';
import { backend } from '../src/runtime/init.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

describe('runtime', () => {
  it('an upload into a reused buffer does not overtake recorded reads of its old contents', async () => {
    const xs = [0, 1, 2, 3, 4, 5, 6, 7];
    const a = tensor(xs, [8]);
    const b = ops.mul(a, 2); // recorded, not yet submitted
    a.dispose(); // a's buffer goes back to the pool while b's dispatch still reads it
    const c = tensor([9, 9, 9, 9, 9, 9, 9, 9], [8]); // same size class: reuses that buffer
    expect(Array.from(await b.data())).toEqual(xs.map((v) => 2 * v));
    expect(Array.from(await c.data())).toEqual(new Array(8).fill(9));
  });

  it('more than one uniform arena of dispatches in a single submit (600 chained adds)', async () => {
    const x = tensor([1, -2, 0.5], [3]);
    const submits = gpu().counters().submits;
    const y = noGrad(() =>
      tidy(() => {
        let t: Tensor = x;
        for (let i = 0; i < 600; i++) t = ops.add(t, tensor([1, 1, 1], [3]));
        return t;
      }),
    );
    const d = await y.data();
    expect(Array.from(d)).toEqual([601, 598, 600.5]);
    // Uploads only flush when they would overwrite a buffer the open encoder uses.
    expect(gpu().counters().submits - submits).toBeLessThan(600);
  });

  it('pooled buffers are reused and size classes waste at most 25%', async () => {
    for (const n of [1, 255, 256, 257, 1000, 4097, 65535, 1e6 + 3]) {
      const c = sizeClass(n);
      expect(c).toBeGreaterThanOrEqual(Math.max(n, 256));
      expect(c).toBeLessThanOrEqual(Math.max(256, n * 1.25 + 1));
    }
    const before = gpu().poolStats();
    for (let i = 0; i < 20; i++) tidy(() => ops.exp(tensor([1, 2, 3], [3])));
    await gpu().sync();
    const after = gpu().poolStats();
    expect(after.creations - before.creations).toBeLessThanOrEqual(2);
    expect(after.reuses - before.reuses).toBeGreaterThanOrEqual(38);
  });

  /** Runs `work` with device.createBindGroup counted; returns the count. */
  async function bindGroupsCreated(work: () => Promise<void>): Promise<number> {
    const device = backend().device;
    const create = device.createBindGroup.bind(device);
    let n = 0;
    device.createBindGroup = (d: GPUBindGroupDescriptor) => {
      n++;
      return create(d);
    };
    try {
      await work();
    } finally {
      device.createBindGroup = create;
    }
    return n;
  }

  // A small step: ops whose outputs and temporaries come from the pool, and a readback.
  const step = async (x: Tensor) => {
    const y = tidy(() => ops.sum(ops.mul(ops.exp(ops.add(x, 1)), x)));
    const v = (await y.data())[0]!;
    y.dispose();
    return v;
  };

  it('a repeated step finds its bind groups again (the same pooled buffers, the same uniform slots)', async () => {
    const x = tensor(Float32Array.from({ length: 64 }, (_, i) => i / 64), [64]);
    const want = await step(x);
    for (let i = 0; i < 5; i++) await step(x); // the free lists settle (into a cycle of one or two steps)
    const created = await bindGroupsCreated(async () => {
      for (let i = 0; i < 3; i++) expect(await step(x)).toBe(want);
    });
    expect(created).toBe(0);
    x.dispose();
  });

  it('a destroyed buffer is never bound again: after the pool is trimmed the same work binds new buffers, same values', async () => {
    const x = tensor(Float32Array.from({ length: 64 }, (_, i) => i / 64), [64]);
    const want = await step(x);
    await step(x);
    backend().pool.trim(); // destroys every free buffer: the step's temporaries are new ones next time
    const created = await bindGroupsCreated(async () => expect(await step(x)).toBe(want));
    expect(created).toBeGreaterThan(0);
    await gpu().sync(); // no validation error from a bind group of a destroyed buffer
    x.dispose();
  });

  it('one pipeline per kernel variant, whatever the shapes', async () => {
    tidy(() => ops.sub(tensor([1], [1]), tensor([2], [1]))); // build the pipeline
    const before = gpu().cacheStats();
    // Sizes that are not multiples of 4: all take the one-element-per-invocation variant.
    for (const n of [1, 7, 301, 5001]) tidy(() => ops.sub(tensor(new Float32Array(n), [n]), tensor(new Float32Array(n), [n])));
    const after = gpu().cacheStats();
    expect(after.pipelines).toBe(before.pipelines);
    expect(after.hits - before.hits).toBe(4);
  });
});
