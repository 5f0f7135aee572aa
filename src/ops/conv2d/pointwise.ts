/**
 * A pointwise conv (1×1, stride 1, unpadded, ungrouped) is exactly a GEMM over the pixels,
 * so it runs on the GEMM core (src/ops/matmul.ts) without the padded copy and the
 * row-offset walk of the conv kernels: forward x[P, cin]·W[cin, cout], dX dy[P, cout]·Wᵀ,
 * dW xᵀ[cin, P]·dy[P, cout] (the last only where the quad GEMM applies, see
 * `pointwiseDwOnQuad`).
 */
import type { Tensor } from '../../tensor/tensor.js';
import { empty } from '../../tensor/creation.js';
import { gemm, gemmPlan, quadApplies, quadWorkgroups } from '../matmul.js';
import type { ConvGeometry } from './geometry.js';
import { reduceSplits } from './split-k-dw.js';

export function isPointwise(g: ConvGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.groups === 1 && g.ho === g.h && g.wo === g.w && g.n * g.h * g.w > 0;
}

/** Forward (`transposeW` false: a·W) or dX (true: dy·Wᵀ) of a pointwise conv, `a` NHWC. */
export function pointwiseGemm(a: Tensor, w: Tensor, outShape: readonly number[], transposeW: boolean): Tensor {
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

/**
 * Whether a pointwise conv's dW takes the GEMM core: only where its quad kernel applies
 * (software adapters), where it measured ~2× the dW kernel: 70 → 38 ms for 8×32×32×128,
 * 181 → 91 ms for F0's 768-channel 1×1 at 24×24, 10 → 4.8 ms for nano's 64 → 128 head.
 * Elsewhere the dW kernel stays: its split-K keeps a GPU busy when cin·cout is small.
 */
export function pointwiseDwOnQuad(g: ConvGeometry): boolean {
  // The plan of xᵀ[cin, P]·dy[P, cout], as gemmPlan makes it for the views in pointwiseDw.
  return isPointwise(g) && quadApplies({ m: g.cin, n: g.cout, k: g.n * g.h * g.w, batchShape: [], batch: 1, aBatch: 1, bBatch: 1 });
}

/** Workgroups a pointwise dW should keep busy: SwiftShader runs each on one thread, so one alone leaves a core idle. */
const DW_MIN_WORKGROUPS = 4;
/** Fewest pixels one split of the dW's reduction sums: shorter ones cost more in partials than they win. */
const DW_MIN_SPLIT_ROWS = 256;

/**
 * How many equal parts the pixel reduction of a pointwise dW splits into (split-K): 1 when
 * the product already has DW_MIN_WORKGROUPS workgroups, else the fewest of 2, 4, 8 that get
 * there, dividing the pixel count evenly into parts of at least DW_MIN_SPLIT_ROWS. nano's
 * 1×1 dWs are cin×cout = 16…64 × 32…128 over 1,568–6,272 pixels: one quad workgroup each,
 * so one core of two.
 */
export function pointwiseDwSplits(rows: number, cin: number, cout: number): number {
  const workgroups = quadWorkgroups(cin, cout);
  let best = 1;
  for (const s of [2, 4, 8]) {
    if (best * workgroups >= DW_MIN_WORKGROUPS) break;
    if (rows % s === 0 && rows / s >= DW_MIN_SPLIT_ROWS) best = s;
  }
  return best;
}

/**
 * dW = xᵀ[cin, P]·dy[P, cout] of a pointwise conv; where the product is too small to keep
 * the threads busy, as `splits` batched products over equal runs of pixels whose partials
 * are then summed.
 */
export function pointwiseDw(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const rows = g.n * g.h * g.w;
  const splits = pointwiseDwSplits(rows, g.cin, g.cout);
  const xv = x.view([splits, rows / splits, g.cin]);
  const dyv = dy.view([splits, rows / splits, g.cout]);
  const o = { transposeA: true };
  const dw = empty([g.kh, g.kw, g.cig, g.cout]);
  const target = splits === 1 ? dw : empty([splits, g.cin, g.cout]);
  gemm(xv, dyv, target, gemmPlan(xv, dyv, o), o);
  xv.dispose();
  dyv.dispose();
  if (target !== dw) {
    reduceSplits(target, dw, g, splits);
    target.dispose();
  }
  return dw;
}
