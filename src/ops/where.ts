/** where(cond, a, b): elementwise select with broadcasting; cond is a 0/1 (nonzero = true) f32 mask. */
import { defineOp } from '../autodiff/op.js';
import { checkTensor, type Tensor } from '../tensor/tensor.js';
import { describeValue } from '../runtime/validate.js';
import { ValueError } from '../runtime/errors.js';
import { empty, full } from '../tensor/creation.js';
import { assertF32, backend, broadcastShapes, broadcastStrides, coalesceDims, elementsPerInvocation, linearGroups, stridesOf, vec4Params } from './util.js';
import { elementwiseKernel } from './elementwise.js';
import { sumTo } from './layout.js';
import { composite } from './composite.js';


function selectForward(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  assertF32('where', cond, a, b);
  const shape = broadcastShapes('where', broadcastShapes('where', a.shape, b.shape), cond.shape);
  const out = empty(shape);
  if (!out.size) return out;
  const k = coalesceDims(shape, [stridesOf(shape), broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape), broadcastStrides(cond.shape, shape)]);
  const elems = elementsPerInvocation(out.size, k.shape);
  backend().dispatch({
    kernel: elementwiseKernel('where_select'),
    bindings: { a, b, c: cond, out },
    params: {
      n: out.size, rank: k.shape.length, alpha: 0, beta: 0, out_shape: k.shape,
      a_strides: k.strides[1]!, b_strides: k.strides[2]!, c_strides: k.strides[3]!,
      ...vec4Params(k.shape, [k.strides[1]!, k.strides[2]!, k.strides[3]!]),
    },
    overrides: { RANK: Math.max(1, k.shape.length), ELEMS: elems },
    workgroups: linearGroups(out.size / elems),
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
  // Validate before a number branch becomes a tensor (no GPU work for bad inputs).
  checkTensor('where', 'cond', cond);
  for (const [name, v] of [['a', a], ['b', b]] as const) {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new ValueError(`where: ${name} must be a Tensor or a finite number, got ${describeValue(v)}`);
    } else checkTensor('where', name, v);
  }
  const given = [cond, a, b].filter((t): t is Tensor => typeof t !== 'number');
  assertF32('where', ...given);
  broadcastShapes('where', broadcastShapes('where', typeof a === 'number' ? [] : a.shape, typeof b === 'number' ? [] : b.shape), cond.shape);
  return composite(() => {
    const ta = typeof a === 'number' ? full([], a) : a;
    const tb = typeof b === 'number' ? full([], b) : b;
    return whereOp([cond, ta, tb], {});
  });
}
