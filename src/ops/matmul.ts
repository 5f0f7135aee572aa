/**
 * Batched matrix multiply on the GEMM core (shaders/matmul.wgsl, register-tiled; on
 * SwiftShader shaders/matmul-quad.wgsl, quad-shared, for C at least 16 wide; by
 * GemmConfig.tiles shaders/matmul-shared.wgsl or shaders/matmul-subgroup.wgsl):
 * a [..., M, K] · b [..., K, N] → [..., M, N], with optional transposes that cost nothing
 * (operands are read through strides) and batch broadcasting (a batch of 1 is reused).
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensors, type Tensor } from '../tensor/tensor.js';
import { checkBoolean, checkOptions } from '../runtime/validate.js';
import { empty } from '../tensor/creation.js';
import { defineKernel, type Kernel } from '../runtime/kernel.js';
import { FeatureError, LimitError, ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { assertF32, backend } from './util.js';
import { currentDeviceOrNull, registerTunable } from '../runtime/init.js';
import matmulWgsl from '../../shaders/matmul.wgsl';
import matmulQuadWgsl from '../../shaders/matmul-quad.wgsl';
import matmulSharedWgsl from '../../shaders/matmul-shared.wgsl';
import matmulSubgroupWgsl from '../../shaders/matmul-subgroup.wgsl';
import { sumTo } from './layout.js';

const MATMUL = defineKernel('matmul', matmulWgsl, 'matmul');
const MATMUL_QUAD = defineKernel('matmul-quad', matmulQuadWgsl, 'matmul');
const MATMUL_QUAD16 = defineKernel('matmul-quad', matmulQuadWgsl, 'matmul16');
const GEMV = defineKernel('matmul', matmulWgsl, 'gemv');
const MATMUL_SHARED = defineKernel('matmul-shared', matmulSharedWgsl, 'matmul_shared');
const MATMUL_SUBGROUP = defineKernel('matmul-subgroup', matmulSubgroupWgsl, 'matmul_subgroup');
/** Columns of C per invocation of the quad kernel (the B band a quad shares): 32, or 16 in `matmul16`. */
const QUAD_BAND = 32;
const QUAD_HALF_BAND = 16;

/**
 * The quad kernel's band for N columns: 16 where the last 32-column band would be at most
 * half full (N = 16, 48, …), so no band idles half its multiply-adds; 32 otherwise.
 */
export function quadBand(n: number): 16 | 32 {
  const rest = n % QUAD_BAND;
  return rest > 0 && rest <= QUAD_HALF_BAND ? QUAD_HALF_BAND : QUAD_BAND;
}

/**
 * Tile strategy of the GEMM core. Two kernels without shared memory: the register-tiled
 * one (`tm`×`tn` per invocation) and, where `quad` allows, the quad-shared one (TM×32 per
 * invocation, B loads shared by the four lanes of a quad); for hardware GPUs, chosen by
 * `tiles`, a workgroup-shared one and a subgroup one (docs/kernels-gemm.md).
 */
export interface GemmConfig {
  /** Rows of C per invocation (4 or 8). */
  tm: 4 | 8;
  /** Columns of C per invocation (4 or 8). */
  tn: 4 | 8;
  /** Invocations per workgroup. */
  wg: number;
  /** Allow the vec4 load modes when operands are 16-byte aligned (false: scalar loads only). */
  vec4: boolean;
  /** 0: row-major tile order; n > 0: each workgroup covers a (wg / n) × n block of tiles. */
  blockN: number;
  /**
   * Use the quad-shared kernel (shaders/matmul-quad.wgsl) for C with N ≥ 16 and M ≥ 4 on
   * a software adapter with the `subgroups` feature (elsewhere the tiled kernel runs).
   */
  quad: boolean;
  /**
   * Which tiling: 'register' (the two kernels above, no workgroup memory: what wins on
   * SwiftShader), 'shared' (shaders/matmul-shared.wgsl: workgroup-shared A and B blocks,
   * the style hardware GPUs need), 'subgroup' (shaders/matmul-subgroup.wgsl: A shared
   * across a subgroup's lanes by subgroupShuffle, no workgroup memory; needs a device with
   * the 'subgroups' feature, else GEMMs throw a FeatureError), or 'auto': shared on a
   * hardware adapter, register on a software one. The autotuner (`npm run bench -- --tune`)
   * measures all of them the device can run and caches the adapter's choice.
   */
  tiles: GemmTiles;
}

