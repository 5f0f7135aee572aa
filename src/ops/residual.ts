/**
 * The fused scaled residual of an NF block: out = x + α · skipGain · h, where x is the
 * shortcut, h the residual branch, skipGain the learnable scalar (initialised to 0) and α
 * the block's residual scale (0.2). One kernel instead of three elementwise dispatches.
 *
 * Backward: dx = dy (no kernel), dh = α·g·dy (one kernel), dg = α·Σ(dy ⊙ h) (a reduction).
 * Sizes divisible by 4 run the vec4 entry points (about 2× faster on SwiftShader).
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensors, type Tensor } from '../tensor/tensor.js';
import { empty } from '../tensor/creation.js';
import { defineKernel, type Kernel } from '../runtime/kernel.js';
import type { BindingSource } from '../runtime/backend.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { assertF32, backend, linearGroups, sameShape } from './util.js';
import { mul } from './binary.js';
import { mulScalar } from './unary.js';
import { sum } from './reduce.js';
import { reshape } from './layout.js';
import residualWgsl from '../../shaders/residual.wgsl';

/** Scalar entry points (any size) and their vec4 twins (size % 4 == 0). */
const FORWARD = { scalar: defineKernel('residual', residualWgsl, 'residual_forward'), vec4: defineKernel('residual', residualWgsl, 'residual_forward4') };
const DH = { scalar: defineKernel('residual', residualWgsl, 'residual_dh'), vec4: defineKernel('residual', residualWgsl, 'residual_dh4') };

export interface ResidualAttrs {
  alpha: number;
}

/** One dispatch of `kernels` over a new tensor of `shape`; `gain` plus the elementwise operands by binding name. */
function dispatch(kernels: { scalar: Kernel; vec4: Kernel }, shape: readonly number[], gain: Tensor, operands: Record<string, Tensor>, alpha: number): Tensor {
  const out = empty(shape);
  if (!out.size) return out;
  const vec4 = out.size % 4 === 0;
  const suffix = vec4 ? '4' : '';
  const bindings: Record<string, BindingSource> = { gain, [`out${suffix}`]: out };
  for (const [k, t] of Object.entries(operands)) bindings[k + suffix] = t;
  const n = vec4 ? out.size / 4 : out.size;
  backend().dispatch({ kernel: vec4 ? kernels.vec4 : kernels.scalar, bindings, params: { n, alpha }, workgroups: linearGroups(n) });
  return out;
}

export const residualOp = defineOp<ResidualAttrs>({
  name: 'residual',
  forward: (inputs, { alpha }) => {
    const [x, h, gain] = inputs as [Tensor, Tensor, Tensor];
    return { out: dispatch(FORWARD, x.shape, gain, { x, h }, alpha), save: [h, gain] };
  },
  backward: (dy, { saved, attrs: { alpha }, needs }) => {
    const [h, gain] = saved as [Tensor, Tensor];
    return [
      needs[0] ? dy : null,
      needs[1] ? dispatch(DH, h.shape, gain, { dy }, alpha) : null,
      needs[2] ? reshape(mulScalar(sum(mul(dy, h)), alpha), gain.shape) : null,
    ];
  },
});

/**
 * out = x + alpha · skipGain · h. `x` and `h` have the same shape; `skipGain` holds one
 * element (shape [] or [1]); `alpha` is a finite number.
 *
 *   const y = residual(shortcut, branch, block.skipGain, 0.2);
 */
export function residual(x: Tensor, h: Tensor, skipGain: Tensor, alpha: number): Tensor {
  checkTensors('residual', { x, h, skipGain });
  assertF32('residual', x, h, skipGain);
  if (!sameShape(x.shape, h.shape)) {
    throw new ShapeError(`residual: x and h must have the same shape, got x ${describeShape(x.shape)} and h ${describeShape(h.shape)}`);
  }
  if (skipGain.size !== 1) throw new ShapeError(`residual: skipGain must hold one element (shape [] or [1]), got ${describeShape(skipGain.shape)}`);
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new ValueError(`residual: alpha must be a finite number, got ${String(alpha)}`);
  return residualOp([x, h, skipGain], { alpha });
}
