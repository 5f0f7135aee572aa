/**
 * Which algorithm runs when: one table per pass, read top to bottom, the first row whose
 * `when` holds runs (the last row of each takes everything). docs/conv.md has the same
 * table with the figures behind it.
 *
 * | pass    | row            | when                                               |
 * |---------|----------------|----------------------------------------------------|
 * | forward | empty          | no input channels: zeros                           |
 * |         | depthwise      | groups = channels, one channel per group           |
 * |         | shared-tiles   | tiles 'shared' (auto: hardware), not Winograd's or |
 * |         |                | the pointwise GEMM's                               |
 * |         | small          | ungrouped, 1–4 input, ≥ 8 output channels, ≤ 7×7   |
 * |         | winograd       | 3×3, stride 1, dilation 1, ≥ winogradMinChannels   |
 * |         | pointwise-gemm | 1×1, stride 1, unpadded, ungrouped                 |
 * |         | direct         | everything else                                    |
 * | dX      | empty          | no batch, input or output channels: zeros          |
 * |         | depthwise      | as the forward                                     |
 * |         | pointwise-gemm | 1×1, stride 1, unpadded, ungrouped                 |
 * |         | stride-phase   | everything else; each phase's conv runs the forward table |
 * | dW      | empty          | no batch, weight rows or output channels: zeros    |
 * |         | depthwise      | as the forward                                     |
 * |         | winograd       | as the forward                                     |
 * |         | pointwise-gemm | pointwise, where the quad GEMM applies (software)  |
 * |         | split-k        | everything else                                    |
 *
 * Every row is exact (float32 rounding aside); the order is a speed choice, and the
 * thresholds are in the `ConvTuning` the op passes down.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { zeros } from '../../tensor/creation.js';
import type { ConvGeometry } from './geometry.js';
import { depthwiseDw, depthwiseDx, depthwiseForward, isDepthwise } from './depthwise.js';
import { directForward } from './direct.js';
import { isSmallConv, smallForward } from './small.js';
import { isPointwise, pointwiseDw, pointwiseDwOnQuad, pointwiseGemm } from './pointwise.js';
import { sharedTilesForward, usesSharedTiles } from './shared-tiles.js';
import { splitKDw } from './split-k-dw.js';
import { stridePhaseDx } from './stride-phase-dx.js';
import type { ConvTuning } from './tuning.js';
import { usesWinograd, winogradDw, winogradForward } from './winograd.js';

export type ConvPass = 'forward' | 'dx' | 'dw';

/** forward (x, w), dX (dy, w), dW (x, dy) of the conv of geometry g. */
export type ConvAlgorithmRun = (a: Tensor, b: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>) => Tensor;

export interface ConvAlgorithm {
  readonly name: string;
  readonly when: (g: ConvGeometry, t: Readonly<ConvTuning>) => boolean;
  readonly run: ConvAlgorithmRun;
}

const always = () => true;

