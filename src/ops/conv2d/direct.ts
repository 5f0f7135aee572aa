/**
 * The direct forward: an implicit GEMM over output pixels × output channels per group
 * (shaders/conv2d.wgsl `forward`). Each invocation computes an 8×TN register tile (TN = 8,
 * or 4 for groups of ≤ 4 output channels) on a zero-padded copy of x (one cheap pass),
 * so the inner loop has no bounds tests; vec4 loads when both channel counts per group
 * are multiples of 4. It serves every geometry, and is what dX's stride phases run.
 * On SwiftShader with `subgroups`, groups of a multiple of 32 output channels run
 * `forward_band` (shaders/conv2d-band.wgsl: the four lanes of a quad share a band of the
 * weights) or, on grids too small for it, `forward_quad` (shaders/conv2d-quad.wgsl: they
 * share the loads of their common input rows). Groups of 8, 16 or 24 output channels (nano's)
 * run `forward_rows` there (shaders/conv2d-rows.wgsl: a lane slides an input window along
 * a run of one output row, and the quad's lanes share the weights).
 */
import type { Tensor } from '../../tensor/tensor.js';
import { empty } from '../../tensor/creation.js';
import { defineKernel } from '../../runtime/kernel.js';
import { backend } from '../util.js';
import type { ConvGeometry } from './geometry.js';
import { paddedForTaps, params, tileGrid, tileWorkgroupSize } from './shared.js';
import type { ConvTuning } from './tuning.js';
import { EPILOGUE_CONSTANTS, applyEpilogue, epilogueBias, epilogueOverrides, withEpilogue, type ConvEpilogue } from './epilogue.js';
import convWgsl from '../../../shaders/conv2d.wgsl';
import convQuadWgsl from '../../../shaders/conv2d-quad.wgsl';
import convBandWgsl from '../../../shaders/conv2d-band.wgsl';
import convRowsWgsl from '../../../shaders/conv2d-rows.wgsl';

const FORWARD = defineKernel('conv2d', convWgsl, 'forward');
// conv2d-quad.wgsl holds only its entry point; it runs on conv2d.wgsl's declarations, and
// its store applies the fused epilogue (epilogue.ts), as conv2d-band.wgsl's does.
const FORWARD_QUAD = defineKernel('conv2d-quad', withEpilogue(`${convWgsl}\n${convQuadWgsl}`), 'forward_quad', { constants: EPILOGUE_CONSTANTS });
const FORWARD_BAND = defineKernel('conv2d-band', withEpilogue(`${convWgsl}\n${convBandWgsl}`), 'forward_band', { constants: EPILOGUE_CONSTANTS });
const FORWARD_ROWS = defineKernel('conv2d-rows', withEpilogue(`${convWgsl}\n${convRowsWgsl}`), 'forward_rows', { constants: EPILOGUE_CONSTANTS });

/**
 * Whether the forward runs with its input rows shared across quads: on SwiftShader (a
 * subgroup is one 4-wide SIMD group) with `subgroups`, vec4 channels, column tiles per
 * group in whole quads (8 channels a tile, so a multiple of 32 output channels per group)
 * and workgroups of whole quads (`wg` a multiple of 4).
 */
export function directQuadApplies(g: ConvGeometry, wg: number): boolean {
  const b = backend();
  return g.cig % 4 === 0 && g.cog % 32 === 0 && wg % 4 === 0 && b.adapter.software && b.device.features.has('subgroups');
}

/** Fewest quads (32 pixels × 32 channels each) the band kernel needs to keep the cores busy; smaller grids run `forward_quad`'s 8 × 8 tiles. */
export const MIN_BAND_QUADS = 8;
/**
 * The band kernel's workgroup size, whatever the tuned `wg` (which still has to be a
 * multiple of 4 for any quad kernel to run): every band conv then shares one pipeline per
 * epilogue. A band pipeline takes ~0.5 s to build on SwiftShader (64 vec4 accumulators),
 * and with `wg`'s per-grid shrinking one small-net training step built three. WG 16 ran
 * as fast as 64 on every shape measured (2×96²×64→128 s2: 104–110 against 105–108 ms).
 */
export const BAND_WG = 16;

/**
 * Whether the forward runs with its weights shared across quads (`forward_band`): as for
 * `forward_quad`, on SwiftShader with `subgroups` and vec4 input channels, and with whole
 * 32-channel bands per group and at least MIN_BAND_QUADS quads. 2.5× fewer loads per
 * multiply-add than `forward_quad`; GPU time against it (ms, same process): 32×28²×16→32
 * s2 17.8 → 9.8–10.4, 32×14²×32→64 s2 19.2 → 9.4–10.3, 2×96²×64→128 s2 182 → 104–110,
 * 1×48²×256→256 s2 g2 87 → 52–58; 1×14²×32→64 s2 (4 quads) 0.62 → 0.80, hence the minimum.
 */
export function directBandApplies(g: ConvGeometry, rows: number, t: Readonly<ConvTuning>): boolean {
  const quads = Math.ceil(rows / 32) * (g.cog / 32);
  return quads * g.groups >= MIN_BAND_QUADS && directQuadApplies(g, t.wg);
}

