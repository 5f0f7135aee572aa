/**
 * Broadcasting binary ops: add, sub, mul, div, maximum, minimum, and the comparisons
 * (which return 0/1 masks and have no gradient). A number operand is applied through the
 * affine unary kernel instead of a one-element tensor.
 */
import { defineOp, notDifferentiable } from '../autodiff/op.js';
import { checkTensor, type Tensor } from '../autodiff/tensor.js';
import { ValueError } from '../runtime/errors.js';
import { describeValue } from '../runtime/validate.js';
import { empty } from '../autodiff/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { assertF32, backend, broadcastShapes, broadcastStrides, coalesceDims, elementsPerInvocation, linearGroups, sameShape, stridesOf, vec4Params } from './util.js';
import elementwiseWgsl from '../../shaders/elementwise.wgsl';
import { sumTo } from './layout.js';
import { addScalar, mulScalar, neg, square, reciprocal } from './unary.js';
import { where } from './where.js';

const BINARY = defineKernel('elementwise', elementwiseWgsl, 'binary');
/** Op codes of `binary_op` in shaders/elementwise.wgsl. */
const BINARY_CODES = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, gt: 6, ge: 7, eq: 8, lt: 9, le: 10 } as const;
type BinaryName = keyof typeof BINARY_CODES;

export function binaryForward(name: BinaryName, a: Tensor, b: Tensor): Tensor {
  assertF32(name, a, b);
  const shape = broadcastShapes(name, a.shape, b.shape);
  const out = empty(shape);
  if (!out.size) return out;
  const plain = sameShape(a.shape, b.shape);
  const c = coalesceDims(shape, [stridesOf(shape), broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  const elems = elementsPerInvocation(out.size, plain ? undefined : c.shape);
  backend().dispatch({
    kernel: BINARY,
    bindings: { a, b, out },
    params: {
      n: out.size, rank: c.shape.length, alpha: 0, beta: 0, out_shape: c.shape,
      a_strides: c.strides[1]!, b_strides: c.strides[2]!, c_strides: [],
      ...vec4Params(c.shape, [c.strides[1]!, c.strides[2]!]),
    },
    overrides: { OP: BINARY_CODES[name], BROADCAST: plain ? 0 : 1, RANK: Math.max(1, c.shape.length), ELEMS: elems },
    workgroups: linearGroups(out.size / elems),
  });
  return out;
}

type Rule = (dy: Tensor, a: Tensor, b: Tensor, needs: readonly boolean[]) => [Tensor | null, Tensor | null];

function binaryOp(name: BinaryName, rule: Rule | typeof notDifferentiable, saves: boolean) {
  return defineOp<Record<string, never>>({
    name,
    forward: ([a, b]) => {
      const out = binaryForward(name, a!, b!);
      return { out, save: saves ? [a!, b!] : [] };
    },
    backward:
      rule === notDifferentiable
        ? notDifferentiable
        : (dy, { inputs: [a, b], needs }) => {
            const [ga, gb] = rule(dy, a!, b!, needs);
            return [ga && sumTo(ga, a!.shape), gb && sumTo(gb, b!.shape)];
          },
  });
}

export const addOp = binaryOp('add', (dy) => [dy, dy], false);
export const subOp = binaryOp('sub', (dy, _a, _b, needs) => [dy, needs[1] ? neg(dy) : null], false);
export const mulOp = binaryOp('mul', (dy, a, b, needs) => [needs[0] ? mul(dy, b) : null, needs[1] ? mul(dy, a) : null], true);
// d(a/b)/db = -a/b² = -(a/b)/b.
export const divOp = binaryOp(
  'div',
  (dy, a, b, needs) => [needs[0] ? div(dy, b) : null, needs[1] ? neg(mul(dy, div(a, square(b)))) : null],
  true,
);
// At ties the gradient goes to `a` (pinned convention, like TF's maximum).
export const maximumOp = binaryOp('maximum', (dy, a, b) => {
  const m = ge(a, b);
  return [mul(dy, m), where(m, 0, dy)];
}, true);
export const minimumOp = binaryOp('minimum', (dy, a, b) => {
  const m = le(a, b);
  return [mul(dy, m), where(m, 0, dy)];
}, true);
export const gtOp = binaryOp('gt', notDifferentiable, false);
export const geOp = binaryOp('ge', notDifferentiable, false);
export const eqOp = binaryOp('eq', notDifferentiable, false);
export const ltOp = binaryOp('lt', notDifferentiable, false);
export const leOp = binaryOp('le', notDifferentiable, false);

const NONE = {} as Record<string, never>;
const isNum = (v: unknown): v is number => typeof v === 'number';

/** Operands of add/sub/mul/div: tensors or finite numbers, at least one a tensor. */
function checkOperands(op: string, a: unknown, b: unknown): void {
  for (const [name, v] of [['a', a], ['b', b]] as const) {
    if (isNum(v)) {
      if (!Number.isFinite(v)) throw new ValueError(`${op}: ${name} must be a Tensor or a finite number, got ${describeValue(v)}`);
    } else checkTensor(op, name, v);
  }
  if (isNum(a) && isNum(b)) throw new ValueError(`${op}: at least one operand must be a Tensor, got two numbers`);
}

export function add(a: Tensor | number, b: Tensor | number): Tensor {
  checkOperands('add', a, b);
  if (isNum(b)) return addScalar(a as Tensor, b);
  if (isNum(a)) return addScalar(b, a);
  return addOp([a, b], NONE);
}
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  checkOperands('sub', a, b);
  if (isNum(b)) return addScalar(a as Tensor, -b);
  if (isNum(a)) return addScalar(neg(b), a);
  return subOp([a, b], NONE);
}
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  checkOperands('mul', a, b);
  if (isNum(b)) return mulScalar(a as Tensor, b);
  if (isNum(a)) return mulScalar(b, a);
  return mulOp([a, b], NONE);
}
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  checkOperands('div', a, b);
  if (isNum(b) && b === 0) throw new ValueError('div: dividing by the number 0 (use a tensor divisor for IEEE inf/nan results)');
  if (isNum(b)) return mulScalar(a as Tensor, 1 / b);
  if (isNum(a)) return mulScalar(reciprocal(b), a);
  return divOp([a, b], NONE);
}
export const maximum = (a: Tensor, b: Tensor): Tensor => maximumOp([a, b], NONE);
export const minimum = (a: Tensor, b: Tensor): Tensor => minimumOp([a, b], NONE);
export const gt = (a: Tensor, b: Tensor): Tensor => gtOp([a, b], NONE);
export const ge = (a: Tensor, b: Tensor): Tensor => geOp([a, b], NONE);
export const eq = (a: Tensor, b: Tensor): Tensor => eqOp([a, b], NONE);
export const lt = (a: Tensor, b: Tensor): Tensor => ltOp([a, b], NONE);
export const le = (a: Tensor, b: Tensor): Tensor => leOp([a, b], NONE);