export type GemmTiles = 'auto' | 'register' | 'shared' | 'subgroup';
const GEMM_TILES: readonly GemmTiles[] = ['auto', 'register', 'shared', 'subgroup'];

export const DEFAULT_GEMM_CONFIG: GemmConfig = { tm: 8, tn: 8, wg: 64, vec4: true, blockN: 0, quad: true, tiles: 'auto' };
let gemmConfig: GemmConfig = { ...DEFAULT_GEMM_CONFIG };

/** Override the GEMM tile strategy (bench/autotuning); returns the previous one. */
export function setGemmConfig(c: Partial<GemmConfig>): GemmConfig {
  const next = { ...gemmConfig, ...c };
  if ((next.tm !== 4 && next.tm !== 8) || (next.tn !== 4 && next.tn !== 8)) {
    throw new ValueError(`setGemmConfig: tm and tn must be 4 or 8, got ${next.tm}×${next.tn}`);
  }
  if (!GEMM_TILES.includes(next.tiles)) throw new ValueError(`setGemmConfig: tiles must be 'auto', 'register', 'shared' or 'subgroup', got ${String(next.tiles)}`);
  if (c.tiles === 'subgroup') requireSubgroups(currentDeviceOrNull());
  if (typeof next.quad !== 'boolean') throw new ValueError(`setGemmConfig: quad must be true or false, got ${String(next.quad)}`);
  if (!Number.isInteger(next.wg) || next.wg < 1 || !Number.isInteger(next.blockN) || next.blockN < 0 || (next.blockN > 0 && next.wg % next.blockN !== 0)) {
    throw new ValueError(`setGemmConfig: wg must be a positive integer and blockN 0 or a divisor of wg, got wg=${next.wg}, blockN=${next.blockN}`);
  }
  const prev = gemmConfig;
  gemmConfig = next;
  return prev;
}

export function getGemmConfig(): GemmConfig {
  return { ...gemmConfig };
}

/** GEMMs with subgroup tiles need a device created with 'subgroups' (none current yet: checked at the first GEMM). */
function requireSubgroups(device: GPUDevice | null): void {
  if (device && !device.features.has('subgroups')) {
    throw new FeatureError(
      "GEMM tiles 'subgroup' need the device feature 'subgroups', which this device was created without " +
        "(the adapter lacks it, or init({ disableFeatures: ['subgroups'] })); use tiles 'auto', 'register' or 'shared'",
    );
  }
}

// init() applies a cached `npm run bench -- --tune` choice for the adapter. The cache is
// keyed by adapter, so a 'subgroup' choice can meet a device of that adapter created
// without 'subgroups': it then runs 'auto' rather than failing every GEMM.
registerTunable('gemm', (c) => {
  const config = c as Partial<GemmConfig>;
  const subgroups = currentDeviceOrNull()?.features.has('subgroups') ?? true;
  setGemmConfig(config.tiles === 'subgroup' && !subgroups ? { ...config, tiles: 'auto' } : config);
});

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
}

export interface GemmPlan {
  m: number;
  n: number;
  k: number;
  batchShape: number[];
  batch: number;
  aBatch: number;
  bBatch: number;
}

