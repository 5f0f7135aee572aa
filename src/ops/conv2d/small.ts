/**
 * The small-conv forward (shaders/conv2d-small.wgsl): ungrouped convs with few input
 * channels (stems of 1–4 channels), where the direct implicit GEMM spends its time on a
 * padded copy and on an 8-row tile whose K loop is a handful of taps. Each invocation owns
 * 8 contiguous output channels (two vec4s of weights per tap, two vec4 stores per column;
 * cout a multiple of 4, else the direct path) × PX output columns of one row; the taps
 * are one flat loop (nested loops cost more than their work on SwiftShader), and padding
 * is masked in the loads (no pad_input dispatch). On SwiftShader with `subgroups` and cout
 * a multiple of 16, shaders/conv2d-small-quad.wgsl: 16 channels per invocation, the tap's
 * weights shared by the four lanes of a quad, each tap row's input columns read once.
 * docs/conv.md has the figures against the direct path.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { empty } from '../../tensor/creation.js';
import { defineKernel } from '../../runtime/kernel.js';
import { backend } from '../util.js';
import type { ConvGeometry } from './geometry.js';
import type { ConvTuning } from './tuning.js';
import { EPILOGUE_CONSTANTS, applyEpilogue, epilogueBias, epilogueOverrides, withEpilogue, type ConvEpilogue } from './epilogue.js';
import smallWgsl from '../../../shaders/conv2d-small.wgsl';
import smallQuadWgsl from '../../../shaders/conv2d-small-quad.wgsl';

const FORWARD = defineKernel('conv2d-small', smallWgsl, 'forward');
// conv2d-small-quad.wgsl holds only its entry point (and its output view); it runs on
// conv2d-small.wgsl's declarations, and its store applies the fused epilogue.
const FORWARD_QUAD = defineKernel('conv2d-small-quad', withEpilogue(`${smallWgsl}\n${smallQuadWgsl}`), 'forward_quad', { constants: EPILOGUE_CONSTANTS });

/** Largest filter side the table sends here (taps are override constants: one pipeline per filter size). */
export const SMALL_MAX_TAPS = 7;
/** Most input channels the table sends here: past 4 the direct path's vec4 K loop wins. */
export const SMALL_MAX_CIN = 4;
/** Fewest output channels: an invocation owns 8, so fewer leave most of its work idle. */
export const SMALL_MIN_COUT = 8;
/** Output channels come in vec4s (weights and outputs are read and written four at a time). */
const COUT_MULTIPLE = 4;
/** Output channels per invocation (the shader's register tile). */
const CHANNELS = 8;

/**
 * The table's `small` row: ungrouped, 1..SMALL_MAX_CIN input channels, ≥ SMALL_MIN_COUT
 * output channels, a filter of ≤ SMALL_MAX_TAPS per side, and something to compute.
 */
export function isSmallConv(g: ConvGeometry): boolean {
  return g.groups === 1 && g.cin >= 1 && g.cin <= SMALL_MAX_CIN && g.cout >= SMALL_MIN_COUT &&
    g.cout % COUT_MULTIPLE === 0 && g.kh <= SMALL_MAX_TAPS && g.kw <= SMALL_MAX_TAPS && g.n * g.ho * g.wo > 0;
}

/** Output columns per invocation: 8 on rows wide enough to fill them, else 4. */
export function smallColumns(g: ConvGeometry): 4 | 8 {
  return g.wo >= 8 ? 8 : 4;
}

/** Output channels and columns per invocation of the quad variant. */
const QUAD_CHANNELS = 16;
const QUAD_COLUMNS = 4;

/**
 * Whether the quad-shared variant runs: as the quad GEMM (src/ops/matmul.ts), only on
 * SwiftShader, where a subgroup is one 4-wide SIMD group; with cout in whole 16-channel
 * blocks; at column stride and dilation 1 (a tap row's input columns are read once for
 * all its taps); in workgroups of whole quads (a `wg` tuning that is a multiple of 4).
 * Measured against `forward` (SwiftShader, interleaved, ms, robustness on / off):
 * 32×28²×1→16 2.9–3.1 / 2.7 against 3.5–3.9 / 3.0–3.3; 8×32²×3→32 3.8–3.9 / 3.4 against
 * 4.9–5.3 / 4.5–4.7; 1×28²×1→16 equal. An earlier version at column stride 2 (nano's
 * stem) lost: 1.3 / 1.1–1.2 against 1.2–1.35 / 1.0, so strided convs keep `forward`.
 */
export function smallQuadApplies(g: ConvGeometry, wg: number): boolean {
  const b = backend();
  return g.sw === 1 && g.dw === 1 && g.cout % QUAD_CHANNELS === 0 && wg % 4 === 0 && b.adapter.software && b.device.features.has('subgroups');
}

/** The small-channel forward, then `epilogue` (in the quad variant's store; else the activation kernel). */
export function smallForward(x: Tensor, w: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>, epilogue?: ConvEpilogue): Tensor {
  const out = empty([g.n, g.ho, g.wo, g.cout]);
  const quad = smallQuadApplies(g, t.wg);
  const px = quad ? QUAD_COLUMNS : smallColumns(g);
  const blocks = Math.ceil(g.wo / px);
  const cblocks = Math.ceil(g.cout / (quad ? QUAD_CHANNELS : CHANNELS));
  // The quad variant numbers each channel block's invocations padded to whole quads.
  const perBlock = g.n * g.ho * blocks;
  const invocations = (quad ? Math.ceil(perBlock / 4) * 4 : perBlock) * cblocks;
  backend().dispatch({
    kernel: quad ? FORWARD_QUAD : FORWARD,
    bindings: quad ? { x, wt: w, out16: out, epi_bias: epilogueBias(epilogue, w) } : { x, wt: w, out },
    params: {
      n: g.n, h: g.h, w: g.w, cin: g.cin, ho: g.ho, wo: g.wo, cout: g.cout, cblocks,
      sh: g.sh, sw: g.sw, dh: g.dh, dw: g.dw, pt: g.pt, pl: g.pl, blocks, q: g.cout / COUT_MULTIPLE,
    },
    overrides: quad ? { WG: t.wg, KH: g.kh, KW: g.kw, ...epilogueOverrides(epilogue) } : { WG: t.wg, KH: g.kh, KW: g.kw, PX: px },
    workgroups: Math.ceil(invocations / t.wg),
  });
  return epilogue && !quad ? applyEpilogue(out, epilogue) : out;
}
