/**
 * `npm run bench -- --tune`: pick the fastest GEMM tile config and conv launch config for
 * this adapter on representative NFNet shapes, and cache the choice in the tune cache
 * (`$NFNET_TUNE_CACHE`, default ~/.cache/nfnet-webgpu/tune.json), keyed by adapter
 * (`tuneKey`). `init()` applies the cached choice for its adapter on every later start.
 *
 * Search: GEMM — every tm×tn ∈ {4, 8}² with wg ∈ {64, 128} (vec4 loads on), then the quad,
 * workgroup-shared and (with 'subgroups') subgroup kernels, on big and small shapes, each
 * shape weighted alike (`gemmScore`);
 * conv — coordinate descent: wg ∈ {32, 64, 128}, then dW split target ∈ {2048, 4096, 8192}
 * at the best wg, Winograd on/off and its tile, then the forward's tiles (register against
 * workgroup-shared, both with Winograd off so that both run the conv), on forward + dX + dW
 * of one 3×3 conv. Score = sum over shapes of the
 * **min** wall ms over `reps` repetitions after one warm-up (the min resists load spikes on
 * a shared CPU better than the median). A candidate replaces the current (default or
 * cached) config only when it is > 5% faster, so noise does not flip the choice. Tune on
 * an idle machine.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { randn } from '../src/tensor/creation.js';
import { conv2d, convDw, convDx, convGeometry, convTiles, convTuning, setConvTuning, type ConvTuning } from '../src/ops/conv2d/index.js';
import { getGemmConfig, matmul, setGemmConfig, type GemmConfig } from '../src/ops/matmul.js';
import { tuneCachePath, tuneKey, type Gpu } from '../src/runtime/init.js';
import { measure } from './measure.js';
import { oursRunner } from './registry.js';

export interface TuneTrial {
  what: 'gemm' | 'conv';
  config: Record<string, unknown>;
  /** Summed min ms over the shapes. */
  ms: number;
  /** GEMM trials: the mean of each shape's time relative to the incumbent config's (`gemmScore`). */
  score?: number;
}

export interface TuneResult {
  key: string;
  file: string;
  configs: { gemm: GemmConfig; conv: ConvTuning };
  trials: TuneTrial[];
}

/** [batch, m, k, n] of a batched GEMM. */
type GemmShape = [number, number, number, number];

/** Each shape's min ms over `reps` repetitions. */
async function timeGemm(gpu: Gpu, shapes: GemmShape[], reps: number): Promise<number[]> {
  const out: number[] = [];
  for (const [batch, m, k, n] of shapes) {
    const a = randn(batch > 1 ? [batch, m, k] : [m, k], { seed: 1 });
    const b = randn(batch > 1 ? [batch, k, n] : [k, n], { seed: 2 });
    const r = await measure(oursRunner(gpu, () => matmul(a, b).dispose(), () => {}), reps);
    a.dispose();
    b.dispose();
    out.push(r.minMs);
  }
  return out;
}

/**
 * A GEMM config's score: the mean over shapes of its time relative to the incumbent's
 * (1 = as fast). A plain sum of milliseconds let the big shapes decide alone: on lavapipe
 * the subgroup kernel won it by 13% and made a small net's step 1.6× slower, its
 * Winograd products and 1×1 convs being ~2 ms GEMMs next to ~50 ms ones.
 */
export function gemmScore(ms: readonly number[], incumbentMs: readonly number[]): number {
  return ms.reduce((t, x, i) => t + x / incumbentMs[i]!, 0) / ms.length;
}

