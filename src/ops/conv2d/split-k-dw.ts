/**
 * The direct dW: a GEMM over weight taps (kh·kw·cig rows) × output channels per group,
 * reduced over every output pixel (shaders/conv2d.wgsl). 8×TN register tiles
 * (`dw_tiled`) where both channel counts per group are multiples of 4, else a masked 4×4
 * kernel (`dw`). When the weight is too small to keep enough threads busy, the pixel
 * reduction is split across workgroups (split-K) and the partials summed in a second pass.
 * On a software adapter the small filters of narrow groups (nano's 3×3s of 8 channels) run
 * `dw_taps` (shaders/conv2d-dw-taps.wgsl): a lane owns the whole filter for a few output
 * rows, so each dy load serves every tap.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { empty } from '../../tensor/creation.js';
import { defineKernel } from '../../runtime/kernel.js';
import { backend } from '../util.js';
import type { ConvGeometry } from './geometry.js';
import { HELPER_WG, paddedForTaps, params, tileWorkgroupSize } from './shared.js';
import type { ConvTuning } from './tuning.js';
import convWgsl from '../../../shaders/conv2d.wgsl';
import dwTapsWgsl from '../../../shaders/conv2d-dw-taps.wgsl';

const DW = defineKernel('conv2d', convWgsl, 'dw');
const DW_TILED = defineKernel('conv2d', convWgsl, 'dw_tiled');
const REDUCE_SPLITS = defineKernel('conv2d', convWgsl, 'reduce_splits');
const DW_TAPS = defineKernel('conv2d-dw-taps', `${convWgsl}\n${dwTapsWgsl}`, 'dw_taps');

/** Fewest output pixels one split reduces: smaller chunks cost more in partials than they win in threads. */
export const DW_MIN_CHUNK = 256;

/**
 * How many ways to split dW's reduction (over output rows) so that about
 * `t.dwTargetThreads` threads run, each split reducing at least DW_MIN_CHUNK pixels.
 */
export function dwSplits(g: ConvGeometry, tileRows: number, tileCols: number, t: Readonly<ConvTuning>): number {
  const threads = Math.ceil((g.kh * g.kw * g.cig) / tileRows) * Math.ceil(g.cog / tileCols) * g.groups;
  const outRows = g.n * g.ho;
  const minRows = Math.max(1, Math.ceil(DW_MIN_CHUNK / g.wo));
  const want = Math.ceil(t.dwTargetThreads / threads);
  return Math.max(1, Math.min(want, Math.floor(outRows / minRows), backend().maxWorkgroupsPerDim));
}

/** Sum split partials [zs, size] into dw (the second pass of a split-K dW; the depthwise dW's too). */
export function reduceSplits(part: Tensor, dw: Tensor, g: ConvGeometry, zs: number): void {
  backend().dispatch({
    kernel: REDUCE_SPLITS,
    bindings: { part, out: dw },
    params: params(g, { tiles_n: 0, size: dw.size, splits: zs }),
    workgroups: Math.ceil(dw.size / HELPER_WG),
  });
}

/** Largest filter side and input channels per group `dw_taps` keeps whole in one lane. */
export const DW_TAPS_MAX = { kernel: 3, channels: 8 } as const;
/** Fewest output pixels a `dw_taps` lane sums: fewer make more partial copies of dW than they save. */
export const DW_TAPS_MIN_CHUNK = 128;

/**
 * Whether dW runs with a lane owning the whole filter (`dw_taps`): on a software adapter
 * (where its saving, loads, is the cost), kh, kw ≤ 3, 1, 4 or 8 input channels per group,
 * output channels per group in tiles of 8, stride 1 or 2 and dilation 1 (or one tap) along
 * the width: nano's and the small variants' grouped 3×3s, and their 1-channel stems.
 */
export function dwTapsApplies(g: ConvGeometry): boolean {
  const small = g.kh <= DW_TAPS_MAX.kernel && g.kw <= DW_TAPS_MAX.kernel && [1, 4, DW_TAPS_MAX.channels].includes(g.cig);
  return small && g.cog % 8 === 0 && (g.sw === 1 || g.sw === 2) && (g.dw === 1 || g.kw === 1) && backend().adapter.software;
}

/** `dw_taps`' output rows per lane (its split) and its launch: lanes per group over (chunk, 8-channel column tile). */
type DwTapsPlan = { chunk: number; lanes: number; wg: number; overrides: Record<string, number> };

