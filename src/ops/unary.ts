/**
 * Unary elementwise ops with their derivatives: neg, exp, log, sqrt, rsqrt, square, abs,
 * reciprocal, pow (scalar exponent), relu, sigmoid, tanh, and x·a + b with scalar a, b.
 */
import { defineOp, type OpDef } from '../autodiff/op.js';
import { checkTensor, type Tensor } from '../tensor/tensor.js';
import { empty } from '../tensor/creation.js';
import { ValueError } from '../runtime/errors.js';
import { assertF32, backend, elementsPerInvocation, linearGroups, NO_VIEW } from './util.js';
import { elementwiseKernel } from './elementwise.js';
import { mul, sub } from './binary.js';

export interface Scalars {
  alpha: number;
  beta: number;
}
const NO_SCALARS: Scalars = { alpha: 0, beta: 0 };

/**
 * A unary op's derivative, expressed with other ops. `saves` picks what the rule gets as
 * `saved`: the input x, the output y, or nothing.
 */
interface UnaryRule {
  saves: 'x' | 'y' | 'none';
  grad: (dy: Tensor, saved: Tensor, s: Scalars) => Tensor;
}
const rule = (saves: UnaryRule['saves'], grad: UnaryRule['grad']): UnaryRule => ({ saves, grad });

/**
 * The unary ops, in the order of their codes: this table is the only definition of each
 * code (`UNARY_EXP` in shaders/elementwise.wgsl is the position of `exp` here, written into
 * the shader by the runtime). `null`: a kernel without an op of its own (sign and step are
 * the derivatives of abs and relu). Adding an op: an entry here, a `case` in the shader and
 * the public function below (docs/kernels.md, "Adding an elementwise op").
 */
const UNARY = {
  neg: rule('none', (dy) => neg(dy)),
  exp: rule('y', (dy, y) => mul(dy, y)),
  log: rule('x', (dy, x) => div_(dy, x)),
  // d sqrt(x) = 1 / (2 sqrt(x))
  sqrt: rule('y', (dy, y) => mulScalar(div_(dy, y), 0.5)),
  // d x^-1/2 = -1/2 x^-3/2 = -1/2 y³
  rsqrt: rule('y', (dy, y) => mul(dy, mulScalar(pow(y, 3), -0.5))),
  square: rule('x', (dy, x) => mul(dy, mulScalar(x, 2))),
  // relu'(0) = 0 (pinned convention, as in PyTorch and JAX). This rule and abs's spell out
  // their return type: they name keys of UNARY itself, which TS cannot infer through.
  relu: rule('x', (dy, x): Tensor => mul(dy, unaryForward('step', x))),
  abs: rule('x', (dy, x): Tensor => mul(dy, unaryForward('sign', x))),
  sign: null,
  // p = 0: the derivative is 0 everywhere (not 0·x⁻¹, which is NaN at x = 0).
  pow: rule('x', (dy, x, s) => (s.alpha === 0 ? mulScalar(dy, 0) : mul(dy, mulScalar(pow(x, s.alpha - 1), s.alpha)))),
  affine: rule('none', (dy, _x, s) => mulScalar(dy, s.alpha)),
  sigmoid: rule('y', (dy, y) => mul(dy, mul(y, sub(1, y)))),
  tanh: rule('y', (dy, y) => mul(dy, sub(1, square(y)))),
  step: null,
  reciprocal: rule('y', (dy, y) => neg(mul(dy, square(y)))),
};

type UnaryName = keyof typeof UNARY;
type UnaryOpName = { [K in UnaryName]: (typeof UNARY)[K] extends null ? never : K }[UnaryName];

/** `unary_op` codes of shaders/elementwise.wgsl: each name's position in UNARY. */
export const UNARY_CODES = Object.fromEntries(Object.keys(UNARY).map((name, code) => [name, code])) as Record<UnaryName, number>;

export function unaryForward(name: UnaryName, x: Tensor, alpha = 0, beta = 0): Tensor {
  assertF32(name, x);
  const out = empty(x.shape);
  if (!out.size) return out;
  const elems = elementsPerInvocation(x.size);
  backend().dispatch({
    kernel: elementwiseKernel('unary'),
    bindings: { a: x, out },
    params: { n: x.size, alpha, beta, ...NO_VIEW },
    overrides: { OP: UNARY_CODES[name], ELEMS: elems },
    workgroups: linearGroups(x.size / elems),
  });
  return out;
}

function unaryOp(name: UnaryOpName) {
  const { saves, grad }: UnaryRule = UNARY[name];
  return defineOp<Scalars>({
    name,
    forward: ([x], s) => {
      const out = unaryForward(name, x!, s.alpha, s.beta);
      return { out, save: saves === 'x' ? [x!] : saves === 'y' ? [out] : [] };
    },
    backward: (dy, { saved, attrs }) => [grad(dy, saved[0]!, attrs)],
  });
}

/** The op definition of every unary op, by name (spread into `ops.definitions`). */
export const unaryDefinitions = Object.fromEntries(
  (Object.keys(UNARY) as UnaryName[]).filter((n): n is UnaryOpName => UNARY[n] !== null).map((n) => [n, unaryOp(n)]),
) as { readonly [K in UnaryOpName]: OpDef<Scalars> };

function div_(a: Tensor, b: Tensor): Tensor {
  return mul(a, reciprocal(b));
}

type UnaryFn = (x: Tensor) => Tensor;
const plain = (name: UnaryOpName): UnaryFn => (x) => unaryDefinitions[name]([x], NO_SCALARS);
export const neg: UnaryFn = plain('neg');
export const exp: UnaryFn = plain('exp');
export const log: UnaryFn = plain('log');
export const sqrt: UnaryFn = plain('sqrt');
export const rsqrt: UnaryFn = plain('rsqrt');
export const square: UnaryFn = plain('square');
export const abs: UnaryFn = plain('abs');
export const reciprocal: UnaryFn = plain('reciprocal');
export const relu: UnaryFn = plain('relu');
export const sigmoid: UnaryFn = plain('sigmoid');
export const tanh: UnaryFn = plain('tanh');

/** x^p for a finite scalar exponent p (negative bases allowed for integer p). */
export function pow(x: Tensor, p: number): Tensor {
  checkTensor('pow', 'x', x);
  if (typeof p !== 'number' || !Number.isFinite(p)) throw new ValueError(`pow: exponent must be a finite number, got ${String(p)}`);
  return unaryDefinitions.pow([x], { alpha: p, beta: 0 });
}
/** x·a + b for scalars a and b. */
export function affine(x: Tensor, a: number, b: number): Tensor {
  checkTensor('affine', 'x', x);
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new ValueError(`affine: scale and shift must be finite, got ${a}, ${b}`);
  return unaryDefinitions.affine([x], { alpha: a, beta: b });
}
export const mulScalar = (x: Tensor, a: number): Tensor => affine(x, a, 0);
export const addScalar = (x: Tensor, b: number): Tensor => affine(x, 1, b);
