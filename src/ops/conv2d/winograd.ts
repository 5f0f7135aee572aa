/**
 * Winograd F(m×m, 3×3) for 3×3 stride-1 undilated convs: input and filter transforms,
 * batched GEMMs on the GEMM core, an output transform, for the forward, dX (the forward
 * of dy with the flipped filters) and dW (the algorithm's exact gradient). m is the
 * tuning's `winogradTile`: 4 by default (shaders/conv2d-winograd-f4.wgsl: 36 GEMMs, 4×
 * fewer multiply-adds than the direct conv), or 2 (shaders/conv2d-winograd.wgsl: 16 GEMMs,
 * 2.25× fewer, smaller transform constants).
 */
import type { Tensor } from '../../tensor/tensor.js';
import { empty } from '../../tensor/creation.js';
import { defineKernel, type Params } from '../../runtime/kernel.js';
import { backend } from '../util.js';
import { gemm, gemmPlan } from '../matmul.js';
import type { ConvGeometry } from './geometry.js';
import { HELPER_WG, padInput } from './shared.js';
import type { ConvTuning, WinogradTile } from './tuning.js';
import winogradWgsl from '../../../shaders/conv2d-winograd.wgsl';
import winograd4Wgsl from '../../../shaders/conv2d-winograd-f4.wgsl';

/** The transforms of each Winograd tile size (output tile m×m): F(2×2, 3×3) and F(4×4, 3×3). */
const TRANSFORMS = {
  2: {
    input: defineKernel('conv2d-winograd', winogradWgsl, 'input_transform'),
    weights: defineKernel('conv2d-winograd', winogradWgsl, 'weight_transform'),
    output: defineKernel('conv2d-winograd', winogradWgsl, 'output_transform'),
    dy: defineKernel('conv2d-winograd', winogradWgsl, 'dy_transform'),
    weightGrad: defineKernel('conv2d-winograd', winogradWgsl, 'weight_grad_transform'),
    /** The binding weight_grad_transform reads W̃ through (scalars on F(2×2), vec4s on F(4×4)). */
    weightGradSource: 'wt',
    filtersPerInvocation: 1,
  },
  4: {
    input: defineKernel('conv2d-winograd-f4', winograd4Wgsl, 'input_transform'),
    weights: defineKernel('conv2d-winograd-f4', winograd4Wgsl, 'weight_transform'),
    output: defineKernel('conv2d-winograd-f4', winograd4Wgsl, 'output_transform'),
    dy: defineKernel('conv2d-winograd-f4', winograd4Wgsl, 'dy_transform'),
    weightGrad: defineKernel('conv2d-winograd-f4', winograd4Wgsl, 'weight_grad_transform'),
    weightGradSource: 'mv',
    filtersPerInvocation: 4,
  },
} as const satisfies Record<WinogradTile, unknown>;

/**
 * Whether Winograd F(m×m, 3×3), m = `t.winogradTile`, runs this geometry: 3×3, stride 1,
 * dilation 1, channels per group multiples of 4 and at least `t.winogradMinChannels`
 * (0: never), and a non-empty output.
 */
export function usesWinograd(g: ConvGeometry, t: Readonly<ConvTuning>): boolean {
  const min = t.winogradMinChannels;
  return min > 0 && g.kh === 3 && g.kw === 3 && g.sh === 1 && g.sw === 1 && g.dh === 1 && g.dw === 1 &&
    g.cig % 4 === 0 && g.cog % 4 === 0 && g.cig >= min && g.cog >= min && g.n * g.ho * g.wo > 0;
}

/**
 * The forward: x zero-padded to whole (m+2)×(m+2) patches of th × tw tiles, V = Bᵀ·d·B and
 * U = G·w·Gᵀ, M[ξ, g] = V[ξ, g]·U[ξ, g] as one GEMM batched over the (m+2)² positions ξ and
 * the groups, then out = Aᵀ·M·A per tile. `flipped` (F(4×4) only): w is the weight of the
 * conv whose dX this is, g the geometry of that dX (see `winogradWeights`).
 */
