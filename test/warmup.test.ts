// warmup(): pipelines built in the background ahead of the work that uses them, with the
// work's own checks, nothing recorded, and compile errors still reported where they were.
import { describe, expect, it } from 'vitest';
import { KernelError, ShapeError, ValueError, defineKernel, empty, nfnet, noGrad, ops, randn, tensor, tidy, warmup } from '../src/index.js';
import { backend } from '../src/runtime/init.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

/** float64 reference: a [m, k] · b [k, n]. */
function matmulRef(a: Float32Array, b: Float32Array, m: number, k: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
      out.push(s);
    }
  }
  return out;
}

describe('warmup', () => {
  it('builds every pipeline of a function ahead of time; the real run then builds none and is right', async () => {
    const [m, k, n] = [6, 5, 7];
    const fn = (a: ReturnType<typeof randn>, b: ReturnType<typeof randn>) => ops.relu(ops.matmul(ops.exp(a), b));
    const a = randn([m, k], { seed: 1 });
    const b = randn([k, n], { seed: 2 });
    const before = gpu().cacheStats();
    const report = await warmup(() => fn(empty([m, k]), empty([k, n])));
    const warmed = gpu().cacheStats();
    expect(report.pipelines).toBe(3); // exp, matmul, relu
    expect(report.built).toBe(3);
    expect(warmed.prebuilt - before.prebuilt).toBe(3);
    expect(warmed.pipelines - before.pipelines).toBe(3);
    expect(warmed.misses).toBe(before.misses);

    const y = noGrad(() => tidy(() => fn(a, b)));
    const after = gpu().cacheStats();
    expect(after.misses, 'the real run built no pipeline').toBe(warmed.misses);
    expect(after.pipelines).toBe(warmed.pipelines);
    expect(after.hits - warmed.hits).toBe(3);
    const [av, bv, yv] = [await a.data(), await b.data(), await y.data()];
    const ref = matmulRef(av.map(Math.exp), bv, m, k, n).map((v) => Math.max(v, 0));
    ref.forEach((r, i) => expect(yv[i]!).toBeCloseTo(r, 4));

    // A second warm-up of the same work finds everything built.
    const again = await warmup(() => fn(empty([m, k]), empty([k, n])));
    expect(again).toMatchObject({ pipelines: 3, built: 0 });
  });

  it('records and runs nothing, and frees what the function made', async () => {
    await gpu().sync();
    const { dispatches, submits } = gpu().counters();
    const live = gpu().poolStats().liveBytes;
    const x = empty([2, 8, 8, 3]);
    const w = empty([3, 3, 3, 4]);
    await warmup(() => ops.conv2d(ops.tanh(x), w, { stride: 2, padding: 'SAME' }));
    expect(gpu().counters().dispatches).toBe(dispatches);
    expect(gpu().counters().submits).toBe(submits);
    x.dispose();
    w.dispose();
    expect(gpu().poolStats().liveBytes).toBe(live);
  });

  it("an NFNet's forward runs on pipelines built by warm-up alone, with the same logits", async () => {
    const model = nfnet.create('nano', { numClasses: 3, inChannels: 1 });
    const x = randn([1, 12, 12, 1], { seed: 3 });
    const cold = noGrad(() => tidy(() => model.forward(x)));
    const coldValues = await cold.data();
    cold.dispose();
    // A new shape needs pipelines of its own (other conv algorithms, GEMM rows).
    const x2 = randn([2, 20, 20, 1], { seed: 4 });
    const report = await warmup(() => model.forward(empty(x2.shape)));
    expect(report.pipelines).toBeGreaterThan(5);
    expect(report.built, 'the new shape needed pipelines the cold run did not build').toBeGreaterThan(0);
    const misses = gpu().cacheStats().misses;
    const y2 = noGrad(() => tidy(() => model.forward(x2)));
    await y2.data();
    expect(gpu().cacheStats().misses).toBe(misses);
    // The warmed path gives the logits the cold path gave for the same input.
    const y = noGrad(() => tidy(() => model.forward(x)));
    expect(Array.from(await y.data())).toEqual(Array.from(coldValues));
    for (const t of [x, x2, y2, y]) t.dispose();
    model.dispose();
  });

  it("rejects the function's bad inputs with the op's own typed error", async () => {
    await expect(warmup(() => ops.matmul(empty([2, 3]), empty([4, 5])))).rejects.toThrow(ShapeError);
  });

  it('refuses asynchronous functions, readbacks and nesting', async () => {
    const x = tensor([1, 2]);
    await expect(warmup(async () => ops.exp(x))).rejects.toThrow(ValueError);
    await expect(warmup(() => x.data())).rejects.toThrow(ValueError);
    let inner: unknown = null;
    await backend().prebuild(() => {
      backend().prebuild(() => {}).catch((e: unknown) => (inner = e));
    });
    expect(inner).toBeInstanceOf(ValueError);
    // Nothing is left in planning mode: real work runs.
    const e = await ops.exp(x).data();
    expect(e[0]).toBeCloseTo(Math.E, 5);
    expect(e[1]).toBeCloseTo(Math.exp(2), 4);
  });

  it('leaves a WGSL compile error to the first dispatch, which reports it as before', async () => {
    const bad = defineKernel('broken-warmup', `
diagnostic(off, derivative_uniformity);
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() { out[0] = undefined_name; }`, 'main');
    const out = tensor([0]);
    const report = await warmup(() => backend().dispatch({ kernel: bad, bindings: { out: out.buffer }, workgroups: 1 }));
    expect(report).toMatchObject({ pipelines: 1, built: 0 });
    backend().dispatch({ kernel: bad, bindings: { out: out.buffer }, workgroups: 1 });
    const err = await gpu().sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(String((err as Error).message)).toMatch(/shaders\/broken-warmup\.wgsl:4:\d+: .*undefined_name/);
  });

  it('checks each dispatch after starting its build: an unknown override or a missing binding is still a typed error', async () => {
    const k = defineKernel('warmup-checks', `
override WG: u32 = 1u;
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(WG) fn main() { out[0] = 1.0; }`, 'main');
    const out = tensor([0]);
    const withOverride = warmup(() => backend().dispatch({ kernel: k, bindings: { out: out.buffer }, overrides: { NOT_DECLARED: 2 }, workgroups: 1 }));
    await expect(withOverride).rejects.toThrow(KernelError);
    await expect(withOverride).rejects.toThrow(/NOT_DECLARED/);
    await expect(warmup(() => backend().dispatch({ kernel: k, bindings: {}, workgroups: 1 }))).rejects.toThrow(/out/);
    await gpu().sync(); // the failed build is left to a real dispatch, none came: nothing to report
    out.dispose();
  });
});