/** `forward_band`: 8 pixels × 32 channels per invocation, a quad's four lanes on one band. It applies the epilogue (true). */
function dispatchBand(xp: Tensor, w: Tensor, out: Tensor, pg: ConvGeometry, rows: number, epilogue?: ConvEpilogue): true {
  const bands = pg.cog / 32;
  const lanes = Math.ceil(rows / 32) * bands * 4;
  backend().dispatch({
    kernel: FORWARD_BAND,
    bindings: { xv: xp, wv: w, outv: out, epi_bias: epilogueBias(epilogue, w) },
    params: params(pg, { tiles_n: bands }),
    overrides: { WG: BAND_WG, ...epilogueOverrides(epilogue) },
    workgroups: tileGrid(lanes, pg.groups, BAND_WG),
  });
  return true;
}

/** Most taps per filter row `forward_rows` unrolls. */
export const ROWS_MAX_KW = 3;

/**
 * Whether the forward runs along output rows (`forward_rows`): on SwiftShader with
 * `subgroups`, vec4 input channels, output channels per group in whole 8-channel tiles
 * that are not 32-channel bands (those keep the band and quad kernels), stride 1 and
 * dilation 1 (or one tap) along the width, kw ≤ ROWS_MAX_KW, workgroups of whole quads.
 */
export function directRowsApplies(g: ConvGeometry, t: Readonly<ConvTuning>): boolean {
  const b = backend();
  const shape = g.cig % 4 === 0 && g.cog % 8 === 0 && g.cog % 32 !== 0 && g.kw <= ROWS_MAX_KW && g.sw === 1 && (g.dw === 1 || g.kw === 1);
  return shape && rowsGrid(g, t).wg % 4 === 0 && b.adapter.software && b.device.features.has('subgroups');
}

/** Pixels per run of `forward_rows`: an output row in the fewest runs of ≤ 8, evenly (14 → 7 + 7, not 8 + 6). */
export function rowRun(wo: number): number {
  return Math.ceil(wo / Math.ceil(wo / 8));
}

/** `forward_rows`' invocations (whole quads of runs, per 8-channel column tile) and workgroup size. */
function rowsGrid(g: ConvGeometry, t: Readonly<ConvTuning>): { lanes: number; wg: number } {
  const runs = g.n * g.ho * Math.ceil(g.wo / rowRun(g.wo));
  const lanes = Math.ceil(runs / 4) * 4 * (g.cog / 8);
  return { lanes, wg: tileWorkgroupSize(lanes, g.groups, t.wg) };
}

/** `forward_rows`: runs of ≤ 8 pixels × 8 channels per invocation, a quad's four runs sharing the weights. It applies the epilogue (true). */
function dispatchRows(xp: Tensor, w: Tensor, out: Tensor, pg: ConvGeometry, t: Readonly<ConvTuning>, epilogue?: ConvEpilogue): true {
  const { lanes, wg } = rowsGrid(pg, t);
  backend().dispatch({
    kernel: FORWARD_ROWS,
    bindings: { xv: xp, wv: w, outv: out, epi_bias: epilogueBias(epilogue, w) },
    params: params(pg, { tiles_n: pg.cog / 8 }),
    overrides: { WG: wg, TW: rowRun(pg.wo), KW: pg.kw, ...epilogueOverrides(epilogue) },
    workgroups: tileGrid(lanes, pg.groups, wg),
  });
  return true;
}

/** Register tiles of `forward` / `forward_quad`: 8 rows × TN columns. */
function tileColumns(g: ConvGeometry): 4 | 8 {
  return g.cog > 4 ? 8 : 4;
}

function tileCount(g: ConvGeometry, rows: number): number {
  return Math.ceil(rows / 8) * Math.ceil(g.cog / tileColumns(g));
}

/** The direct forward, then `epilogue` (in the band and quad kernels' store; else the activation kernel). */
export function directForward(x: Tensor, w: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>, epilogue?: ConvEpilogue): Tensor {
  const out = empty([g.n, g.ho, g.wo, g.cout]);
  const rows = g.n * g.ho * g.wo;
  if (!out.size) return out;
  const { xp, pg } = paddedForTaps(x, g);
  const fused = directBandApplies(g, rows, t)
    ? dispatchBand(xp, w, out, pg, rows, epilogue)
    : directRowsApplies(g, t)
      ? dispatchRows(xp, w, out, pg, t, epilogue)
      : dispatchTiles(xp, w, out, pg, rows, t, epilogue);
  if (xp !== x) xp.dispose();
  return epilogue && !fused ? applyEpilogue(out, epilogue) : out;
}

/**
 * `forward` (or `forward_quad`): 8 × TN register tiles, TN = 8, or 4 for groups of ≤ 4
 * output channels. Whether it applied `epilogue` (`forward_quad` does, `forward` does not).
 */
function dispatchTiles(xp: Tensor, w: Tensor, out: Tensor, pg: ConvGeometry, rows: number, t: Readonly<ConvTuning>, epilogue?: ConvEpilogue): boolean {
  const tn = tileColumns(pg);
  const vec = pg.cig % 4 === 0 && pg.cog % 4 === 0;
  const tiles = tileCount(pg, rows);
  const wg = tileWorkgroupSize(tiles, pg.groups, t.wg);
  const quad = directQuadApplies(pg, wg);
  backend().dispatch({
    kernel: quad ? FORWARD_QUAD : FORWARD,
    bindings: quad ? { xv: xp, wv: w, out, epi_bias: epilogueBias(epilogue, w) } : { x: xp, xv: xp, wt: w, wv: w, out },
    params: params(pg, { tiles_n: Math.ceil(pg.cog / tn) }),
    overrides: quad ? { WG: wg, ...epilogueOverrides(epilogue) } : { VEC_K: vec ? 1 : 0, TN: tn, WG: wg },
    workgroups: tileGrid(tiles, pg.groups, wg),
  });
  return quad;
}
