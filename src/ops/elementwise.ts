/**
 * The elementwise kernel family (shaders/elementwise.wgsl) and its op codes. These lists
 * are the only definition of the codes: an op's code is its position, and the runtime
 * writes each one into the shader as a constant (`const UNARY_EXP: u32 = 1u;`, see
 * `codeConstants`) that the shader's switches name (`case UNARY_EXP:`). Adding a unary op
 * is one name here, one `case` in the shader and the op in src/ops/unary.ts
 * (docs/kernels.md, "Adding an elementwise op").
 */
import { codeConstants, defineKernel, type Kernel } from '../runtime/kernel.js';
import elementwiseWgsl from '../../shaders/elementwise.wgsl';

const codesOf = <Name extends string>(names: readonly Name[]) =>
  Object.fromEntries(names.map((name, code) => [name, code])) as Record<Name, number>;

/** `unary_op` codes. `sign` and `step` are kernels only (derivatives of abs and relu). */
export const UNARY_CODES = codesOf([
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'square', 'relu', 'abs', 'sign', 'pow',
  'affine', 'sigmoid', 'tanh', 'step', 'reciprocal',
] as const);
export type UnaryName = keyof typeof UNARY_CODES;

/** `binary_op` codes. */
export const BINARY_CODES = codesOf(['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'gt', 'ge', 'eq', 'lt', 'le'] as const);
export type BinaryName = keyof typeof BINARY_CODES;

/** Every constant the shader's switches use: `UNARY_NEG`, …, `BINARY_LE`. */
export const ELEMENTWISE_CONSTANTS = { ...codeConstants('UNARY', UNARY_CODES), ...codeConstants('BINARY', BINARY_CODES) };

/** A kernel of shaders/elementwise.wgsl, with the op-code constants written in. */
export function elementwiseKernel(entry: 'unary' | 'binary' | 'where_select'): Kernel {
  return defineKernel('elementwise', elementwiseWgsl, entry, { constants: ELEMENTWISE_CONSTANTS });
}