async function timeConv(gpu: Gpu, x: [number, number, number, number], cout: number, groups: number, reps: number): Promise<number> {
  const xt = randn(x, { seed: 1 });
  const w = randn([3, 3, x[3] / groups, cout], { seed: 2, std: 0.05 });
  const dy = randn([x[0], x[1], x[2], cout], { seed: 3 });
  const o = { padding: 'SAME' as const, groups };
  const g = convGeometry(xt, w, o);
  const t = convTuning();
  const run = () => {
    conv2d(xt, w, o).dispose();
    convDx(dy, w, g, t).dispose();
    convDw(xt, dy, g, t).dispose();
  };
  const r = await measure(oursRunner(gpu, run, () => {}), reps);
  for (const t of [xt, w, dy]) t.dispose();
  return r.minMs;
}

/** A candidate must beat the incumbent by this factor to replace it. */
const MARGIN = 1.05;

export async function tune(gpu: Gpu, opts: { full: boolean; log: (s: string) => void }): Promise<TuneResult> {
  const reps = opts.full ? 3 : 2;
  const trials: TuneTrial[] = [];
  const startGemm = getGemmConfig();
  const startConv = convTuning();
  // GEMM: the conv-shaped GEMM (pixels × 9·Cin × Cout), a square one, and a small net's:
  // Winograd's tile products of a 16-channel 14×14 3×3 at batch 32, and a 1×1 conv 32 → 64.
  const bigShapes: GemmShape[] = opts.full ? [[1, 8192, 1152, 128], [1, 1024, 1024, 1024]] : [[1, 2048, 1152, 128], [1, 512, 512, 512]];
  const gemmShapes: GemmShape[] = [...bigShapes, [36, 512, 16, 16], [1, 6272, 32, 64]];
  let bestGemm = { ...startGemm };
  let bestGemmScore = Infinity;
  let incumbentMs: number[] = [];
  const same = (a: GemmConfig, b: GemmConfig) => a.tm === b.tm && a.tn === b.tn && a.wg === b.wg && a.quad === b.quad && a.tiles === b.tiles;
  const tryGemm = async (c: GemmConfig) => {
    setGemmConfig(c);
    const perShape = await timeGemm(gpu, gemmShapes, reps);
    if (same(c, startGemm)) incumbentMs = perShape;
    const score = gemmScore(perShape, incumbentMs);
    const ms = perShape.reduce((t, x) => t + x, 0);
    trials.push({ what: 'gemm', config: { ...c }, ms, score });
    opts.log(`gemm ${JSON.stringify(c)}: ${perShape.map((x) => x.toFixed(1)).join(' + ')} ms, ${score.toFixed(2)}× the incumbent's times`);
    if (same(c, startGemm) ? score < bestGemmScore : score * MARGIN < bestGemmScore) [bestGemm, bestGemmScore] = [c, score];
    return score;
  };
  // The incumbent first, so the margin applies against it; then the tiled kernel's tiles
  // (quad off, else these shapes would all take the quad kernel), then the quad kernel
  // over the best tiles (which still serve the GEMMs narrower than its band), then the
  // workgroup-shared kernel (the hardware GPUs' style; 'auto' picks it on hardware untuned).
  await tryGemm(startGemm);
  let bestTiled: GemmConfig | null = null;
  let bestTiledScore = Infinity;
  for (const tm of [8, 4] as const) {
    for (const tn of [8, 4] as const) {
      for (const wg of [64, 128]) {
        const c: GemmConfig = { ...startGemm, tm, tn, wg, vec4: true, blockN: 0, quad: false, tiles: 'register' };
        if (same(c, startGemm)) continue;
        const score = await tryGemm(c);
        if (score < bestTiledScore) [bestTiled, bestTiledScore] = [c, score];
      }
    }
  }
  if (bestTiled && !same({ ...bestTiled, quad: true }, startGemm)) await tryGemm({ ...bestTiled, quad: true });
  // The hardware-style kernels over the best register tiles (kept for the M = 1 and
  // fallback paths): workgroup-shared, and subgroup where the device has 'subgroups'.
  const base = bestGemm;
  const shared: GemmConfig = { ...base, tiles: 'shared' };
  if (!same(shared, startGemm)) await tryGemm(shared);
  const subgroup: GemmConfig = { ...base, tiles: 'subgroup' };
  if (gpu.deviceFeatures.includes('subgroups') && !same(subgroup, startGemm)) await tryGemm(subgroup);
  setGemmConfig(bestGemm);
  // Conv: an F0-like 3×3 (quick: batch 2 of 32×32×128; full: batch 8).
  const cx: [number, number, number, number] = opts.full ? [8, 32, 32, 128] : [2, 32, 32, 128];
  let bestConv: ConvTuning = { ...startConv };
  let bestConvMs = Infinity;
  const tryConv = async (c: ConvTuning) => {
    setConvTuning(c);
    const ms = await timeConv(gpu, cx, 128, 1, reps);
    trials.push({ what: 'conv', config: { ...c }, ms });
    opts.log(`conv ${JSON.stringify(c)}: ${ms.toFixed(1)} ms`);
    const incumbent = c.wg === startConv.wg && c.dwTargetThreads === startConv.dwTargetThreads && c.winogradMinChannels === startConv.winogradMinChannels && c.winogradTile === startConv.winogradTile && c.tiles === startConv.tiles;
    if (incumbent ? ms < bestConvMs : ms * MARGIN < bestConvMs) [bestConv, bestConvMs] = [{ ...c }, ms];
  };
  for (const wg of [...new Set([startConv.wg, 64, 32, 128])]) await tryConv({ ...startConv, wg });
  const wgBest = bestConv.wg;
  for (const dwTargetThreads of [2048, 4096, 8192].filter((d) => d !== bestConv.dwTargetThreads)) await tryConv({ ...bestConv, wg: wgBest, dwTargetThreads });
  // Winograd on (16: the default threshold) or off (0) for the 3×3 forward and dX.
  for (const winogradMinChannels of [16, 0].filter((w) => w !== bestConv.winogradMinChannels)) await tryConv({ ...bestConv, winogradMinChannels });
  // Its output tile: F(4×4, 3×3) (the default) or F(2×2, 3×3), when Winograd stayed on.
  if (bestConv.winogradMinChannels > 0) for (const winogradTile of ([4, 2] as const).filter((t) => t !== bestConv.winogradTile)) await tryConv({ ...bestConv, winogradTile });
  // The forward's tiling for the convs Winograd and the pointwise GEMM leave (stride 2,
  // other filters, and dX's phases): the incumbent ('auto' resolved for this adapter)
  // against the other, both with Winograd off so that the conv runs on the tiles raced.
  const raceTiles = async (c: ConvTuning) => {
    setConvTuning({ ...c, winogradMinChannels: 0 });
    const ms = await timeConv(gpu, cx, 128, 1, reps);
    trials.push({ what: 'conv', config: { ...c, winogradMinChannels: 0 }, ms });
    opts.log(`conv tiles ${c.tiles} (Winograd off): ${ms.toFixed(1)} ms`);
    return ms;
  };
  setConvTuning(bestConv);
  const otherTiles = convTiles(bestConv) === 'shared' ? 'register' : 'shared';
  const incumbentTilesMs = await raceTiles(bestConv);
  if ((await raceTiles({ ...bestConv, tiles: otherTiles })) * MARGIN < incumbentTilesMs) bestConv = { ...bestConv, tiles: otherTiles };
  setConvTuning(bestConv);

  const key = tuneKey(gpu.adapter);
  const file = tuneCachePath() ?? path.join(process.cwd(), 'tune.json');
  let cache: { schema: string; adapters: Record<string, unknown> } = { schema: 'nfnet-webgpu-tune/1', adapters: {} };
  try {
    if (existsSync(file)) cache = { ...cache, ...(JSON.parse(readFileSync(file, 'utf8')) as typeof cache) };
  } catch {
    /* a broken cache is replaced */
  }
  const configs = { gemm: bestGemm, conv: bestConv };
  cache.adapters[key] = { date: new Date().toISOString(), fast: gpu.fast, configs, trials };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(cache, null, 2));
  return { key, file, configs, trials };
}
