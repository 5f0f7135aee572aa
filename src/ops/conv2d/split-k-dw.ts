/**
 * The direct dW: a GEMM over weight taps (kh·kw·cig rows) × output channels per group,
 * reduced over every output pixel (shaders/conv2d.wgsl). 8×TN register tiles
 * (`dw_tiled`) where both channel counts per group are multiples of 4, else a masked 4×4
 * kernel (`dw`). When the weight is too small to keep enough threads busy, the pixel
 * reduction is split across workgroups (split-K) and the partials summed in a second pass.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { empty } from '../../tensor/creation.js';
import { defineKernel } from '../../runtime/kernel.js';
import { backend } from '../util.js';
import type { ConvGeometry } from './geometry.js';
import { HELPER_WG, paddedForTaps, params } from './shared.js';
import type { ConvTuning } from './tuning.js';
import convWgsl from '../../../shaders/conv2d.wgsl';

const DW = defineKernel('conv2d', convWgsl, 'dw');
const DW_TILED = defineKernel('conv2d', convWgsl, 'dw_tiled');
const REDUCE_SPLITS = defineKernel('conv2d', convWgsl, 'reduce_splits');

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

export function splitKDw(x: Tensor, dy: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>): Tensor {
  const rows = g.kh * g.kw * g.cig;
  const dw = empty([g.kh, g.kw, g.cig, g.cout]);
  // The 8×TN tile needs vec4-aligned channel blocks; other shapes take the 4×4 masked kernel.
  const tiled = g.cig % 4 === 0 && g.cog % 4 === 0;
  const tn = g.cog > 4 ? 8 : 4;
  const [tr, tc] = tiled ? [8, tn] : [4, 4];
  const outRows = g.n * g.ho;
  const chunk = Math.ceil(outRows / dwSplits(g, tr, tc, t));
  const zs = Math.ceil(outRows / chunk);
  const target = zs === 1 ? dw : empty([zs, dw.size]);
  const grid: [number, number, number] = [Math.ceil((Math.ceil(rows / tr) * Math.ceil(g.cog / tc)) / t.wg), g.groups, zs];
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
  if (target !== dw) {
    reduceSplits(target, dw, g, zs);
    target.dispose();
  }
  return dw;
}
