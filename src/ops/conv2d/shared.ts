/**
 * What the algorithms on shaders/conv2d.wgsl share: its uniform, the tile grid of its
 * tiled kernels, and the zero-padded copy of the input they read without bounds tests.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { empty } from '../../tensor/creation.js';
import { defineKernel, type Params } from '../../runtime/kernel.js';
import { backend } from '../util.js';
import type { ConvGeometry } from './geometry.js';
import convWgsl from '../../../shaders/conv2d.wgsl';

const PAD_INPUT = defineKernel('conv2d', convWgsl, 'pad_input');
const PAD_INPUT4 = defineKernel('conv2d', convWgsl, 'pad_input4');
const PAD_INPUT16 = defineKernel('conv2d', convWgsl, 'pad_input16');

/** Workgroup size of the helper passes (pad, phase weights, scatter, split reduce, Winograd transforms): the shaders' default WG. */
export const HELPER_WG = 64;

/** The per-dispatch fields of conv2d.wgsl's uniform beyond the geometry. */
export interface Extra {
  tiles_n: number;
  k_chunk?: number;
  size?: number;
  splits?: number;
  tap?: readonly number[];
  phase?: readonly number[];
}

export function params(g: ConvGeometry, extra: Extra): Params {
  return { ...g, k_chunk: 0, size: 0, splits: 1, tap: [0, 0, 0, 0], phase: [0, 0, 0, 0], ...extra };
}

/** Fewest workgroups a tiled dispatch aims for, and the smallest workgroup it will shrink to for them. */
export const MIN_WORKGROUPS = 8;
export const MIN_TILE_WG = 16;

/**
 * Workgroup size for `tiles` invocations per group: the tuned size, halved (down to
 * MIN_TILE_WG) while the grid would have fewer than MIN_WORKGROUPS workgroups in all.
 * SwiftShader runs a workgroup on one thread, so a small grid in one or two big
 * workgroups leaves cores idle: the small net's last conv at batch 1 (56 tiles) ran as one
 * workgroup of 64. Big grids keep the tuned size (and its pipeline).
 */
export function tileWorkgroupSize(tiles: number, groups: number, wg: number): number {
  let size = wg;
  while (size > MIN_TILE_WG && Math.ceil(tiles / size) * groups < MIN_WORKGROUPS) size = Math.floor(size / 2);
  return size;
}

/** [x, groups, z] covering `tiles` invocations per group in workgroups of `wg`; z folds x past the per-dimension limit. */
export function tileGrid(tiles: number, groups: number, wg: number): [number, number, number] {
  const wgs = Math.ceil(tiles / wg);
  const max = backend().maxWorkgroupsPerDim;
  const z = Math.max(1, Math.ceil(wgs / max));
  return [Math.ceil(wgs / z), groups, z];
}

/** Zero-padded (negative pt / pl: cropped) copy of x, read unmasked by the kernels; x itself when there is nothing to do. */
export function padInput(x: Tensor, g: ConvGeometry, pb: number, pr: number): Tensor {
  if (!g.pt && !g.pl && !pb && !pr) return x;
  const hp = g.h + g.pt + pb;
  const wp = g.w + g.pl + pr;
  const out = empty([g.n, hp, wp, g.cin]);
  // Channels per storage access: 16 (mat4x4), 4 (vec4) or 1.
  const width = g.cin % 16 === 0 ? 16 : g.cin % 4 === 0 ? 4 : 1;
  backend().dispatch({
    kernel: width === 16 ? PAD_INPUT16 : width === 4 ? PAD_INPUT4 : PAD_INPUT,
    bindings: width === 16 ? { xm: x, outm: out } : width === 4 ? { xv: x, outv: out } : { x, out },
    // Source sizes travel in the spare k_chunk / size slots.
    params: params({ ...g, h: hp, w: wp }, { tiles_n: 0, k_chunk: g.h, size: g.w }),
    workgroups: Math.ceil(out.size / width / HELPER_WG),
  });
  return out;
}

/**
 * x zero-padded by exactly what the taps reach (padding past the last tap is never read),
 * and the geometry as seen on that padded input (pt = pl = 0).
 */
export function paddedForTaps(x: Tensor, g: ConvGeometry): { xp: Tensor; pg: ConvGeometry } {
  const pb = Math.max(0, (g.ho - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.h - g.pt);
  const pr = Math.max(0, (g.wo - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.w - g.pl);
  return { xp: padInput(x, g, pb, pr), pg: { ...g, h: g.h + g.pt + pb, w: g.w + g.pl + pr, pt: 0, pl: 0 } };
}