export function winogradForward(x: Tensor, w: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>, flipped = false): Tensor {
  const m = t.winogradTile;
  const { p, batch, tiles, v } = winogradInput(x, g, m);
  const u = winogradWeights(w, g, m, p, batch, flipped);
  const mv = empty([batch, tiles, g.cog]);
  gemm(v, u, mv, gemmPlan(v, u, {}), {});
  v.dispose();
  u.dispose();
  const out = empty([g.n, g.ho, g.wo, g.cout]);
  backend().dispatch({ kernel: TRANSFORMS[m].output, bindings: { mv, out }, params: p, workgroups: tileWorkgroups(tiles, g, g.cog) });
  mv.dispose();
  return out;
}

/**
 * U = G·w·Gᵀ, [(m+2)²·groups, cig, cog]. `flipped` (F(4×4) only): w is the forward conv's
 * weight and g the geometry of its dX, whose filters (rotated 180°, channels swapped) the
 * F(4×4) transform reads in place.
 */
function winogradWeights(w: Tensor, g: ConvGeometry, m: WinogradTile, p: Params, batch: number, flipped: boolean): Tensor {
  const u = empty([batch, g.cig, g.cog]);
  const workgroups = filterWorkgroups(g, m);
  if (m === 4) {
    backend().dispatch({ kernel: TRANSFORMS[4].weights, bindings: { wt: w, wv: w, outv: u }, params: p, overrides: { FLIP: flipped ? 1 : 0 }, workgroups });
  } else {
    if (flipped) throw new Error('internal: winogradWeights got flipped filters without F(4×4) (dX only flips on F(4×4))');
    backend().dispatch({ kernel: TRANSFORMS[2].weights, bindings: { wt: w, out: u }, params: p, workgroups });
  }
  return u;
}

/** Workgroups of the per-tile transforms (input, output, dy): one invocation per tile, group and quad of `channels`. */
function tileWorkgroups(tiles: number, g: ConvGeometry, channels: number): number {
  return Math.ceil((tiles * g.groups * channels) / 4 / HELPER_WG);
}

/** Workgroups of the filter transforms (weight_transform, weight_grad_transform): one invocation per `filtersPerInvocation` filters. */
function filterWorkgroups(g: ConvGeometry, m: WinogradTile): number {
  return Math.ceil((g.groups * g.cig * g.cog) / TRANSFORMS[m].filtersPerInvocation / HELPER_WG);
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
  backend().dispatch({ kernel: TRANSFORMS[m].input, bindings: { xv: xp, outv: v }, params: p, workgroups: tileWorkgroups(tiles, g, g.cig) });
  if (xp !== x) xp.dispose();
  return { p, batch, tiles, v };
}

/**
 * dW of the Winograd forward (its exact gradient, so that of the conv): DY = A·dy·Aᵀ per
 * tile, W̃[ξ, g] = V[ξ, g]ᵀ·DY[ξ, g] summed over tiles by the GEMM, dW = Gᵀ·W̃·G.
 */
export function winogradDw(x: Tensor, dy: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>): Tensor {
  const m = t.winogradTile;
  const kernels = TRANSFORMS[m];
  const { p, batch, tiles, v } = winogradInput(x, g, m);
  const dyt = empty([batch, tiles, g.cog]);
  backend().dispatch({ kernel: kernels.dy, bindings: { mv: dy, outv: dyt }, params: p, workgroups: tileWorkgroups(tiles, g, g.cog) });
  const wt = empty([batch, g.cig, g.cog]);
  const o = { transposeA: true };
  gemm(v, dyt, wt, gemmPlan(v, dyt, o), o);
  v.dispose();
  dyt.dispose();
  const dw = empty([3, 3, g.cig, g.cout]);
  backend().dispatch({ kernel: kernels.weightGrad, bindings: { [kernels.weightGradSource]: wt, out: dw }, params: p, workgroups: filterWorkgroups(g, m) });
  wt.dispose();
  return dw;
}
