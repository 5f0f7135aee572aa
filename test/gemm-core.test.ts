// The GEMM core's load paths and tile configurations (shaders/matmul.wgsl), its one-row
// kernel and its quad-shared kernel (shaders/matmul-quad.wgsl), forward only, against the
// float64 reference: every (transposeA, transposeB) pair on shapes that hit the vec4 modes (extents
// multiple of 4), the scalar fallback (odd extents), K tails, partial edge tiles and bands,
// both quad row counts, batch, and batch broadcasting on either side.
import { afterAll, describe, expect, it } from 'vitest';
import { ops } from '../src/index.js';
import { DEFAULT_GEMM_CONFIG, gemm, gemmPlan, quadBand, quadRows, setGemmConfig, type GemmConfig } from '../src/ops/matmul.js';
import { empty } from '../src/tensor/creation.js';
import * as R from './ref.js';
import { expectClose, randArr, toTensor } from './harness.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();
afterAll(() => {
  setGemmConfig(DEFAULT_GEMM_CONFIG);
});

// [m, k, n]: aligned (vec4 modes), odd (scalar), K tails, 1-wide, more than one tile.
const MKN: [number, number, number][] = [
  [1, 1, 1], [8, 8, 8], [16, 12, 4], [4, 3, 8], [9, 4, 12], [13, 17, 19], [33, 64, 65], [64, 7, 40], [5, 8, 3], [1, 16, 37],
];
const CONFIGS: Partial<GemmConfig>[] = [
  { tm: 8, tn: 8, vec4: true, quad: false },
  { tm: 4, tn: 8, vec4: true, quad: false },
  { tm: 8, tn: 4, vec4: true, quad: false },
  { tm: 4, tn: 4, vec4: false, quad: false },
  { tm: 8, tn: 8, vec4: true, blockN: 8, quad: false }, // blocked tile order: partial blocks at the edges
];
// Quad kernel shapes (N ≥ 32, M ≥ 4), with the TM quadRows picks: 4 rows (TM = 1), 5, 9
// and 12 (TM = 3), 16 (TM = 4), 36, 33 and 100 (TM = 9), 64 and 60 (TM = 8, a partial
// last tile at 60); N = 32, 128 whole bands, 65, 70, 40, 33 partial ones; K tails.
const MKN_QUAD: [number, number, number][] = [
  [4, 8, 40], [5, 3, 33], [9, 12, 64], [12, 5, 32], [16, 8, 32], [36, 20, 128], [33, 64, 65], [64, 7, 40], [60, 9, 70], [100, 5, 33],
];
// 16-column bands (matmul16, where the last 32-column band would be at most half full):
// N = 16 (one band), 48 (three), 47 (a partial third band);
// M across the row counts (TM = 1, 3, 4, 8, 9) with partial quads; K tails.
const MKN_QUAD16: [number, number, number][] = [
  [4, 8, 16], [7, 3, 16], [12, 5, 48], [16, 9, 16], [36, 16, 47], [60, 7, 16], [100, 12, 48], [33, 1, 16],
];

async function check(as: number[], bs: number[], ta: boolean, tb: boolean, seed: number): Promise<void> {
  const A = randArr(as, seed);
  const B = randArr(bs, seed + 1);
  const got = await ops.matmul(toTensor(A), toTensor(B), { transposeA: ta, transposeB: tb }).data();
  expectClose(got, R.matmul(A, B, ta, tb), 1e-5, `${JSON.stringify(as)}${ta ? 'ᵀ' : ''} · ${JSON.stringify(bs)}${tb ? 'ᵀ' : ''}`);
}

