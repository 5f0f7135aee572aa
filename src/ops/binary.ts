/**
 * Broadcasting binary ops: add, sub, mul, div, maximum, minimum, and the comparisons
 * (which return 0/1 masks and have no gradient). A number operand is applied through the
 * affine unary kernel instead of a one-element tensor.
 */
import { defineOp, notDifferentiable, type OpDef } from '../autodiff/op.js';
import { checkTensor, type Tensor } from '../tensor/tensor.js';
import { ValueError } from '../runtime/errors.js';
import { describeValue } from '../runtime/validate.js';
import { empty } from '../tensor/creation.js';
import { assertF32, backend, broadcastShapes, broadcastStrides, coalesceDims, elementsPerInvocation, linearGroups, sameShape, streamsMat4x4, stridesOf, vec4Params } from './util.js';
import { elementwiseKernel, elementwiseVec4Kernel } from './elementwise.js';
import { sumTo } from './layout.js';
import { addScalar, mulScalar, neg, square, reciprocal } from './unary.js';
import { where } from './where.js';

export function binaryForward(name: BinaryName, a: Tensor, b: Tensor): Tensor {
  assertF32(name, a, b);
  const shape = broadcastShapes(name, a.shape, b.shape);
  const out = empty(shape);
  if (!out.size) return out;
  const plain = sameShape(a.shape, b.shape);
  if (plain && out.size % 4 === 0) return binaryVec4(name, a, b, out);
  const c = coalesceDims(shape, [stridesOf(shape), broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  if (!plain && rowsOfVec4(c)) return binaryVec4Broadcast(name, a, b, out, c);
  const elems = elementsPerInvocation(out.size, plain ? undefined : c.shape);
  backend().dispatch({
    kernel: elementwiseKernel('binary'),
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

/** Same shapes, contiguous, size a multiple of 4: the vec4 or mat4x4 kernel (shaders/elementwise-vec4.wgsl). */
function binaryVec4(name: BinaryName, a: Tensor, b: Tensor, out: Tensor): Tensor {
  const n4 = out.size / 4;
  const params = { n4, shape4: [], a4: [], b4: [] };
  if (streamsMat4x4(out.size)) {
    backend().dispatch({
      kernel: elementwiseVec4Kernel('binary16'),
      bindings: { a16: a, b16: b, out16: out },
      params,
      overrides: { OP: BINARY_CODES[name] },
      workgroups: linearGroups(n4 / 4),
    });
    return out;
  }
  backend().dispatch({
    kernel: elementwiseVec4Kernel('binary'),
    bindings: { a, b, out },
    params,
    overrides: { OP: BINARY_CODES[name] },
    workgroups: linearGroups(n4),
  });
  return out;
}

/**
 * Whether a coalesced broadcast view runs on the broadcasting vec4 kernel: rank ≤ 4, a last
 * dimension that is a multiple of 4, along which both operands are contiguous (a bias, a
 * per-image gate). Their other strides are then multiples of that dimension, so every
 * output vec4 is one vec4 of each operand (and with a last dimension a multiple of 16,
 * every output mat4x4 one mat4x4 of each). nano's step has 21 such ops (bias adds, SE gates).
 */
function rowsOfVec4(c: { shape: number[]; strides: number[][] }): boolean {
  const last = c.shape.length - 1;
  return c.shape.length >= 1 && c.shape.length <= 4 && c.shape[last]! % 4 === 0 && c.strides[1]![last] === 1 && c.strides[2]![last] === 1;
}

function binaryVec4Broadcast(name: BinaryName, a: Tensor, b: Tensor, out: Tensor, c: { shape: number[]; strides: number[][] }): Tensor {
  const n4 = out.size / 4;
  const v = vec4Params(c.shape, [c.strides[1]!, c.strides[2]!]);
  const wide = streamsMat4x4(c.shape[c.shape.length - 1]!);
  backend().dispatch({
    kernel: elementwiseVec4Kernel(wide ? 'binary_broadcast16' : 'binary_broadcast'),
    bindings: wide ? { a16: a, b16: b, out16: out } : { a, b, out },
    params: { n4, shape4: v.shape4!, a4: v.a4!, b4: v.b4! },
    overrides: { OP: BINARY_CODES[name] },
    workgroups: linearGroups(wide ? n4 / 4 : n4),
  });
  return out;
}

type Rule = (dy: Tensor, a: Tensor, b: Tensor, needs: readonly boolean[]) => [Tensor | null, Tensor | null];
/** A binary op's gradients (before `sumTo` undoes broadcasting); `saves`: whether it needs a and b. */
interface BinaryRule {
  saves: boolean;
  grad: Rule | typeof notDifferentiable;
}
const COMPARISON: BinaryRule = { saves: false, grad: notDifferentiable };

/**
 * The binary ops, in the order of their codes: this table is the only definition of each
 * code (`BINARY_MUL` in shaders/elementwise.wgsl is the position of `mul` here, written
 * into the shader by the runtime).
 */
const BINARY = {
  add: { saves: false, grad: (dy) => [dy, dy] },
  sub: { saves: false, grad: (dy, _a, _b, needs) => [dy, needs[1] ? neg(dy) : null] },
  mul: { saves: true, grad: (dy, a, b, needs) => [needs[0] ? mul(dy, b) : null, needs[1] ? mul(dy, a) : null] },
  // d(a/b)/db = -a/b² = -(a/b)/b.
  div: { saves: true, grad: (dy, a, b, needs) => [needs[0] ? div(dy, b) : null, needs[1] ? neg(mul(dy, div(a, square(b)))) : null] },
  // At ties the gradient goes to `a` (pinned convention, like TF's maximum).
  maximum: {
    saves: true,
    grad: (dy, a, b) => {
      const m = ge(a, b);
      return [mul(dy, m), where(m, 0, dy)];
    },
  },
  minimum: {
    saves: true,
    grad: (dy, a, b) => {
      const m = le(a, b);
      return [mul(dy, m), where(m, 0, dy)];
    },
  },
  gt: COMPARISON,
  ge: COMPARISON,
  eq: COMPARISON,
  lt: COMPARISON,
  le: COMPARISON,
} as const satisfies Record<string, BinaryRule>;

type BinaryName = keyof typeof BINARY;

/** `binary_op` codes of shaders/elementwise.wgsl: each name's position in BINARY. */
export const BINARY_CODES = Object.fromEntries(Object.keys(BINARY).map((name, code) => [name, code])) as Record<BinaryName, number>;

function binaryOp(name: BinaryName) {
  const { grad, saves }: BinaryRule = BINARY[name];
  return defineOp<Record<string, never>>({
    name,
    forward: ([a, b]) => {
      const out = binaryForward(name, a!, b!);
      return { out, save: saves ? [a!, b!] : [] };
    },
    backward:
      grad === notDifferentiable
        ? notDifferentiable
        : (dy, { inputs: [a, b], needs }) => {
            const [ga, gb] = grad(dy, a!, b!, needs);
            return [ga && sumTo(ga, a!.shape), gb && sumTo(gb, b!.shape)];
          },
  });
}

/** The op definition of every binary op, by name (spread into `ops.definitions`). */
export const binaryDefinitions = Object.fromEntries((Object.keys(BINARY) as BinaryName[]).map((n) => [n, binaryOp(n)])) as {
  readonly [K in BinaryName]: OpDef<Record<string, never>>;
};
const { add: addOp, sub: subOp, mul: mulOp, div: divOp } = binaryDefinitions;

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
const both = (name: BinaryName) => (a: Tensor, b: Tensor): Tensor => binaryDefinitions[name]([a, b], NONE);
export const maximum = both('maximum');
export const minimum = both('minimum');
export const gt = both('gt');
export const ge = both('ge');
export const eq = both('eq');
export const lt = both('lt');
export const le = both('le');
