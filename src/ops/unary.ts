/**
 * Unary elementwise ops with their derivatives: neg, exp, log, sqrt, rsqrt, square, abs,
 * reciprocal, pow (scalar exponent), relu, sigmoid, tanh, and x·a + b with scalar a, b.
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensor, type Tensor } from '../autodiff/tensor.js';
import { empty } from '../autodiff/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { ValueError } from '../runtime/errors.js';
import { assertF32, backend, elementsPerInvocation, linearGroups, NO_VIEW } from './util.js';
import elementwiseWgsl from '../../shaders/elementwise.wgsl';
import { mul, sub } from './binary.js';

const UNARY = defineKernel('elementwise', elementwiseWgsl, 'unary');
/** Op codes of `unary_op` in shaders/elementwise.wgsl. */
const UNARY_CODES = {
  neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, square: 5, relu: 6, abs: 7, sign: 8, pow: 9,
  affine: 10, sigmoid: 11, tanh: 12, step: 13, reciprocal: 14,
} as const;
type UnaryName = keyof typeof UNARY_CODES;

export function unaryForward(name: UnaryName, x: Tensor, alpha = 0, beta = 0): Tensor {
  assertF32(name, x);
  const out = empty(x.shape);
  if (!out.size) return out;
  const elems = elementsPerInvocation(x.size);
  backend().dispatch({
    kernel: UNARY,
    bindings: { a: x, out },
    params: { n: x.size, alpha, beta, ...NO_VIEW },
    overrides: { OP: UNARY_CODES[name], ELEMS: elems },
    workgroups: linearGroups(x.size / elems),
  });
  return out;
}

export interface Scalars {
  alpha: number;
  beta: number;
}
const NO_SCALARS: Scalars = { alpha: 0, beta: 0 };

/**
 * A unary op whose derivative is expressed with other ops. `saves` picks what the rule
 * needs: the input, the output, or nothing.
 */
function unaryOp(name: UnaryName, saves: 'x' | 'y' | 'none', rule: (dy: Tensor, saved: Tensor, s: Scalars) => Tensor) {
  return defineOp<Scalars>({
    name: name === 'affine' ? 'affine' : name,
    forward: ([x], s) => {
      const out = unaryForward(name, x!, s.alpha, s.beta);
      return { out, save: saves === 'x' ? [x!] : saves === 'y' ? [out] : [] };
    },
    backward: (dy, { saved, attrs }) => [rule(dy, saved[0]!, attrs)],
  });
}

export const negOp = unaryOp('neg', 'none', (dy) => neg(dy));
export const expOp = unaryOp('exp', 'y', (dy, y) => mul(dy, y));
export const logOp = unaryOp('log', 'x', (dy, x) => div_(dy, x));
// d sqrt(x) = 1 / (2 sqrt(x))
export const sqrtOp = unaryOp('sqrt', 'y', (dy, y) => mulScalar(div_(dy, y), 0.5));
// d x^-1/2 = -1/2 x^-3/2 = -1/2 y³
export const rsqrtOp = unaryOp('rsqrt', 'y', (dy, y) => mul(dy, mulScalar(pow(y, 3), -0.5)));
export const squareOp = unaryOp('square', 'x', (dy, x) => mul(dy, mulScalar(x, 2)));
export const absOp = unaryOp('abs', 'x', (dy, x) => mul(dy, unaryForward('sign', x)));
export const reciprocalOp = unaryOp('reciprocal', 'y', (dy, y) => neg(mul(dy, square(y))));
// p = 0: the derivative is 0 everywhere (not 0·x⁻¹, which is NaN at x = 0).
export const powOp = unaryOp('pow', 'x', (dy, x, s) => (s.alpha === 0 ? mulScalar(dy, 0) : mul(dy, mulScalar(pow(x, s.alpha - 1), s.alpha))));
// relu'(0) = 0 (pinned convention, as in PyTorch and JAX).
export const reluOp = unaryOp('relu', 'x', (dy, x) => mul(dy, unaryForward('step', x)));
export const sigmoidOp = unaryOp('sigmoid', 'y', (dy, y) => mul(dy, mul(y, sub(1, y))));
export const tanhOp = unaryOp('tanh', 'y', (dy, y) => mul(dy, sub(1, square(y))));
export const affineOp = unaryOp('affine', 'none', (dy, _x, s) => mulScalar(dy, s.alpha));

function div_(a: Tensor, b: Tensor): Tensor {
  return mul(a, reciprocal(b));
}

export const neg = (x: Tensor): Tensor => negOp([x], NO_SCALARS);
export const exp = (x: Tensor): Tensor => expOp([x], NO_SCALARS);
export const log = (x: Tensor): Tensor => logOp([x], NO_SCALARS);
export const sqrt = (x: Tensor): Tensor => sqrtOp([x], NO_SCALARS);
export const rsqrt = (x: Tensor): Tensor => rsqrtOp([x], NO_SCALARS);
export const square = (x: Tensor): Tensor => squareOp([x], NO_SCALARS);
export const abs = (x: Tensor): Tensor => absOp([x], NO_SCALARS);
export const reciprocal = (x: Tensor): Tensor => reciprocalOp([x], NO_SCALARS);
export const relu = (x: Tensor): Tensor => reluOp([x], NO_SCALARS);
export const sigmoid = (x: Tensor): Tensor => sigmoidOp([x], NO_SCALARS);
export const tanh = (x: Tensor): Tensor => tanhOp([x], NO_SCALARS);

/** x^p for a finite scalar exponent p (negative bases allowed for integer p). */
export function pow(x: Tensor, p: number): Tensor {
  checkTensor('pow', 'x', x);
  if (typeof p !== 'number' || !Number.isFinite(p)) throw new ValueError(`pow: exponent must be a finite number, got ${String(p)}`);
  return powOp([x], { alpha: p, beta: 0 });
}
/** x·a + b for scalars a and b. */
export function affine(x: Tensor, a: number, b: number): Tensor {
  checkTensor('affine', 'x', x);
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new ValueError(`affine: scale and shift must be finite, got ${a}, ${b}`);
  return affineOp([x], { alpha: a, beta: b });
}
export const mulScalar = (x: Tensor, a: number): Tensor => affine(x, a, 0);
export const addScalar = (x: Tensor, b: number): Tensor => affine(x, 1, b);
