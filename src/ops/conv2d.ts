/**
 * conv2d on NHWC activations and HWIO weights [kh, kw, cin/groups, cout], with stride,
 * TensorFlow 'SAME' / 'VALID' / explicit padding, dilation and groups (depthwise
 * included). Forward, dX and dW are implicit-GEMM kernels (shaders/conv2d.wgsl) batched
 * over groups:
 *  - forward: 8×TN register tiles on a zero-padded copy of x (one cheap pass), so the
 *    inner loop has no bounds tests;
 *  - dX: the same forward kernel on dy, once per stride phase (sh·sw phases, one for
 *    stride 1) with that phase's flipped, in/out-swapped sub-kernel; the phases are then
 *    interleaved, so no work is spent on stride holes (stride-1 Winograd F(4×4) reads the
 *    flipped filters in place instead);
 *  - dW: 8×TN tiles over weight taps (a masked 4×4 fallback for channel counts that are
 *    not multiples of 4), the pixel reduction split across workgroups (then summed) when
 *    the weight is too small to keep enough threads busy.
 * 3×3 stride-1 convolutions with channel groups of at least `winogradMinChannels` (a
 * multiple of 4) take Winograd instead: input and filter transforms, batched GEMMs on the
 * GEMM core, an output transform, for the forward, dX (through its flipped forward) and
 * dW (the algorithm's exact gradient). F(4×4, 3×3) by default (shaders/conv2d-winograd-f4.wgsl:
 * 36 GEMMs, 4× fewer multiply-adds than the direct conv); `winogradTile: 2` selects
 * F(2×2, 3×3) (shaders/conv2d-winograd.wgsl: 16 GEMMs, 2.25× fewer, smaller constants).
 * Bias is a separate add. Saves x and w (w is typically the weight-standardized Ŵ, so
 * standardization runs once per step and Ŵ is reused by forward, dX and dW).
 */
import { defineOp } from '../autodiff/op.js';
import type { Tensor } from '../autodiff/tensor.js';
import { empty, zeros } from '../autodiff/creation.js';
import { defineKernel, type Params } from '../runtime/kernel.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { assertF32, backend } from './util.js';
import { registerTunable } from '../runtime/init.js';
import { gemm, gemmPlan, quadApplies } from './matmul.js';
import convWgsl from '../../shaders/conv2d.wgsl';
import winogradWgsl from '../../shaders/conv2d-winograd.wgsl';
import winograd4Wgsl from '../../shaders/conv2d-winograd-f4.wgsl';

const FORWARD = defineKernel('conv2d', convWgsl, 'forward');
const DW = defineKernel('conv2d', convWgsl, 'dw');
const REDUCE_SPLITS = defineKernel('conv2d', convWgsl, 'reduce_splits');
const PAD_INPUT = defineKernel('conv2d', convWgsl, 'pad_input');
const PHASE_WEIGHTS = defineKernel('conv2d', convWgsl, 'phase_weights');
const SCATTER_PHASE = defineKernel('conv2d', convWgsl, 'scatter_phase');
const DW_TILED = defineKernel('conv2d', convWgsl, 'dw_tiled');
const WINO_INPUT = defineKernel('conv2d-winograd', winogradWgsl, 'input_transform');
const WINO_WEIGHTS = defineKernel('conv2d-winograd', winogradWgsl, 'weight_transform');
const WINO_OUTPUT = defineKernel('conv2d-winograd', winogradWgsl, 'output_transform');
const WINO_DY = defineKernel('conv2d-winograd', winogradWgsl, 'dy_transform');
const WINO_DW = defineKernel('conv2d-winograd', winogradWgsl, 'weight_grad_transform');
/** The transforms of each Winograd tile size (output tile m×m): F(2×2, 3×3) and F(4×4, 3×3). */
const WINO_TRANSFORMS = {
  2: { input: WINO_INPUT, weights: WINO_WEIGHTS, output: WINO_OUTPUT, dy: WINO_DY, weightGrad: WINO_DW, weightGradSource: 'wt', filtersPerInvocation: 1 },
  4: {
    input: defineKernel('conv2d-winograd-f4', winograd4Wgsl, 'input_transform'),
    weights: defineKernel('conv2d-winograd-f4', winograd4Wgsl, 'weight_transform'),
    output: defineKernel('conv2d-winograd-f4', winograd4Wgsl, 'output_transform'),
    dy: defineKernel('conv2d-winograd-f4', winograd4Wgsl, 'dy_transform'),
    weightGrad: defineKernel('conv2d-winograd-f4', winograd4Wgsl, 'weight_grad_transform'),
    /** The binding weight_grad_transform reads W̃ through (scalars on F(2×2), vec4s on F(4×4)). */
    weightGradSource: 'mv',
    filtersPerInvocation: 4,
  },
} as const;
export type WinogradTile = keyof typeof WINO_TRANSFORMS;
/** Invocations per workgroup of the tiled forward / dW kernels (the shaders' `WG` override). */
let CONV_WG = 64;
/** Workgroup size of the helper passes (pad, phase weights, scatter, split reduce): the shaders' default WG. */
const HELPER_WG = 64;
/** dW split-K: aim for this many threads, but give each split at least MIN_CHUNK output pixels. */
let DW_TARGET_THREADS = 4096;
let WINOGRAD_MIN_CHANNELS = 16;
let WINOGRAD_TILE: WinogradTile = 4;

