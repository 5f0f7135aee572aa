/** softmax and logSoftmax along one axis (default: the last). */
import { defineOp } from '../autodiff/op.js';
import { checkTensor, type Tensor } from '../tensor/tensor.js';
import { empty, sizeOf } from '../tensor/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { assertF32, backend, linearGroups, normalizeAxes } from './util.js';
import softmaxWgsl from '../../shaders/softmax.wgsl';
import { mul, sub } from './binary.js';
import { exp } from './unary.js';
import { sum } from './reduce.js';

const SOFTMAX = defineKernel('softmax', softmaxWgsl, 'softmax');

function forward(x: Tensor, axis: number, log: boolean): Tensor {
  assertF32(log ? 'logSoftmax' : 'softmax', x);
  const out = empty(x.shape);
  if (!out.size) return out;
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  backend().dispatch({
    kernel: SOFTMAX,
    bindings: { x, out },
    params: { outer, r: x.shape[axis]!, inner },
    overrides: { LOG: log ? 1 : 0 },
    workgroups: linearGroups(outer * inner, 64),
  });
  return out;
}

export const softmaxOp = defineOp<{ axis: number }>({
  name: 'softmax',
  forward: ([x], { axis }) => {
    const out = forward(x!, axis, false);
    return { out, save: [out] };
  },
  // dx = y · (dy − Σ dy·y)
  backward: (dy, { saved: [y], attrs: { axis } }) => [mul(y!, sub(dy, sum(mul(dy, y!), { axes: axis, keepdims: true })))],
});

export const logSoftmaxOp = defineOp<{ axis: number }>({
  name: 'logSoftmax',
  forward: ([x], { axis }) => {
    const out = forward(x!, axis, true);
    return { out, save: [out] };
  },
  // dx = dy − softmax · Σ dy
  backward: (dy, { saved: [y], attrs: { axis } }) => [sub(dy, mul(exp(y!), sum(dy, { axes: axis, keepdims: true })))],
});

export function softmax(x: Tensor, axis = -1): Tensor {
  checkTensor('softmax', 'x', x);
  return softmaxOp([x], { axis: normalizeAxes('softmax', axis, x.rank)[0]! });
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkTensor('logSoftmax', 'x', x);
  return logSoftmaxOp([x], { axis: normalizeAxes('logSoftmax', axis, x.rank)[0]! });
}
