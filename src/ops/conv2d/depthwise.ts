/**
 * Depthwise convs (groups = channels, channel multiplier 1: w [kh, kw, 1, c]), the
 * workhorse of MBConv blocks, on their own kernels (shaders/conv2d-depthwise.wgsl) for
 * forward, dX and dW. The general grouped path runs them as c GEMMs of one column each,
 * in 4-wide column tiles of which one column is live, on a padded copy of the input; here
 * an invocation owns a quad of channels (vec4 lanes: NHWC keeps them contiguous, and each
 * lane is its own conv) and reads taps through the padding with bounds checks:
 *   forward: 4 output columns × 4 channels per invocation, k×k taps;
 *   dX: the transposed taps gathered for 4 columns of one stride phase, so every column
 *       meets the same taps and stride holes cost nothing, in one kernel (no scatter);
 *   dW: for filters 3 or 5 wide, undilated (EfficientNet's), one filter row per
 *       invocation with its taps' input columns in a sliding register window (dw_rows);
 *       other filters one tap per invocation (dw). The pixel sum is split so that about
 *       `dwTargetThreads` threads run, partials summed by the split-K dW's reduce pass.
 * docs/conv.md has the figures against the grouped path.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { empty } from '../../tensor/creation.js';
import { defineKernel, type Params } from '../../runtime/kernel.js';
import { backend } from '../util.js';
import type { ConvGeometry } from './geometry.js';
import { DW_MIN_CHUNK, reduceSplits } from './split-k-dw.js';
import type { ConvTuning } from './tuning.js';
import depthwiseWgsl from '../../../shaders/conv2d-depthwise.wgsl';

const FORWARD = defineKernel('conv2d-depthwise', depthwiseWgsl, 'forward');
const DX = defineKernel('conv2d-depthwise', depthwiseWgsl, 'dx');
const DW = defineKernel('conv2d-depthwise', depthwiseWgsl, 'dw');
const DW_ROWS = defineKernel('conv2d-depthwise', depthwiseWgsl, 'dw_rows');

/** Output columns per forward / dx invocation: the kernels' four named accumulators. */
const COLUMNS = 4;

/** A depthwise conv: one input and one output channel per group, and something to compute. */
export function isDepthwise(g: ConvGeometry): boolean {
  return g.cig === 1 && g.cog === 1 && g.groups === g.cin && g.n * g.ho * g.wo > 0;
}

/** Whether dW runs dw_rows (a sliding window of one filter row): undilated filters 3 or 5 taps wide. */
export function slidesWindow(g: ConvGeometry): boolean {
  return (g.kw === 3 || g.kw === 5) && g.dh === 1 && g.dw === 1;
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

function depthwiseParams(g: ConvGeometry, blocks: number, kChunk = 0, splits = 1): Params {
  return {
    n: g.n, h: g.h, w: g.w, c: g.cin, ho: g.ho, wo: g.wo, kh: g.kh, kw: g.kw,
    sh: g.sh, sw: g.sw, dh: g.dh, dw: g.dw, pt: g.pt, pl: g.pl,
    c4: Math.ceil(g.cin / 4), blocks, k_chunk: kChunk, splits,
    step_y: g.sh / gcd(g.sh, g.dh), step_x: g.sw / gcd(g.sw, g.dw),
  };
}

/** One dispatch of `invocations` threads; forward / dx bind (a, w) as x and wt, dw binds (x, dy). */
function dispatch(kernel: typeof FORWARD, bindings: Record<string, Tensor>, p: Params, invocations: number, t: Readonly<ConvTuning>, g: ConvGeometry, overrides: Record<string, number> = {}): void {
  backend().dispatch({
    kernel,
    bindings,
    params: p,
    overrides: { VEC: g.cin % 4 === 0 ? 1 : 0, WG: t.wg, ...overrides },
    workgroups: Math.ceil(invocations / t.wg),
  });
}

export function depthwiseForward(x: Tensor, w: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>): Tensor {
  const out = empty([g.n, g.ho, g.wo, g.cout]);
  const blocks = Math.ceil(g.wo / COLUMNS);
  dispatch(FORWARD, { x, xv: x, wt: w, wv: w, out }, depthwiseParams(g, blocks), g.n * g.ho * blocks * Math.ceil(g.cin / 4), t, g);
  return out;
}

export function depthwiseDx(dy: Tensor, w: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>): Tensor {
  const dx = empty([g.n, g.h, g.w, g.cin]);
  // sw phases of ceil(w / sw) columns each (the first phase is the longest), 4 per invocation.
  const blocks = g.sw * Math.ceil(Math.ceil(g.w / g.sw) / COLUMNS);
  dispatch(DX, { x: dy, xv: dy, wt: w, wv: w, out: dx }, depthwiseParams(g, blocks), g.n * g.h * blocks * Math.ceil(g.cin / 4), t, g);
  return dx;
}

/** Splits of dW's reduction over the n·ho output rows: ~`dwTargetThreads` threads, each split ≥ DW_MIN_CHUNK pixels. */
export function depthwiseDwSplits(g: ConvGeometry, t: Readonly<ConvTuning>): number {
  const threads = (slidesWindow(g) ? g.kh : g.kh * g.kw) * Math.ceil(g.cin / 4);
  const outRows = g.n * g.ho;
  const minRows = Math.max(1, Math.ceil(DW_MIN_CHUNK / g.wo));
  return Math.max(1, Math.min(Math.ceil(t.dwTargetThreads / threads), Math.floor(outRows / minRows)));
}

export function depthwiseDw(x: Tensor, dy: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>): Tensor {
  const dw = empty([g.kh, g.kw, 1, g.cout]);
  const outRows = g.n * g.ho;
  const chunk = Math.ceil(outRows / depthwiseDwSplits(g, t));
  const zs = Math.ceil(outRows / chunk);
  const target = zs === 1 ? dw : empty([zs, dw.size]);
  const rows = slidesWindow(g);
  const invocations = (rows ? g.kh : g.kh * g.kw) * Math.ceil(g.cin / 4) * zs;
  dispatch(rows ? DW_ROWS : DW, { x, xv: x, dy, dyv: dy, out: target }, depthwiseParams(g, 0, chunk, zs), invocations, t, g, rows ? { KW5: g.kw === 5 ? 1 : 0 } : {});
  if (target !== dw) {
    reduceSplits(target, dw, g, zs);
    target.dispose();
  }
  return dw;
}