function dwTapsPlan(g: ConvGeometry, t: Readonly<ConvTuning>): DwTapsPlan {
  const outRows = g.n * g.ho;
  const chunk = Math.min(outRows, Math.max(1, Math.ceil(DW_TAPS_MIN_CHUNK / g.wo)));
  const lanes = Math.ceil(outRows / chunk) * (g.cog / 8);
  const wg = tileWorkgroupSize(lanes, g.groups, t.wg);
  return { chunk, lanes, wg, overrides: { KH: g.kh, KW: g.kw, CB: Math.max(1, g.cig / 4), SW: g.sw, ONE_CHANNEL: g.cig === 1 ? 1 : 0, WG: wg } };
}

/**
 * dW with the pixel sum split into chunks of `chunk` output rows: one partial copy of dW
 * per chunk (split z), summed by reduce_splits; one chunk writes dW directly.
 */
function chunkedDw(g: ConvGeometry, chunk: number, run: (target: Tensor, splits: number) => void): Tensor {
  const dw = empty([g.kh, g.kw, g.cig, g.cout]);
  const splits = Math.ceil((g.n * g.ho) / chunk);
  const target = splits === 1 ? dw : empty([splits, dw.size]);
  run(target, splits);
  if (target !== dw) {
    reduceSplits(target, dw, g, splits);
    target.dispose();
  }
  return dw;
}

/** `dw_taps`: each lane the whole filter × 8 output channels for one chunk of output rows. */
export function dwTaps(x: Tensor, dy: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>, p = dwTapsPlan(g, t)): Tensor {
  return chunkedDw(g, p.chunk, (target) => {
    const { xp, pg } = paddedForTaps(x, g);
    backend().dispatch({
      kernel: DW_TAPS,
      bindings: { x: xp, xv: xp, dyv: dy, outv: target },
      params: params(pg, { tiles_n: g.cog / 8, k_chunk: p.chunk }),
      overrides: p.overrides,
      workgroups: [Math.ceil(p.lanes / p.wg), g.groups, 1],
    });
    if (xp !== x) xp.dispose();
  });
}

/**
 * `dw_tiled` (8 weight rows × TN columns per lane) or, for channel counts that are not
 * multiples of 4, the masked 4×4 `dw`, over chunks of `chunk` output rows.
 */
export function tiledDw(x: Tensor, dy: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>, chunk: number): Tensor {
  const rows = g.kh * g.kw * g.cig;
  const { tiled, tn, tr, tc } = dwTile(g);
  return chunkedDw(g, chunk, (target, splits) => {
    const grid: [number, number, number] = [Math.ceil((Math.ceil(rows / tr) * Math.ceil(g.cog / tc)) / t.wg), g.groups, splits];
    if (tiled) {
      const { xp, pg } = paddedForTaps(x, g);
      backend().dispatch({
        kernel: DW_TILED,
        bindings: { xv: xp, dyv: dy, out: target },
        params: params(pg, { tiles_n: Math.ceil(g.cog / tn), k_chunk: chunk }),
        overrides: { TN: tn, WG: t.wg },
        workgroups: grid,
      });
      if (xp !== x) xp.dispose();
    } else {
      backend().dispatch({
        kernel: DW,
        bindings: { x, dy, out: target },
        params: params(g, { tiles_n: Math.ceil(g.cog / 4), k_chunk: chunk }),
        overrides: { VEC_K: g.cig % 4 === 0 ? 1 : 0, WG: t.wg },
        workgroups: grid,
      });
    }
  });
}

export function splitKDw(x: Tensor, dy: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>): Tensor {
  if (dwTapsApplies(g)) {
    // dw_taps' pipeline takes ~0.7 s to build on SwiftShader; until it is ready dw_tiled
    // stands in on the same chunks, which sums every weight in the same order: the same bits.
    const p = dwTapsPlan(g, t);
    return backend().readyOrBuildInBackground(DW_TAPS, p.overrides) ? dwTaps(x, dy, g, t, p) : tiledDw(x, dy, g, t, p.chunk);
  }
  const { tr, tc } = dwTile(g);
  return tiledDw(x, dy, g, t, Math.ceil((g.n * g.ho) / dwSplits(g, tr, tc, t)));
}

/**
 * The tile of `tiledDw`'s kernel: `dw_tiled`'s 8 weight rows × TN columns (TN 8, or 4 for
 * groups of ≤ 4 output channels) needs vec4-aligned channel blocks; other shapes take the
 * masked 4×4 `dw`.
 */
function dwTile(g: ConvGeometry): { tiled: boolean; tn: number; tr: number; tc: number } {
  const tiled = g.cig % 4 === 0 && g.cog % 4 === 0;
  const tn = g.cog > 4 ? 8 : 4;
  return tiled ? { tiled, tn, tr: 8, tc: tn } : { tiled, tn, tr: 4, tc: 4 };
}