describe('GEMM core: load modes × tile configurations', () => {
  for (const cfg of CONFIGS) {
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      it(`tile ${cfg.tm}×${cfg.tn}${cfg.vec4 ? '' : ' scalar'}${cfg.blockN ? ` blockN=${cfg.blockN}` : ''}: transposeA=${ta} transposeB=${tb}`, async () => {
        setGemmConfig(cfg);
        let seed = 1;
        for (const [m, k, n] of MKN) {
          const a = ta ? [k, m] : [m, k];
          const b = tb ? [n, k] : [k, n];
          await check(a, b, ta, tb, (seed += 2));
          await check([2, ...a], [2, ...b], ta, tb, (seed += 2)); // batch
          await check([3, ...a], b, ta, tb, (seed += 2)); // B broadcast
          await check(a, [2, 1, ...b], ta, tb, (seed += 2)); // A broadcast, rank 4 batch
        }
        setGemmConfig(DEFAULT_GEMM_CONFIG);
      });
    }
  }
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    it(`one-row kernel (M = 1, four columns per invocation): transposeA=${ta} transposeB=${tb}`, async () => {
      let seed = 300;
      // K: 1, a K tail, whole blocks of 4, a long one; N: 1, 3 (partial group), 4, 37, 300.
      for (const [k, n] of [[1, 1], [3, 3], [4, 4], [16, 37], [67, 300]] as const) {
        const a = ta ? [k, 1] : [1, k];
        const b = tb ? [n, k] : [k, n];
        await check(a, b, ta, tb, (seed += 2));
        await check([2, ...a], [2, ...b], ta, tb, (seed += 2)); // batch
        await check([3, ...a], b, ta, tb, (seed += 2)); // B broadcast
        await check(a, [2, 1, ...b], ta, tb, (seed += 2)); // A broadcast, rank 4 batch
      }
    });
  }
  const quadAvailable = () => gpu().adapter.software && gpu().features.includes('subgroups');
  /** Every shape plain, batched, with A's batch broadcast over B and B's over A, under one GEMM config. */
  const sweepConfig = async (config: Partial<GemmConfig>, shapes: [number, number, number][], ta: boolean, tb: boolean, seed: number) => {
    setGemmConfig(config);
    // Quad GEMMs run one-row tiles until their row count's pipeline is built in the
    // background (test/gemm-tiers.test.ts): build every one these shapes take first, so
    // that each row count is what the checks below run.
    for (const [m, k, n] of shapes) ops.matmul(toTensor(randArr([m, k], 1)), toTensor(randArr([k, n], 2))).dispose();
    await gpu().sync();
    for (const [m, k, n] of shapes) {
      const a = ta ? [k, m] : [m, k];
      const b = tb ? [n, k] : [k, n];
      await check(a, b, ta, tb, (seed += 2));
      await check([2, ...a], [2, ...b], ta, tb, (seed += 2));
      await check([3, ...a], b, ta, tb, (seed += 2));
      await check(a, [2, 1, ...b], ta, tb, (seed += 2));
    }
    setGemmConfig(DEFAULT_GEMM_CONFIG);
  };
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    it(`quad-shared kernel (TM×32 bands): transposeA=${ta} transposeB=${tb}`, async (ctx) => {
      if (!quadAvailable()) ctx.skip();
      await sweepConfig({ quad: true }, MKN_QUAD, ta, tb, 100);
    });
  }
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    it(`quad-shared kernel (TM×16 bands): transposeA=${ta} transposeB=${tb}`, async (ctx) => {
      if (!quadAvailable()) ctx.skip();
      await sweepConfig({ quad: true }, MKN_QUAD16, ta, tb, 200);
    });
  }
  it('the quad kernel runs where it applies, one-row products on small heads, the tiled one elsewhere or with quad: false', async (ctx) => {
    if (!quadAvailable()) ctx.skip();
    const kernelsOf = async (m: number, n: number, k = 8) => {
      gpu().profile.start();
      ops.matmul(toTensor(randArr([m, k], 1)), toTensor(randArr([k, n], 2))).dispose();
      return (await gpu().profile.stop()).kernels.map((k) => k.kernel);
    };
    setGemmConfig({ quad: true });
    expect(await kernelsOf(72, 64)).toEqual(['matmul-quad/matmul']);
    expect(await kernelsOf(36, 64, 2048)).toEqual(['matmul-quad/matmul']); // B too big to read per row
    expect(await kernelsOf(72, 16)).toEqual(['matmul-quad/matmul16']); // one 16-column band
    expect(await kernelsOf(72, 48)).toEqual(['matmul-quad/matmul16']); // three of them, not two half-idle 32-column bands
    expect(await kernelsOf(72, 56)).toEqual(['matmul-quad/matmul']); // the second 32-column band 3/4 full
    expect(await kernelsOf(72, 12)).toEqual(['matmul/matmul']); // narrower than a band
    expect(await kernelsOf(3, 64, 2048)).toEqual(['matmul/matmul']); // fewer rows than a quad's lanes, B too big to read per row
    expect(await kernelsOf(3, 64)).toEqual(['matmul/gemv']); // few rows, small B: one-row products
    expect(await kernelsOf(32, 10, 64)).toEqual(['matmul/gemv']); // a classifier head at batch 32
    expect(await kernelsOf(1, 64)).toEqual(['matmul/gemv']); // one row
    setGemmConfig({ quad: false });
    expect(await kernelsOf(72, 64)).toEqual(['matmul/matmul']);
    setGemmConfig(DEFAULT_GEMM_CONFIG);
  });
  // The workgroup-shared kernel (hardware GPUs' style, forced here on SwiftShader): 64×64
  // blocks, k in steps of 16, so shapes cross block edges (65, 130), k tails (17, 7, 33) and
  // single rows/columns.
  const MKN_SHARED: [number, number, number][] = [[2, 1, 1], [8, 8, 8], [13, 17, 19], [65, 33, 70], [64, 16, 64], [130, 7, 5], [3, 40, 129]];
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    it(`workgroup-shared kernel (64×64 blocks, BK 16): transposeA=${ta} transposeB=${tb}`, async () => {
      await sweepConfig({ tiles: 'shared' }, MKN_SHARED, ta, tb, 500);
    });
  }
  it('tiles: the shared kernel runs when asked, and with \'auto\' only on a hardware adapter; bad values are refused', async () => {
    const kernelsOf = async (m: number, n: number, k = 8) => {
      gpu().profile.start();
      ops.matmul(toTensor(randArr([m, k], 1)), toTensor(randArr([k, n], 2))).dispose();
      return (await gpu().profile.stop()).kernels.map((k) => k.kernel);
    };
    setGemmConfig({ tiles: 'shared' });
    expect(await kernelsOf(36, 64)).toEqual(['matmul-shared/matmul_shared']);
    expect(await kernelsOf(1, 64)).toEqual(['matmul/gemv']); // one row keeps the GEMV
    setGemmConfig({ tiles: 'auto' });
    const auto = await kernelsOf(72, 12);
    expect(auto).toEqual([gpu().adapter.software ? 'matmul/matmul' : 'matmul-shared/matmul_shared']);
    expect(() => setGemmConfig({ tiles: 'smem' as never })).toThrow(/tiles must be 'auto', 'register', 'shared' or 'subgroup', got smem/);
    setGemmConfig(DEFAULT_GEMM_CONFIG);
  });
  // The subgroup kernel (A shared across a subgroup's lanes by subgroupShuffle; forced here;
  // its refusal without 'subgroups' is in gemm-subgroup-missing.test.ts): a workgroup owns 8
  // rows × 128 columns (32 lanes, N ≤ 128) or 256 (64 lanes), k runs in chunks of the
  // subgroup's width (4 on SwiftShader). So: partial row blocks (2, 13, 9, 17, 3), a second
  // column block (260), chunk tails (K = 1, 3, 7, 17), single columns, both workgroup sizes.
  const MKN_SUBGROUP: [number, number, number][] = [[2, 1, 1], [8, 8, 8], [13, 17, 19], [9, 3, 130], [17, 7, 260], [3, 40, 129], [16, 4, 64]];
  const subgroupsOn = () => gpu().deviceFeatures.includes('subgroups');
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    it(`subgroup kernel (8 rows × 4·WG columns, A by subgroupShuffle): transposeA=${ta} transposeB=${tb}`, async (ctx) => {
      if (!subgroupsOn()) ctx.skip();
      await sweepConfig({ tiles: 'subgroup' }, MKN_SUBGROUP, ta, tb, 700);
    });
  }
  it('subgroup kernel: alpha scales C (gemm\'s alpha, as attention uses it), over a broadcast batch', async (ctx) => {
    if (!subgroupsOn()) ctx.skip();
    setGemmConfig({ tiles: 'subgroup' });
    const A = randArr([3, 11, 6], 41);
    const B = randArr([70, 6], 42);
    const a = toTensor(A);
    const b = toTensor(B);
    const o = { transposeB: true };
    const p = gemmPlan(a, b, o);
    const out = empty([3, 11, 70]);
    gemm(a, b, out, p, o, -0.75);
    const want = R.matmul(A, B, false, true);
    expectClose(await out.data(), want.data.map((v) => -0.75 * v), 1e-5, 'alpha · A·Bᵀ');
    setGemmConfig(DEFAULT_GEMM_CONFIG);
  });
  it('tiles: the subgroup kernel runs when asked (M = 1 keeps the GEMV); the device reports its subgroups', async (ctx) => {
    if (!subgroupsOn()) ctx.skip();
    // SwiftShader's subgroups are its 4-wide SIMD groups (adapter.info.subgroupMinSize/MaxSize).
    if (/swiftshader/i.test(gpu().adapter.description)) expect(gpu().subgroupSize).toEqual({ min: 4, max: 4 });
    // lavapipe's subgroups are its SIMD width: 8 lanes with AVX2, 4 with SSE only.
    if (/llvmpipe/i.test(gpu().adapter.description)) expect([4, 8, 16]).toContain(gpu().subgroupSize?.min);
    const kernelsOf = async (m: number, n: number, k = 8) => {
      gpu().profile.start();
      ops.matmul(toTensor(randArr([m, k], 1)), toTensor(randArr([k, n], 2))).dispose();
      return (await gpu().profile.stop()).kernels.map((k) => k.kernel);
    };
    setGemmConfig({ tiles: 'subgroup' });
    expect(await kernelsOf(36, 64)).toEqual(['matmul-subgroup/matmul_subgroup']);
    expect(await kernelsOf(36, 16)).toEqual(['matmul-subgroup/matmul_subgroup']);
    expect(await kernelsOf(1, 64)).toEqual(['matmul/gemv']);
    setGemmConfig(DEFAULT_GEMM_CONFIG);
  });
  it('a training step of a small conv net gives the same loss and gradients with shared (and subgroup) tiles as with register tiles', async () => {
    const { valueAndGrad } = await import('../src/index.js');
    const x = toTensor(randArr([2, 6, 6, 5], 7));
    const w = toTensor(randArr([1, 1, 5, 12], 8)); // a 1×1 conv is a GEMM
    const v = toTensor(randArr([12, 3], 9));
    const f = (w: Parameters<typeof ops.conv2d>[1], v: Parameters<typeof ops.conv2d>[1]) => ops.mean(ops.square(ops.matmul(ops.reshape(ops.conv2d(x, w), [72, 12]), v)));
    const run = async () => {
      const [loss, grads] = await valueAndGrad(f)(w, v);
      return [await loss.data(), ...(await Promise.all(grads.map((g) => g.data())))].map((t) => Array.from(t));
    };
    setGemmConfig({ tiles: 'register' });
    const reg = await run();
    setGemmConfig({ tiles: 'shared' });
    const shared = await run();
    setGemmConfig(DEFAULT_GEMM_CONFIG);
    reg.forEach((r, i) => expectClose(shared[i]!, r, 1e-5, ['loss', 'dw', 'dv'][i]));
    if (!subgroupsOn()) return;
    setGemmConfig({ tiles: 'subgroup' });
    const subgroup = await run();
    setGemmConfig(DEFAULT_GEMM_CONFIG);
    reg.forEach((r, i) => expectClose(subgroup[i]!, r, 1e-5, `subgroup ${['loss', 'dw', 'dv'][i]}`));
  });
  it('quadBand: 16-column bands where the last 32-column band would be at most half full', () => {
    expect([16, 17, 31, 32, 33, 47, 48, 49, 64, 80, 96].map(quadBand)).toEqual([16, 32, 32, 32, 16, 16, 16, 32, 32, 16, 32]);
  });
  it('quadRows: the row count per invocation whose quads cost least', () => {
    expect([4, 9, 16, 36, 60, 100, 8192].map(quadRows)).toEqual([1, 3, 4, 9, 8, 9, 8]);
  });
  it('K = 0 gives zeros, M or N = 0 gives an empty result', async () => {
    const z = await ops.matmul(toTensor(randArr([3, 0], 1)), toTensor(randArr([0, 5], 2))).data();
    expectClose(z, new Float64Array(15));
    const e = ops.matmul(toTensor(randArr([0, 4], 1)), toTensor(randArr([4, 5], 2)));
    expectClose(await e.data(), new Float64Array(0));
  });
});
