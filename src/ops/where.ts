/** where(cond, a, b): elementwise select with broadcasting; cond is a 0/1 (nonzero = true) f32 mask. */
import { defineOp } from '../autodiff/op.js';
import type { Tensor } from '../autodiff/tensor.js';
import { empty, full } from '../autodiff/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { assertF32, backend, broadcastShapes, broadcastStrides, linearGroups } from './util.js';
import elementwiseWgsl from '../../shaders/elementwise.wgsl';
import { sumTo } from './layout.js';
import { composite } from './composite.js';

const SELECT = defineKernel('elementwise', elementwiseWgsl, 'where_select');

function selectForward(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  assertF32('where', cond, a, b);
  const shape = broadcastShapes('where', broadcastShapes('where', a.shape, b.shape), cond.shape);
  const out = empty(shape);
  if (!out.size) return out;
  backend().dispatch({
    kernel: SELECT,
    bindings: { a: a.buffer, b: b.buffer, c: cond.buffer, out: out.buffer },
    params: {
      n: out.size, rank: shape.length, alpha: 0, beta: 0, out_shape: shape,
      a_strides: broadcastStrides(a.shape, shape), b_strides: broadcastStrides(b.shape, shape),
      c_strides: broadcastStrides(cond.shape, shape),
    },
    workgroups: linearGroups(out.size),
  });
  return out;
}

export const whereOp = defineOp<Record<string, never>>({
  name: 'where',
  forward: ([cond, a, b]) => ({ out: selectForward(cond!, a!, b!), save: [cond!] }),
  backward: (dy, { saved: [cond], inputs: [, a, b], needs }) => {
    const zero = full([], 0);
    return [
      null,
      needs[1] ? sumTo(selectForward(cond!, dy, zero), a!.shape) : null,
      needs[2] ? sumTo(selectForward(cond!, zero, dy), b!.shape) : null,
    ];
  },
});

export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  return composite(() => {
    const ta = typeof a === 'number' ? full([], a) : a;
    const tb = typeof b === 'number' ? full([], b) : b;
    return whereOp([cond, ta, tb], {});
  });
}