function plan(a: Tensor, b: Tensor, o: MatmulOptions): GemmPlan {
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(`matmul: both operands need rank >= 2, got ${describeShape(a.shape)} and ${describeShape(b.shape)}`);
  }
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, ka] = o.transposeA ? [ac, ar] : [ar, ac];
  const [kb, n] = o.transposeB ? [bc, br] : [br, bc];
  if (ka !== kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: ${describeShape(a.shape)}${o.transposeA ? 'ᵀ' : ''} · ${describeShape(b.shape)}${o.transposeB ? 'ᵀ' : ''} (${ka} vs ${kb})`,
    );
  }
  const ab = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  const aBatch = ab.reduce((x, y) => x * y, 1);
  const bBatch = bb.reduce((x, y) => x * y, 1);
  const batchShape = aBatch >= bBatch ? ab : bb;
  if (aBatch !== bBatch && aBatch !== 1 && bBatch !== 1) {
    throw new ShapeError(`matmul: batch dimensions ${describeShape(ab)} and ${describeShape(bb)} differ (one must be 1 or both equal)`);
  }
  if (aBatch === bBatch && ab.length && bb.length && ab.some((d, i) => d !== bb[i])) {
    throw new ShapeError(`matmul: batch dimensions ${describeShape(ab)} and ${describeShape(bb)} differ`);
  }
  return { m, n, k: ka, batchShape, batch: Math.max(aBatch, bBatch), aBatch, bBatch };
}

/** Invocations per workgroup of the one-row kernel, at most. */
const SPREAD_WG = 64;
/** Workgroups such a GEMM is split into at least, where it has the invocations for it. */
const SPREAD_MIN_WORKGROUPS = 4;

/**
 * Workgroup size (a multiple of 4) of the one-row kernel for `lanes` invocations per
 * batch: no wider than one batch (idle lanes still cost), and narrow enough for a few
 * workgroups, since SwiftShader runs a workgroup on one thread.
 */
function spreadWorkgroup(lanes: number, batch: number): number {
  const spread = 4 * Math.floor((lanes * batch) / (4 * SPREAD_MIN_WORKGROUPS));
  return Math.max(4, 4 * Math.floor(Math.min(SPREAD_WG, lanes, spread) / 4));
}

/** Row counts per invocation the host gives the quad kernel, in order of preference on a tie. */
const QUAD_ROWS = [8, 9, 4, 3, 1];
/**
 * A lane's cost per k in rows' worth of work: TM rows of multiply-adds and A gathers, plus
 * the band's 8 B gathers and broadcasts, which cost about 1.4 rows (docs/kernels-gemm.md:
 * at TM = 8, A ~23% of the time, B ~15%, the multiply-adds the rest).
 */
const QUAD_BAND_COST = 1.4;

/**
 * Rows per invocation of the quad kernel for M rows: the TM whose quads cost least,
 * ceil(M / 4·TM) · (TM + QUAD_BAND_COST), keeping the earlier of QUAD_ROWS unless another
 * is at least 3% cheaper. 8 for 8192 rows, 9 for the 36 Winograd tiles of a 24×24 image,
 * 3 for the 9 of a 12×12 one, 1 for the 4 of a 6×6 one. Each TM is a pipeline of its own
 * (~1–2 s to build on SwiftShader).
 */
export function quadRows(m: number): number {
  const cost = (tm: number) => Math.ceil(m / (4 * tm)) * (tm + QUAD_BAND_COST);
  let best = QUAD_ROWS[0]!;
  for (const tm of QUAD_ROWS.slice(1)) if (cost(tm) < 0.97 * cost(best)) best = tm;
  return best;
}

/**
 * Whether `gemm` takes the quad-shared kernel: on SwiftShader (where a subgroup is one
 * 4-wide SIMD group, so quads are four consecutive invocations) with `subgroups`, and for C
 * wide and tall enough that its 32-column bands and 4·TM-row quads are mostly real work.
 */
export function quadApplies(p: GemmPlan): boolean {
  const b = backend();
  return gemmConfig.quad && p.n >= QUAD_HALF_BAND && p.m >= 4 && p.k > 0 && b.adapter.software && b.device.features.has('subgroups');
}

/**
 * Record C = alpha · op(A)·op(B) into `out` (shape [batch, m, n], contiguous).
 * The stride/mode selection below is the host half of the tiling scheme documented at the
 * top of shaders/matmul.wgsl: every (transposeA, transposeB) combination gets a vec4 load
 * mode when its contiguous axis is 16-byte aligned, and scalar loads otherwise.
 */
export function gemm(a: Tensor, b: Tensor, out: Tensor, p: GemmPlan, o: MatmulOptions, alpha = 1): void {
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const strides = {
    m: p.m, n: p.n, k: p.k, batch: p.batch,
    a_batch: p.aBatch === 1 ? 0 : ar * ac, a_row: o.transposeA ? 1 : ac, a_col: o.transposeA ? ac : 1,
    b_batch: p.bBatch === 1 ? 0 : br * bc, b_row: o.transposeB ? 1 : bc, b_col: o.transposeB ? bc : 1,
    alpha,
  };
  const tiles = gemmTiles();
  if (p.m === 1) dispatchGemv(a, b, out, p, strides);
  else if (rowsAsGemv(p)) dispatchGemv(a, b, out, { ...p, batch: p.m, m: 1 }, { ...strides, batch: p.m, m: 1, a_batch: strides.a_row, b_batch: 0 });
  else if (tiles === 'shared') dispatchShared(a, b, out, p, strides);
  else if (tiles === 'subgroup') dispatchSubgroup(a, b, out, p, strides);
  else if (quadApplies(p) && storesWholeVec4s(out, p)) dispatchQuad(a, b, out, p, strides);
  else dispatchTiled(a, b, out, p, o, strides);
}

/**
 * The quad kernel sees C as vec4s. With N a multiple of 4 that is exact; otherwise its last
 * vec4 may be partial, and the binding must still cover it, as every pooled buffer's does
 * (only a buffer sized exactly, near maxBufferSize, may end mid-vec4: the tiled core takes it).
 */
function storesWholeVec4s(out: Tensor, p: GemmPlan): boolean {
  if (p.n % 4 === 0) return true;
  const { buffer, offset = 0, size } = out.binding;
  return (size ?? buffer.size - offset) >= Math.ceil(out.size / 4) * 16;
}

/** Most rows, and most elements of B, of a GEMM that `rowsAsGemv` sends to the one-row kernel. */
const GEMV_ROWS = { maxM: 64, maxB: 1 << 16 } as const;

/**
 * Whether a small unbatched GEMM runs as M one-row products (the rows as gemv's batch, B
 * shared): a classifier head such as [32, 64]·[64, 10] and its weight gradient
 * [64, 32]·[32, 10]. Their work is tiny, and the 8×8 register-tile pipeline they would
 * otherwise take cost 355–545 ms to build on SwiftShader against 30–100 for gemv, most of a
 * small net's cold first inference. B (≤ 64 Ki elements) is read once per row.
 */
function rowsAsGemv(p: GemmPlan): boolean {
  return p.batch === 1 && p.m <= GEMV_ROWS.maxM && p.k * p.n <= GEMV_ROWS.maxB && gemmTiles() === 'register';
}

/** A one-row product (M = 1): one invocation per four columns (`gemv` in shaders/matmul.wgsl). */
function dispatchGemv(a: Tensor, b: Tensor, out: Tensor, p: GemmPlan, strides: GemmParams): void {
  const lanes = Math.ceil(p.n / 4);
  const wg = spreadWorkgroup(lanes, p.batch);
  backend().dispatch({
    kernel: GEMV,
    bindings: { a, b, c: out },
    params: { ...strides, tiles_n: 0 },
    overrides: { WG: wg },
    workgroups: [Math.ceil(lanes / wg), ...batchGrid(p.batch)],
  });
}

type GemmParams = Record<string, number>;

/** The batch over workgroup y (and z past the per-dimension limit). */
function batchGrid(batch: number): [number, number] {
  const by = Math.min(batch, backend().maxWorkgroupsPerDim);
  return [by, Math.ceil(batch / by)];
}

/**
 * Workgroup size of the quad kernel: four quads, whatever the GEMM. One size keeps it to one
 * pipeline per TM; sized per GEMM (`spreadWorkgroup`, 16…64) it took nine pipelines of
 * 1.3–5 s each in F0's first forward at 64 px. Against the per-GEMM sizes, F0's GEMMs ran
 * the same within noise (e.g. [512×128]·[128×256] 29.3 vs 35.1 ms, [32×1536]·[1536×768]
 * 34.1 vs 27.7 ms, 8192×128×128 93.5 vs 89.2 ms; medians of 11, interleaved, load ~14):
 * with 16 lanes a GEMM already has a workgroup per four quads, and quads past the grid
 * leave at once.
 */
const QUAD_WG = 16;

/** Workgroups of the quad kernel per batch of an M×N product, at `tm` rows per invocation. */
export function quadWorkgroups(m: number, n: number, tm = quadRows(m)): number {
  return Math.ceil((4 * Math.ceil(m / (4 * tm)) * Math.ceil(n / quadBand(n))) / QUAD_WG);
}

/**
 * Rows per invocation a quad GEMM runs at now: `quadRows(m)` once its pipeline is built,
 * 1 until then. SwiftShader takes 1.4–2.1 s to build the 8-row pipeline and ~0.3 s the
 * one-row one, and a cold first training step of a small net spent 2.7 of its 5.3 s
 * building the 8-row tiles of its two bands. So the first GEMMs run one-row tiles while the
 * wider pipeline builds on another thread, and later ones take it. Every element of C is
 * the same sum in the same order at any TM (TM only says how many rows a lane owns), so
 * results are bit for bit the same whichever ran: test/gemm-tiers.test.ts checks it.
 */
function quadRowsNow(kernel: Kernel, m: number): number {
  const tm = quadRows(m);
  return tm === 1 || backend().readyOrBuildInBackground(kernel, { WG: QUAD_WG, TM: tm }) ? tm : 1;
}

function dispatchQuad(a: Tensor, b: Tensor, out: Tensor, p: GemmPlan, strides: GemmParams): void {
  const band = quadBand(p.n);
  const kernel = band === QUAD_BAND ? MATMUL_QUAD : MATMUL_QUAD16;
  const tm = quadRowsNow(kernel, p.m);
  backend().dispatch({
    kernel,
    bindings: { a, b, c: out },
    params: { ...strides, tiles_n: Math.ceil(p.n / band) },
    overrides: { WG: QUAD_WG, TM: tm },
    workgroups: [quadWorkgroups(p.m, p.n, tm), ...batchGrid(p.batch)],
  });
}

/** The tiling GEMMs take now: as configured, with 'auto' shared on a hardware adapter and register on a software one. */
export function gemmTiles(): Exclude<GemmTiles, 'auto'> {
  if (gemmConfig.tiles !== 'auto') return gemmConfig.tiles;
  return backend().adapter.software ? 'register' : 'shared';
}

/** Whether GEMMs take the workgroup-shared kernel: asked for, or 'auto' on a hardware adapter. */
export function sharedTiles(): boolean {
  return gemmTiles() === 'shared';
}

/** Invocations and C elements per invocation of the shared kernel (its block is 64 × 64). */
const SHARED = { wgM: 16, wgN: 16, tm: 4, tn: 4 } as const;

function dispatchShared(a: Tensor, b: Tensor, out: Tensor, p: GemmPlan, strides: GemmParams): void {
  const limit = backend().maxWorkgroupsPerDim;
  const grid = [Math.ceil(p.n / (SHARED.wgN * SHARED.tn)), Math.ceil(p.m / (SHARED.wgM * SHARED.tm))] as const;
  // Batches past the per-dimension limit go in further dispatches (batch_offset).
  for (let first = 0; first < p.batch; first += limit) {
    backend().dispatch({
      kernel: MATMUL_SHARED,
      bindings: { a, b, c: out },
      params: { ...strides, batch_offset: first },
      overrides: { WG_M: SHARED.wgM, WG_N: SHARED.wgN, TM: SHARED.tm, TN: SHARED.tn },
      workgroups: [grid[0], grid[1], Math.min(limit, p.batch - first)],
    });
  }
}

/** Columns of C per invocation of the subgroup kernel (its rows per workgroup: 8). */
const SUBGROUP = { tn: 4, tm: 8 } as const;

/**
 * The subgroup kernel: a workgroup owns 8 rows × 4·WG columns, every one of its lanes on
 * the same rows so that any subgroup may share A. 32 lanes (128 columns) for C up to 128
 * wide, else 64 (256): fewer idle lanes on narrow C, two pipelines in all. Every option of
 * the GEMM contract (transposes, batch, broadcasts, alpha) runs on it; M = 1 keeps `gemv`.
 */
function dispatchSubgroup(a: Tensor, b: Tensor, out: Tensor, p: GemmPlan, strides: GemmParams): void {
  requireSubgroups(backend().device);
  const wg = p.n <= 32 * SUBGROUP.tn ? 32 : 64;
  const tilesN = Math.ceil(p.n / (SUBGROUP.tn * wg));
  const blocks = Math.ceil(p.m / SUBGROUP.tm) * tilesN;
  const limit = backend().maxWorkgroupsPerDim;
  // Blocks fold into x·y (the kernel numbers them x + y·nx); the batch goes over z.
  const y = Math.ceil(blocks / limit);
  if (y > limit) throw new LimitError(`matmul: ${blocks} blocks of 8 rows exceed ${limit}² workgroups (M = ${p.m}, N = ${p.n}); use tiles 'register'`);
  const x = Math.ceil(blocks / y);
  for (let first = 0; first < p.batch; first += limit) {
    backend().dispatch({
      kernel: MATMUL_SUBGROUP,
      bindings: { a, b, c: out },
      params: { ...strides, tiles_n: tilesN, batch_offset: first },
      overrides: { WG: wg },
      workgroups: [x, y, Math.min(limit, p.batch - first)],
    });
  }
}

function dispatchTiled(a: Tensor, b: Tensor, out: Tensor, p: GemmPlan, o: MatmulOptions, strides: GemmParams): void {
  const cfg = gemmConfig;
  // A_MODE 1: A row-major [M, K] (k contiguous), needs K % 4 == 0.
  // A_MODE 2: Aᵀ stored [K, M] (m contiguous), needs M % 4 == 0.
  const aMode = !cfg.vec4 ? 0 : !o.transposeA ? (p.k % 4 === 0 ? 1 : 0) : p.m % 4 === 0 ? 2 : 0;
  // B_MODE 1: B row-major [K, N] (n contiguous), needs N % 4 == 0.
  // B_MODE 2: Bᵀ stored [N, K] (k contiguous), needs K % 4 == 0.
  const bMode = !cfg.vec4 ? 0 : !o.transposeB ? (p.n % 4 === 0 ? 1 : 0) : p.k % 4 === 0 ? 2 : 0;
  const tilesN = Math.ceil(p.n / cfg.tn);
  const tilesM = Math.ceil(p.m / cfg.tm);
  const groups = cfg.blockN > 0
    ? Math.ceil(tilesM / (cfg.wg / cfg.blockN)) * Math.ceil(tilesN / cfg.blockN)
    : Math.ceil((tilesM * tilesN) / cfg.wg);
  backend().dispatch({
    kernel: MATMUL,
    bindings: { a, b, c: out, av: a, bv: b },
    params: { ...strides, tiles_n: tilesN },
    overrides: { WG: cfg.wg, TM: cfg.tm, TN: cfg.tn, A_MODE: aMode, B_MODE: bMode, BLOCK_N: cfg.blockN },
    workgroups: [groups, ...batchGrid(p.batch)],
  });
}

export const matmulOp = defineOp<MatmulOptions>({
  name: 'matmul',
  forward: ([a, b], o) => {
    assertF32('matmul', a!, b!);
    const p = plan(a!, b!, o);
    const out = empty([...p.batchShape, p.m, p.n]);
    if (out.size && p.k > 0) gemm(a!, b!, out, p, o);
    else if (out.size) gemm(a!, b!, out, p, o, 0);
    return { out, save: [a!, b!] };
  },
  backward: (dy, { saved: [a, b], attrs: o, needs }) => {
    // C = op(A)·op(B):  dop(A) = dC·op(B)ᵀ,  dop(B) = op(A)ᵀ·dC; transpose back where op was ᵀ.
    const da = !needs[0] ? null : o.transposeA ? matmul(b!, dy, { transposeA: o.transposeB, transposeB: true }) : matmul(dy, b!, { transposeB: !o.transposeB });
    const db = !needs[1] ? null : o.transposeB ? matmul(dy, a!, { transposeA: true, transposeB: o.transposeA }) : matmul(a!, dy, { transposeA: !o.transposeA });
    return [da && sumTo(da, a!.shape), db && sumTo(db, b!.shape)];
  },
});

export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  checkTensors('matmul', { a, b });
  const o = checkOptions('matmul', options, ['transposeA', 'transposeB']);
  for (const k of ['transposeA', 'transposeB'] as const) if (o[k] !== undefined) checkBoolean('matmul', k, o[k]);
  return matmulOp([a, b], o);
}
export { plan as gemmPlan };
