/**
 * The forward with workgroup-shared tiles (shaders/conv2d-shared.wgsl), for hardware GPUs:
 * an implicit GEMM per group whose workgroups gather a 64-pixel × 16-tap block of the
 * im2col matrix straight from the NHWC input into workgroup memory (padding, stride and
 * dilation resolved in the loads: no padded copy) and copy the matching 16 × 64 block of
 * the HWIO weights beside it; each invocation accumulates a 4 × 4 register tile of the
 * 64 × 64 output block. Any geometry, grouped included. The table sends work here when
 * `tuning.tiles` resolves to 'shared' (by default: on a hardware adapter), except the
 * convs that Winograd or the pointwise GEMM take (those already run on the GEMM core,
 * whose own `tiles` picks its shared kernel on hardware). dX's stride phases run the
 * forward table, so they take it too; dW stays on its split-K kernel.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { empty, zeros } from '../../tensor/creation.js';
import { defineKernel } from '../../runtime/kernel.js';
import { LimitError } from '../../runtime/errors.js';
import { backend } from '../util.js';
import type { ConvGeometry } from './geometry.js';
import { isPointwise } from './pointwise.js';
import { convTiles, type ConvTuning } from './tuning.js';
import { usesWinograd } from './winograd.js';
import sharedWgsl from '../../../shaders/conv2d-shared.wgsl';

const FORWARD = defineKernel('conv2d-shared', sharedWgsl, 'forward');

/** Output pixels × channels of one workgroup's block (the shader's BM × BN). */
const BLOCK = { m: 64, n: 64 } as const;

/** The table's `shared-tiles` row: shared tiles asked for (or 'auto' on hardware), and neither Winograd nor the pointwise GEMM takes the conv. */
export function usesSharedTiles(g: ConvGeometry, t: Readonly<ConvTuning>): boolean {
  return g.n * g.ho * g.wo > 0 && g.cog > 0 && !usesWinograd(g, t) && !isPointwise(g) && convTiles(t) === 'shared';
}

export function sharedTilesForward(x: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const m = g.n * g.ho * g.wo;
  // No input pixels (h or w 0 with padding) or no reduction: every output is an empty sum.
  if (!m || !g.cog) return empty([g.n, g.ho, g.wo, g.cout]);
  if (!x.size || !g.cig) return zeros([g.n, g.ho, g.wo, g.cout]);
  const out = empty([g.n, g.ho, g.wo, g.cout]);
  const blocksN = Math.ceil(g.cog / BLOCK.n);
  const blocks = Math.ceil(m / BLOCK.m) * blocksN;
  // Blocks fold over x·y (the shader numbers them x + y·nx); z is the group (≤ the limit: checkConvGrids).
  const limit = backend().maxWorkgroupsPerDim;
  const y = Math.ceil(blocks / limit);
  if (y > limit) throw new LimitError(`conv2d: ${blocks} blocks of ${BLOCK.m} × ${BLOCK.n} outputs exceed ${limit}² workgroups; use tuning.tiles 'register'`);
  const k = g.kh * g.kw * g.cig;
  backend().dispatch({
    kernel: FORWARD,
    bindings: { x, wt: w, out },
    params: {
      n: g.n, h: g.h, w: g.w, cin: g.cin, ho: g.ho, wo: g.wo, cout: g.cout, groups: g.groups,
      cig: g.cig, cog: g.cog, kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, dh: g.dh, dw: g.dw,
      pt: g.pt, pl: g.pl, m, k, blocks_n: blocksN, blocks,
    },
    workgroups: [Math.ceil(blocks / y), y, g.groups],
  });
  return out;
}