/** Tunable launch parameters of the conv kernels (bench --tune; applied by init() from the tune cache). */
export interface ConvConfig {
  /** Invocations per workgroup of the implicit-GEMM forward / dX / dW kernels (default 64). */
  wg: number;
  /** dW split-K target thread count (default 4096). */
  dwTargetThreads: number;
  /**
   * Smallest cin/groups and cout/groups for which a 3×3 stride-1 conv (forward and dX)
   * takes Winograd F(2×2, 3×3); 0 turns Winograd off. Default 16.
   */
  winogradMinChannels: number;
  /**
   * Output tile of the Winograd forward, dX and dW: 4 = F(4×4, 3×3) (2.25 multiply-adds
   * per output and channel pair), 2 = F(2×2, 3×3) (4; smaller transform constants).
   * Default 4.
   */
  winogradTile: WinogradTile;
}

/** Override the conv launch parameters; returns the previous ones. */
export function setConvConfig(c: Partial<ConvConfig>): ConvConfig {
  const prev = getConvConfig();
  const wg = c.wg ?? CONV_WG;
  const dwt = c.dwTargetThreads ?? DW_TARGET_THREADS;
  const wino = c.winogradMinChannels ?? WINOGRAD_MIN_CHANNELS;
  const tile = c.winogradTile ?? WINOGRAD_TILE;
  if (!Number.isInteger(wg) || wg < 1 || wg > 256 || !Number.isInteger(dwt) || dwt < 1 || !Number.isInteger(wino) || wino < 0 || !(tile in WINO_TRANSFORMS)) {
    throw new ValueError(
      `setConvConfig: wg must be an integer in 1..256, dwTargetThreads a positive integer, winogradMinChannels a non-negative integer and winogradTile 2 or 4, got wg=${wg}, dwTargetThreads=${dwt}, winogradMinChannels=${wino}, winogradTile=${String(tile)}`,
    );
  }
  CONV_WG = wg;
  DW_TARGET_THREADS = dwt;
  WINOGRAD_MIN_CHANNELS = wino;
  WINOGRAD_TILE = tile;
  return prev;
}

export function getConvConfig(): ConvConfig {
  return { wg: CONV_WG, dwTargetThreads: DW_TARGET_THREADS, winogradMinChannels: WINOGRAD_MIN_CHANNELS, winogradTile: WINOGRAD_TILE };
}

// init() applies a cached `npm run bench -- --tune` choice for the adapter.
registerTunable('conv', (c) => setConvConfig(c as Partial<ConvConfig>));
const DW_MIN_CHUNK = 256;

export type Padding = 'SAME' | 'VALID' | readonly [readonly [number, number], readonly [number, number]];

export interface Conv2dOptions {
  /** One stride for both axes or [sh, sw]; default 1. */
  stride?: number | readonly [number, number];
  /** 'SAME' (TensorFlow rule), 'VALID' (default) or [[top, bottom], [left, right]]. */
  padding?: Padding;
  /** Channel groups; cin and cout must both be divisible by it. Default 1. */
  groups?: number;
  /** One dilation for both axes or [dh, dw]; default 1. */
  dilation?: number | readonly [number, number];
}

