/**
 * Patchify, the layout step of a ViT patch embedding: NHWC x [N, H, W, C] →
 * [N, (H/p)·(W/p), p·p·C], patches row by row, each in (py, px, c) order, so that
 * `matmul(patchify(x, p), w.reshape([p·p·C, D]))` with an HWIO weight [p, p, C, D] is the
 * p×p stride-p conv. One gather kernel each way (shaders/patchify.wgsl).
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensor, type Tensor } from '../tensor/tensor.js';
import { checkNumber } from '../runtime/validate.js';
import { empty } from '../tensor/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { ShapeError, describeShape } from '../runtime/errors.js';
import { assertF32, backend, linearGroups } from './util.js';
import patchifyWgsl from '../../shaders/patchify.wgsl';

const PATCHIFY = defineKernel('patchify', patchifyWgsl, 'patchify');
const UNPATCHIFY = defineKernel('patchify', patchifyWgsl, 'unpatchify');

/** Map src → dst (patchify) or back (unpatchify) for an image of shape `image`. */
function run(kernel: typeof PATCHIFY, src: Tensor, outShape: readonly number[], image: readonly number[], p: number): Tensor {
  const out = empty(outShape);
  if (!out.size) return out;
  const [, h, w, c] = image as [number, number, number, number];
  backend().dispatch({
    kernel,
    bindings: { src, dst: out },
    params: { n: out.size, h, w, c, p, gw: w / p },
    workgroups: linearGroups(out.size),
  });
  return out;
}

function patchShape(x: readonly number[], p: number): number[] {
  const [n, h, w, c] = x as [number, number, number, number];
  return [n, (h / p) * (w / p), p * p * c];
}

export const patchifyOp = defineOp<{ patch: number }>({
  name: 'patchify',
  forward: ([x], { patch }) => {
    assertF32('patchify', x!);
    return { out: run(PATCHIFY, x!, patchShape(x!.shape, patch), x!.shape, patch) };
  },
  backward: (dy, { inputs: [x], attrs: { patch } }) => [run(UNPATCHIFY, dy, x!.shape, x!.shape, patch)],
});

/** NHWC [N, H, W, C] → [N, (H/p)·(W/p), p·p·C]; H and W must be multiples of p. */
export function patchify(x: Tensor, patch: number): Tensor {
  checkTensor('patchify', 'x', x);
  assertF32('patchify', x);
  checkNumber('patchify', 'patch', patch, { min: 1, integer: true });
  if (x.rank !== 4) throw new ShapeError(`patchify: x must be NHWC [N, H, W, C], got ${describeShape(x.shape)}`);
  const [, h, w] = x.shape as [number, number, number, number];
  if (h % patch !== 0 || w % patch !== 0) {
    throw new ShapeError(`patchify: H and W of x ${describeShape(x.shape)} must be multiples of the patch size ${patch}`);
  }
  return patchifyOp([x], { patch });
}
