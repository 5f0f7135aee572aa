/**
 * The elementwise kernel family (shaders/elementwise.wgsl) with its op codes written in.
 * The codes are defined once, by the op tables of src/ops/unary.ts and binary.ts (an op's
 * code is its position there); the runtime writes each one into the shader as a constant
 * (`const UNARY_EXP: u32 = 1u;`, see `codeConstants`) that the shader's switches name
 * (`case UNARY_EXP:`).
 */
import { codeConstants, defineKernel, type Kernel } from '../runtime/kernel.js';
import elementwiseWgsl from '../../shaders/elementwise.wgsl';
import elementwiseVec4Wgsl from '../../shaders/elementwise-vec4.wgsl';
import { UNARY_CODES } from './unary.js';
import { BINARY_CODES } from './binary.js';

type Entry = 'unary' | 'binary' | 'where_select';

/** Every constant the shader's switches use: `UNARY_NEG`, …, `BINARY_LE`. */
export function elementwiseConstants(): Record<string, number> {
  return { ...codeConstants('UNARY', UNARY_CODES), ...codeConstants('BINARY', BINARY_CODES) };
}

const kernels = new Map<Entry, Kernel>();

/**
 * A kernel of shaders/elementwise.wgsl. Made on first use, not at import: unary.ts and
 * binary.ts import each other, so their tables are complete only once both have loaded.
 */
export function elementwiseKernel(entry: Entry): Kernel {
  let k = kernels.get(entry);
  if (!k) {
    k = defineKernel('elementwise', elementwiseWgsl, entry, { constants: elementwiseConstants() });
    kernels.set(entry, k);
  }
  return k;
}

type Vec4Entry = 'binary' | 'binary_broadcast' | 'binary16' | 'binary_broadcast16';
const vec4Kernels = new Map<Vec4Entry, Kernel>();

/**
 * A kernel of shaders/elementwise-vec4.wgsl: `binary` (same shapes, contiguous, n a multiple
 * of 4) or `binary_broadcast` (operands contiguous along a last dimension that is a multiple of 4),
 * and their `…16` twins, which move mat4x4s where the count is a multiple of 16.
 */
export function elementwiseVec4Kernel(entry: Vec4Entry): Kernel {
  let k = vec4Kernels.get(entry);
  if (!k) {
    k = defineKernel('elementwise-vec4', elementwiseVec4Wgsl, entry, { constants: codeConstants('BINARY', BINARY_CODES) });
    vec4Kernels.set(entry, k);
  }
  return k;
}