/** Everything the kernels need, resolved on the CPU. */
export interface ConvGeometry {
  n: number; h: number; w: number; cin: number;
  ho: number; wo: number; cout: number; groups: number;
  cig: number; cog: number; kh: number; kw: number;
  sh: number; sw: number; dh: number; dw: number;
  pt: number; pl: number;
}

function pair(name: string, v: number | readonly [number, number] | undefined): [number, number] {
  const p: readonly number[] = v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || p.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new ValueError(`conv2d: ${name} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0]!, p[1]!];
}

/** TensorFlow SAME: total = max((ceil(n/s) − 1)·s + k_eff − n, 0), before = floor(total/2). */
export function samePadding(n: number, k: number, s: number, d = 1): [number, number] {
  const kEff = (k - 1) * d + 1;
  const total = Math.max((Math.ceil(n / s) - 1) * s + kEff - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function resolvePadding(p: Padding | undefined, x: Tensor, w: Tensor, s: [number, number], d: [number, number]): [[number, number], [number, number]] {
  const [h, wd] = [x.shape[1]!, x.shape[2]!];
  const [kh, kw] = [w.shape[0]!, w.shape[1]!];
  if (p === undefined || p === 'VALID') return [[0, 0], [0, 0]];
  if (p === 'SAME') return [samePadding(h, kh, s[0], d[0]), samePadding(wd, kw, s[1], d[1])];
  const ok = Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2 && q.every((v) => Number.isInteger(v) && v >= 0));
  if (!ok) {
    throw new ValueError(`conv2d: padding must be 'SAME', 'VALID' or [[top, bottom], [left, right]] of non-negative integers, got ${JSON.stringify(p)}`);
  }
  return [[p[0][0], p[0][1]], [p[1][0], p[1][1]]];
}

/** Validate shapes and options (typed errors, no GPU work) and resolve the geometry. */
export function convGeometry(x: Tensor, w: Tensor, o: Conv2dOptions): ConvGeometry {
  if (x.rank !== 4) throw new ShapeError(`conv2d: x must be NHWC (rank 4), got ${describeShape(x.shape)}`);
  if (w.rank !== 4) throw new ShapeError(`conv2d: w must be HWIO [kh, kw, cin/groups, cout] (rank 4), got ${describeShape(w.shape)}`);
  const groups = o.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ValueError(`conv2d: groups must be a positive integer, got ${groups}`);
  const [n, h, wd, cin] = x.shape as [number, number, number, number];
  const [kh, kw, cig, cout] = w.shape as [number, number, number, number];
  if (cin % groups) throw new ShapeError(`conv2d: input channels ${cin} of ${describeShape(x.shape)} are not divisible by groups = ${groups}`);
  if (cig * groups !== cin) {
    throw new ShapeError(`conv2d: w ${describeShape(w.shape)} expects ${cig}·${groups} = ${cig * groups} input channels (groups = ${groups}), x ${describeShape(x.shape)} has ${cin}`);
  }
  if (cout % groups) throw new ShapeError(`conv2d: output channels ${cout} of w ${describeShape(w.shape)} are not divisible by groups = ${groups}`);
  const s = pair('stride', o.stride);
  const d = pair('dilation', o.dilation);
  const [[pt, pb], [pl, pr]] = resolvePadding(o.padding, x, w, s, d);
  const ho = Math.floor((h + pt + pb - (kh - 1) * d[0] - 1) / s[0]) + 1;
  const wo = Math.floor((wd + pl + pr - (kw - 1) * d[1] - 1) / s[1]) + 1;
  if (ho < 1 || wo < 1) {
    throw new ShapeError(`conv2d: kernel ${kh}×${kw} (dilation ${d.join('×')}) does not fit the padded input ${h + pt + pb}×${wd + pl + pr} of ${describeShape(x.shape)}`);
  }
  return { n, h, w: wd, cin, ho, wo, cout, groups, cig, cog: cout / groups, kh, kw, sh: s[0], sw: s[1], dh: d[0], dw: d[1], pt, pl };
}

interface Extra {
  tiles_n: number;
  k_chunk?: number;
  size?: number;
  splits?: number;
  tap?: readonly number[];
  phase?: readonly number[];
}

function params(g: ConvGeometry, extra: Extra): Params {
  return { ...g, k_chunk: 0, size: 0, splits: 1, tap: [0, 0, 0, 0], phase: [0, 0, 0, 0], ...extra };
}

/** [x, groups, z] covering `tiles` invocations per group; z folds x past the per-dimension limit. */
function tileGrid(tiles: number, groups: number): [number, number, number] {
  const wgs = Math.ceil(tiles / CONV_WG);
  const max = backend().maxWorkgroupsPerDim;
  const z = Math.max(1, Math.ceil(wgs / max));
  return [Math.ceil(wgs / z), groups, z];
}

/** Zero-padded (negative pt / pl: cropped) copy of x, read unmasked by the kernels; x itself when there is nothing to do. */
function padInput(x: Tensor, g: ConvGeometry, pb: number, pr: number): Tensor {
  if (!g.pt && !g.pl && !pb && !pr) return x;
  const hp = g.h + g.pt + pb;
  const wp = g.w + g.pl + pr;
  const out = empty([g.n, hp, wp, g.cin]);
  const vec = g.cin % 4 === 0;
  backend().dispatch({
    kernel: PAD_INPUT,
    bindings: { x, out },
    // Source sizes travel in the spare k_chunk / size slots.
    params: params({ ...g, h: hp, w: wp }, { tiles_n: 0, k_chunk: g.h, size: g.w }),
    overrides: { VEC_K: vec ? 1 : 0 },
    workgroups: Math.ceil(out.size / (vec ? 4 : 1) / HELPER_WG),
  });
  return out;
}

/**
 * x zero-padded by exactly what the taps reach (padding past the last tap is never read),
 * and the geometry as seen on that padded input (pt = pl = 0).
 */
function paddedForTaps(x: Tensor, g: ConvGeometry): { xp: Tensor; pg: ConvGeometry } {
  const pb = Math.max(0, (g.ho - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.h - g.pt);
  const pr = Math.max(0, (g.wo - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.w - g.pl);
  return { xp: padInput(x, g, pb, pr), pg: { ...g, h: g.h + g.pt + pb, w: g.w + g.pl + pr, pt: 0, pl: 0 } };
}

export function convForward(x: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  if (!g.cig) return zeros([g.n, g.ho, g.wo, g.cout]);
  if (usesWinograd(g)) return winogradForward(x, w, g);
  if (isPointwise(g)) return pointwiseGemm(x, w, [g.n, g.ho, g.wo, g.cout], false);
  const out = empty([g.n, g.ho, g.wo, g.cout]);
  const rows = g.n * g.ho * g.wo;
  if (!out.size) return out;
  const { xp, pg } = paddedForTaps(x, g);
  const tn = g.cog > 4 ? 8 : 4;
  const vec = g.cig % 4 === 0 && g.cog % 4 === 0;
  backend().dispatch({
    kernel: FORWARD,
    bindings: { x: xp, xv: xp, wt: w, wv: w, out },
    params: params(pg, { tiles_n: Math.ceil(g.cog / tn) }),
    overrides: { VEC_K: vec ? 1 : 0, TN: tn, WG: CONV_WG },
    workgroups: tileGrid(Math.ceil(rows / 8) * Math.ceil(g.cog / tn), g.groups),
  });
  if (xp !== x) xp.dispose();
  return out;
}

/** A 1×1, stride-1, unpadded, ungrouped conv: exactly a GEMM over the pixels. */
function isPointwise(g: ConvGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.groups === 1 && g.ho === g.h && g.wo === g.w && g.n * g.h * g.w > 0;
}

/**
 * A pointwise conv on the GEMM core: forward x[P, cin]·W[cin, cout], dX dy[P, cout]·Wᵀ
 * (`transposeW`), without the padded copy and the row-offset walk of the conv kernel.
 */
function pointwiseGemm(a: Tensor, w: Tensor, outShape: readonly number[], transposeW: boolean): Tensor {
  const out = empty(outShape);
  const rows = a.size / a.shape[3]!;
  const av = a.view([rows, a.shape[3]!]);
  const wv = w.view([w.shape[2]!, w.shape[3]!]);
  const o = { transposeB: transposeW };
  gemm(av, wv, out, gemmPlan(av, wv, o), o);
  av.dispose();
  wv.dispose();
  return out;
}

/** Whether `convForward` takes Winograd F(2×2, 3×3) for this geometry. */
export function usesWinograd(g: ConvGeometry): boolean {
  const min = WINOGRAD_MIN_CHANNELS;
  return min > 0 && g.kh === 3 && g.kw === 3 && g.sh === 1 && g.sw === 1 && g.dh === 1 && g.dw === 1 &&
    g.cig % 4 === 0 && g.cog % 4 === 0 && g.cig >= min && g.cog >= min && g.n * g.ho * g.wo > 0;
}

/**
 * Winograd F(m×m, 3×3), m = the `winogradTile` config (shaders/conv2d-winograd.wgsl for
 * m = 2, conv2d-winograd-f4.wgsl for m = 4): x zero-padded to whole (m+2)×(m+2) patches of
 * th × tw tiles, V = Bᵀ·d·B and U = G·w·Gᵀ, M[ξ, g] = V[ξ, g]·U[ξ, g] as one GEMM batched
 * over the (m+2)² positions ξ and the groups, then out = Aᵀ·M·A per tile.
 */
function winogradForward(x: Tensor, w: Tensor, g: ConvGeometry, flipped = false): Tensor {
  const kernels = WINO_TRANSFORMS[WINOGRAD_TILE];
  const { p, batch, tiles, v } = winogradInput(x, g, WINOGRAD_TILE);
  const u = winogradWeights(w, g, p, batch, flipped);
  const m = empty([batch, tiles, g.cog]);
  gemm(v, u, m, gemmPlan(v, u, {}), {});
  v.dispose();
  u.dispose();
  const out = empty([g.n, g.ho, g.wo, g.cout]);
  backend().dispatch({ kernel: kernels.output, bindings: { mv: m, out }, params: p, workgroups: tileWorkgroups(tiles, g, g.cog) });
  m.dispose();
  return out;
}

/**
 * U = G·w·Gᵀ, [(m+2)²·groups, cig, cog]. `flipped` (F(4×4) only): w is the forward conv's
 * weight and g the geometry of its dX, whose filters (rotated 180°, channels swapped) the
 * F(4×4) transform reads in place.
 */
function winogradWeights(w: Tensor, g: ConvGeometry, p: Params, batch: number, flipped: boolean): Tensor {
  const u = empty([batch, g.cig, g.cog]);
  const workgroups = filterWorkgroups(g);
  if (WINOGRAD_TILE === 4) {
    backend().dispatch({ kernel: WINO_TRANSFORMS[4].weights, bindings: { wt: w, wv: w, outv: u }, params: p, overrides: { FLIP: flipped ? 1 : 0 }, workgroups });
  } else {
    if (flipped) throw new Error('internal: winogradWeights got flipped filters without F(4×4) (winogradDx only flips on F(4×4))');
    backend().dispatch({ kernel: WINO_TRANSFORMS[2].weights, bindings: { wt: w, out: u }, params: p, workgroups });
  }
  return u;
}

/** Workgroups of the per-tile transforms (input, output, dy): one invocation per tile, group and quad of `channels`. */
function tileWorkgroups(tiles: number, g: ConvGeometry, channels: number): number {
  return Math.ceil((tiles * g.groups * channels) / 4 / HELPER_WG);
}

/** Workgroups of the filter transforms (weight_transform, weight_grad_transform): one invocation per `filtersPerInvocation` filters. */
function filterWorkgroups(g: ConvGeometry): number {
  return Math.ceil((g.groups * g.cig * g.cog) / WINO_TRANSFORMS[WINOGRAD_TILE].filtersPerInvocation / HELPER_WG);
}

/** V = Bᵀ·d·B of every tile's (m+2)×(m+2) input patch, [(m+2)²·groups, tiles, cig], and the shared params. */
function winogradInput(x: Tensor, g: ConvGeometry, m: WinogradTile) {
  const th = Math.ceil(g.ho / m);
  const tw = Math.ceil(g.wo / m);
  const tiles = g.n * th * tw;
  const shared = { n: g.n, ho: g.ho, wo: g.wo, cin: g.cin, cout: g.cout, groups: g.groups, cig: g.cig, cog: g.cog, th, tw };
  // F(4×4) reads x through the padding; F(2×2) reads a zero-padded copy that reaches the
  // rows the patches need past the input (≥ the conv's own bottom/right padding).
  const xp = m === 4 ? x : padInput(x, g, m * th + 2 - g.h - g.pt, m * tw + 2 - g.w - g.pl);
  const p = m === 4 ? { ...shared, h: g.h, w: g.w, pt: g.pt, pl: g.pl } : { ...shared, h: m * th + 2, w: m * tw + 2 };
  const batch = (m + 2) ** 2 * g.groups;
  const v = empty([batch, tiles, g.cig]);
  backend().dispatch({ kernel: WINO_TRANSFORMS[m].input, bindings: { xv: xp, outv: v }, params: p, workgroups: tileWorkgroups(tiles, g, g.cig) });
  if (xp !== x) xp.dispose();
  return { p, batch, tiles, v };
}

/**
 * dW of the Winograd forward (its exact gradient, so that of the conv): DY = A·dy·Aᵀ per
 * tile, W̃[ξ, g] = V[ξ, g]ᵀ·DY[ξ, g] summed over tiles by the GEMM, dW = Gᵀ·W̃·G.
 */
function winogradDw(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const kernels = WINO_TRANSFORMS[WINOGRAD_TILE];
  const { p, batch, tiles, v } = winogradInput(x, g, WINOGRAD_TILE);
  const dyt = empty([batch, tiles, g.cog]);
  backend().dispatch({ kernel: kernels.dy, bindings: { mv: dy, outv: dyt }, params: p, workgroups: tileWorkgroups(tiles, g, g.cog) });
  const wt = empty([batch, g.cig, g.cog]);
  const o = { transposeA: true };
  gemm(v, dyt, wt, gemmPlan(v, dyt, o), o);
  v.dispose();
  dyt.dispose();
  const dw = empty([3, 3, g.cig, g.cout]);
  backend().dispatch({ kernel: kernels.weightGrad, bindings: { [kernels.weightGradSource]: wt, out: dw }, params: p, workgroups: filterWorkgroups(g) });
  wt.dispose();
  return dw;
}

/**
 * The taps of one axis that reach input positions ≡ `phase` (mod s) in the transposed
 * conv: ky with (phase + p − ky·d) divisible by s, an arithmetic progression. Listed in
 * flipped order (descending ky = ascending dy offset c = (phase + p − ky·d)/s), so the
 * phase is a stride-1 correlation of dy with `count` taps spaced `dil` apart, starting at
 * dy offset `c0` (≤ 0 means top padding −c0).
 */
interface PhaseTaps {
  first: number;
  step: number;
  count: number;
  dil: number;
  c0: number;
}

function phaseTaps(k: number, s: number, d: number, p: number, phase: number): PhaseTaps {
  const taps = [...Array(k).keys()].filter((ky) => (((phase + p - ky * d) % s) + s) % s === 0).reverse();
  const gap = taps.length > 1 ? taps[0]! - taps[1]! : 1;
  return { first: taps[0] ?? 0, step: -gap, count: taps.length, dil: (gap * d) / s, c0: (phase + p - (taps[0] ?? 0) * d) / s };
}

interface Phase {
  py: number;
  px: number;
  ty: PhaseTaps;
  tx: PhaseTaps;
  /** The phase's own conv: dy as input, dX's rows/cols of this phase as output. */
  tg: ConvGeometry;
}

/**
 * dX as sh·sw forward convolutions of dy (for stride 1: one, with flipped weights), so it
 * runs on the 8×TN forward kernel. A phase whose first tap starts below dy's first row
 * (padding wider than the kernel's reach) gets a negative padding: pad_input crops.
 */
function dxPhases(g: ConvGeometry): Phase[] {
  const phases: Phase[] = [];
  for (let py = 0; py < Math.min(g.sh, g.h); py++) {
    for (let px = 0; px < Math.min(g.sw, g.w); px++) {
      const ty = phaseTaps(g.kh, g.sh, g.dh, g.pt, py);
      const tx = phaseTaps(g.kw, g.sw, g.dw, g.pl, px);
      const tg: ConvGeometry = {
        ...g, h: g.ho, w: g.wo, cin: g.cout, cout: g.cin, cig: g.cog, cog: g.cig,
        ho: Math.ceil((g.h - py) / g.sh), wo: Math.ceil((g.w - px) / g.sw),
        kh: ty.count, kw: tx.count, sh: 1, sw: 1, dh: ty.dil, dw: tx.dil, pt: -ty.c0, pl: -tx.c0,
      };
      phases.push({ py, px, ty, tx, tg });
    }
  }
  return phases;
}

function phaseWeights(w: Tensor, g: ConvGeometry, ph: Phase): Tensor {
  const out = empty([ph.ty.count, ph.tx.count, g.cog, g.cin]);
  backend().dispatch({
    kernel: PHASE_WEIGHTS,
    bindings: { wt: w, out },
    params: params(g, { tiles_n: 0, tap: [ph.ty.first, ph.ty.step, ph.tx.first, ph.tx.step], phase: [ph.ty.count, ph.tx.count, 0, 0] }),
    workgroups: Math.ceil(out.size / HELPER_WG),
  });
  return out;
}

function scatterPhase(part: Tensor, dx: Tensor, g: ConvGeometry, ph: Phase): void {
  backend().dispatch({
    kernel: SCATTER_PHASE,
    bindings: { part, out: dx },
    params: params(g, { tiles_n: 0, phase: [ph.py, ph.px, ph.tg.ho, ph.tg.wo] }),
    overrides: { VEC_K: g.cin % 4 === 0 ? 1 : 0 },
    workgroups: Math.ceil(part.size / (g.cin % 4 === 0 ? 4 : 1) / HELPER_WG),
  });
}

/** One phase's dX values ([n, hq, wq, cin]); zeros where no tap reaches the phase. */
function phaseDx(dy: Tensor, w: Tensor, g: ConvGeometry, ph: Phase): Tensor {
  if (!ph.ty.count || !ph.tx.count) return zeros([g.n, ph.tg.ho, ph.tg.wo, g.cin]);
  // A Winograd phase has all 3×3 taps, undilated, so the conv is stride 1 and the phase's
  // filters are w rotated 180°: the F(4×4) filter transform reads them from w in place.
  if (usesWinograd(ph.tg) && WINOGRAD_TILE === 4) return winogradForward(dy, w, ph.tg, true);
  const wp = phaseWeights(w, g, ph);
  const part = convForward(dy, wp, ph.tg);
  wp.dispose();
  return part;
}

export function convDx(dy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  if (!g.n || !g.cin || !g.cout) return zeros([g.n, g.h, g.w, g.cin]);
  if (isPointwise(g)) return pointwiseGemm(dy, w, [g.n, g.h, g.w, g.cin], true);
  const phases = dxPhases(g);
  if (phases.length === 1) return phaseDx(dy, w, g, phases[0]!);
  const dx = empty([g.n, g.h, g.w, g.cin]);
  for (const ph of phases) {
    const part = phaseDx(dy, w, g, ph);
    scatterPhase(part, dx, g, ph);
    part.dispose();
  }
  return dx;
}

/** How many ways to split dW's reduction (over output rows) so that enough threads run. */
export function dwSplits(g: ConvGeometry, tileRows: number, tileCols: number): number {
  const threads = Math.ceil((g.kh * g.kw * g.cig) / tileRows) * Math.ceil(g.cog / tileCols) * g.groups;
  const outRows = g.n * g.ho;
  const minRows = Math.max(1, Math.ceil(DW_MIN_CHUNK / g.wo));
  const want = Math.ceil(DW_TARGET_THREADS / threads);
  return Math.max(1, Math.min(want, Math.floor(outRows / minRows), backend().maxWorkgroupsPerDim));
}

/** Sum split partials [zs, size] into dw (the second pass of a split-K dW). */
function reduceSplits(part: Tensor, dw: Tensor, g: ConvGeometry, zs: number): void {
  backend().dispatch({
    kernel: REDUCE_SPLITS,
    bindings: { part, out: dw },
    params: params(g, { tiles_n: 0, size: dw.size, splits: zs }),
    workgroups: Math.ceil(dw.size / HELPER_WG),
  });
}

/**
 * A pointwise conv's dW = xᵀ[cin, P]·dy[P, cout] on the quad GEMM, where that kernel
 * applies (software adapters). It measured ~2× the dW kernel: 70 → 38 ms for 8×32×32×128,
 * 181 → 91 ms for F0's 768-channel 1×1 at 24×24, 10 → 4.8 ms for nano's 64 → 128 head.
 * Elsewhere the dW kernel stays: its split-K keeps a GPU busy when cin·cout is small.
 */
function pointwiseDw(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor | null {
  const rows = g.n * g.h * g.w;
  const xv = x.view([rows, g.cin]);
  const dyv = dy.view([rows, g.cout]);
  const o = { transposeA: true };
  const p = gemmPlan(xv, dyv, o);
  let dw: Tensor | null = null;
  if (quadApplies(p)) {
    dw = empty([g.kh, g.kw, g.cig, g.cout]);
    gemm(xv, dyv, dw, p, o);
  }
  xv.dispose();
  dyv.dispose();
  return dw;
}

export function convDw(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const rows = g.kh * g.kw * g.cig;
  if (!g.n || !rows || !g.cout) return zeros([g.kh, g.kw, g.cig, g.cout]);
  if (usesWinograd(g)) return winogradDw(x, dy, g);
  const pointwise = isPointwise(g) ? pointwiseDw(x, dy, g) : null;
  if (pointwise) return pointwise;
  const dw = empty([g.kh, g.kw, g.cig, g.cout]);
  // The 8×TN tile needs vec4-aligned channel blocks; other shapes take the 4×4 masked kernel.
  const tiled = g.cig % 4 === 0 && g.cog % 4 === 0;
  const tn = g.cog > 4 ? 8 : 4;
  const [tr, tc] = tiled ? [8, tn] : [4, 4];
  const outRows = g.n * g.ho;
  const chunk = Math.ceil(outRows / dwSplits(g, tr, tc));
  const zs = Math.ceil(outRows / chunk);
  const target = zs === 1 ? dw : empty([zs, dw.size]);
  const grid: [number, number, number] = [Math.ceil((Math.ceil(rows / tr) * Math.ceil(g.cog / tc)) / CONV_WG), g.groups, zs];
  if (tiled) {
    const { xp, pg } = paddedForTaps(x, g);
    backend().dispatch({
      kernel: DW_TILED,
      bindings: { xv: xp, dyv: dy, out: target },
      params: params(pg, { tiles_n: Math.ceil(g.cog / tn), k_chunk: chunk }),
      overrides: { TN: tn, WG: CONV_WG },
      workgroups: grid,
    });
    if (xp !== x) xp.dispose();
  } else {
    backend().dispatch({
      kernel: DW,
      bindings: { x, dy, out: target },
      params: params(g, { tiles_n: Math.ceil(g.cog / 4), k_chunk: chunk }),
      overrides: { VEC_K: g.cig % 4 === 0 ? 1 : 0, WG: CONV_WG },
      workgroups: grid,
    });
  }
  if (target !== dw) {
    reduceSplits(target, dw, g, zs);
    target.dispose();
  }
  return dw;
}

export const conv2dOp = defineOp<Conv2dOptions>({
  name: 'conv2d',
  forward: ([x, w], o) => {
    assertF32('conv2d', x!, w!);
    const g = convGeometry(x!, w!, o);
    return { out: convForward(x!, w!, g), save: [x!, w!] };
  },
  backward: (dy, { saved: [x, w], attrs, needs }) => {
    const g = convGeometry(x!, w!, attrs);
    return [needs[0] ? convDx(dy, w!, g) : null, needs[1] ? convDw(x!, dy, g) : null];
  },
});

/** 2-D convolution: x NHWC, w HWIO [kh, kw, cin/groups, cout] → [n, ho, wo, cout]. */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  return conv2dOp([x, w], options);
}