export const CONV_ALGORITHMS: Readonly<Record<ConvPass, readonly ConvAlgorithm[]>> = {
  forward: [
    { name: 'empty', when: (g) => !g.cig, run: (_x, _w, g) => zeros([g.n, g.ho, g.wo, g.cout]) },
    // Depthwise (groups = channels, multiplier 1; depthwise.ts): vec4 channel quads × 4
    // columns against the grouped direct path's 1-live-column tiles. N = 8 (ms, grouped →
    // depthwise): 56²×24 k3 166 → 46, 28²×144 k3 s2 253 → 89, 14²×480 k5 1852 → 217,
    // 7²×1152 k5 2956 → 237, 14²×16 k3 76 → 23 (2.8–12.5×; a second run 1.7–10.3×).
    { name: 'depthwise', when: isDepthwise, run: depthwiseForward },
    // Hardware GPUs (tuning.tiles 'auto' there, or asked for): the implicit GEMM with
    // workgroup-shared 64 × 64 blocks, padding in the loads; the rows below are the
    // register-tiled style that wins on SwiftShader, where this kernel loses (2×16²×32→32
    // 3×3 s2: 2.7–2.9 → 27–37 ms wall, ~10×), hence 'auto' = register there. Winograd and
    // pointwise convs keep their rows: their GEMMs take the GEMM core's shared kernel on
    // hardware. Real-GPU speed is unmeasured.
    { name: 'shared-tiles', when: usesSharedTiles, run: (x, w, g) => sharedTilesForward(x, w, g) },
    // Few input channels (stems): an 8-channel × 8-column register tile with the taps'
    // columns slid, padding masked in the loads (no pad_input pass). GPU time against the
    // direct path (ms, same run): 32×28²×1→16 3×3 23.0 → 20.0 (1.15×), 32×28²×3→16 38.3
    // → 31.1 (1.23×), 32×28²×4→16 68.1 → 49.6 (1.37×); 1×28²×1→16 wall 1.74 → 1.37 (the
    // pad dispatch saved). Past 4 input channels the direct path's vec4 K loop wins
    // (1×14²×32→64 s2: 0.28×), and below 8 output channels most of a tile idles (32×28²×2→5: 0.49×).
    { name: 'small', when: isSmallConv, run: smallForward },
    // F(4×4, 3×3): 2.25 multiply-adds per output and channel pair against the direct
    // conv's 9; conv3x3 8×32×32×128 367–453 ms on F(2×2) → 225–243 ms on F(4×4), and
    // F(2×2) was already 2.0–2.1× the direct conv. Nano's 8-channel groups gained
    // nothing, hence winogradMinChannels = 16 (docs/kernels-gemm.md).
    { name: 'winograd', when: usesWinograd, run: (x, w, g, t) => winogradForward(x, w, g, t) },
    // A plain GEMM skips the padded copy and the row-offset walk, and gets the GEMM
    // core's kernels (conv1x1 8×32×32×128: 83 → 57 ms when the quad kernel came).
    { name: 'pointwise-gemm', when: isPointwise, run: (x, w, g) => pointwiseGemm(x, w, [g.n, g.ho, g.wo, g.cout], false) },
    { name: 'direct', when: always, run: directForward },
  ],
  dx: [
    { name: 'empty', when: (g) => !g.n || !g.cin || !g.cout, run: (_dy, _w, g) => zeros([g.n, g.h, g.w, g.cin]) },
    // Depthwise: the transposed taps gathered per stride phase in one kernel (no phase
    // weights, no scatter): 167 → 41, 162 → 38, 2186 → 264, 3218 → 363, 7.4 → 2.3 ms on
    // the forward's shapes (3.2–8.9×; a second run 2.9–8.0×).
    { name: 'depthwise', when: isDepthwise, run: depthwiseDx },
    // dy·Wᵀ on the GEMM core (conv1x1 dX: 85 → 54 ms when the quad kernel came).
    { name: 'pointwise-gemm', when: isPointwise, run: (dy, w, g) => pointwiseGemm(dy, w, [g.n, g.h, g.w, g.cin], true) },
    // sh·sw forward convs of dy, no work on stride holes. At stride 1 one phase: a 3×3
    // conv Winograd takes runs Winograd on the flipped filters (F(4×4) reads them in place,
    // ~18 of ~120 ms saved on the F0 grouped shape).
    { name: 'stride-phase', when: always, run: (dy, w, g, t) => stridePhaseDx(dy, w, g, t, convForward) },
  ],
  dw: [
    { name: 'empty', when: (g) => !g.n || !g.cig || !g.cout, run: (_x, _dy, g) => zeros([g.kh, g.kw, g.cig, g.cout]) },
    // Depthwise: a sliding window of one filter row per (row, channel quad), the pixel
    // sum split-K: 149 → 25, 61 → 16, 472 → 105, 2123 → 494, 7.5 → 1.7 ms (3.9–5.9×;
    // a second run 2.1–5.3×).
    { name: 'depthwise', when: isDepthwise, run: depthwiseDw },
    // The exact gradient of the Winograd forward: conv3x3 dW 292–380 ms (F(2×2)) →
    // 185–187 ms (F(4×4)).
    { name: 'winograd', when: usesWinograd, run: winogradDw },
    // xᵀ·dy on the quad GEMM, ~2× the dW kernel: 8×32×32×128 70 → 38 ms, F0's 768-channel
    // 1×1 at 24×24 181 → 91 ms. On GPUs the split-K kernel stays (it keeps them busy).
    { name: 'pointwise-gemm', when: pointwiseDwOnQuad, run: pointwiseDw },
    { name: 'split-k', when: always, run: splitKDw },
  ],
};

/** The row of `pass` that runs geometry g under tuning t. */
export function convAlgorithm(pass: ConvPass, g: ConvGeometry, t: Readonly<ConvTuning>): ConvAlgorithm {
  // The last row of every pass takes everything, so find() always finds.
  return CONV_ALGORITHMS[pass].find((a) => a.when(g, t))!;
}

export function convForward(x: Tensor, w: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>): Tensor {
  return convAlgorithm('forward', g, t).run(x, w, g, t);
}

export function convDx(dy: Tensor, w: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>): Tensor {
  return convAlgorithm('dx', g, t).run(dy, w, g, t);
}

export function convDw(x: Tensor, dy: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>): Tensor {
  return convAlgorithm('dw', g, t).run(x, dy, g, t);
}
