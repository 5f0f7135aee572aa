/**
 * The direct forward: an implicit GEMM over output pixels × output channels per group
 * (shaders/conv2d.wgsl `forward`). Each invocation computes an 8×TN register tile (TN = 8,
 * or 4 for groups of ≤ 4 output channels) on a zero-padded copy of x (one cheap pass),
 * so the inner loop has no bounds tests; vec4 loads when both channel counts per group
 * are multiples of 4. It serves every geometry, and is what dX's stride phases run.
 * On SwiftShader with `subgroups`, groups of a multiple of 32 output channels run
 * `forward_quad` (shaders/conv2d-quad.wgsl): the four lanes of a quad share the loads of
 * their common input rows.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { empty } from '../../tensor/creation.js';
import { defineKernel } from '../../runtime/kernel.js';
import { backend } from '../util.js';
import type { ConvGeometry } from './geometry.js';
import { paddedForTaps, params, tileGrid, tileWorkgroupSize } from './shared.js';
import type { ConvTuning } from './tuning.js';
import convWgsl from '../../../shaders/conv2d.wgsl';
import convQuadWgsl from '../../../shaders/conv2d-quad.wgsl';

const FORWARD = defineKernel('conv2d', convWgsl, 'forward');
// conv2d-quad.wgsl holds only its entry point; it runs on conv2d.wgsl's declarations.
const FORWARD_QUAD = defineKernel('conv2d-quad', `${convWgsl}\n${convQuadWgsl}`, 'forward_quad');

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

export function directForward(x: Tensor, w: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>): Tensor {
  const out = empty([g.n, g.ho, g.wo, g.cout]);
  const rows = g.n * g.ho * g.wo;
  if (!out.size) return out;
  const { xp, pg } = paddedForTaps(x, g);
  const tn = g.cog > 4 ? 8 : 4;
  const vec = g.cig % 4 === 0 && g.cog % 4 === 0;
  const tiles = Math.ceil(rows / 8) * Math.ceil(g.cog / tn);
  const wg = tileWorkgroupSize(tiles, g.groups, t.wg);
  const quad = directQuadApplies(g, wg);
  backend().dispatch({
    kernel: quad ? FORWARD_QUAD : FORWARD,
    bindings: quad ? { xv: xp, wv: w, out } : { x: xp, xv: xp, wt: w, wv: w, out },
    params: params(pg, { tiles_n: Math.ceil(g.cog / tn) }),
    overrides: quad ? { WG: wg } : { VEC_K: vec ? 1 : 0, TN: tn, WG: wg },
    workgroups: tileGrid(tiles, g.groups, wg),
  });
  if (xp !== x) xp.dispose();
  return out;
}
