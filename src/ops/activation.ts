/**
 * Gamma-scaled activations, y = gamma · act(x + bias): the NFNet non-linearity. gamma is
 * chosen so a unit-Gaussian input keeps unit variance (1/sqrt(Var[act(z)]), z ~ N(0, 1)),
 * which is what lets the network train without normalisation layers. The optional
 * per-channel bias (last axis, NHWC) is fused with the activation and the gamma scale in
 * one kernel; the backward is one kernel for dx plus a reduction for dbias.
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensor, type Tensor } from '../tensor/tensor.js';
import { checkOneOf, checkOptions } from '../runtime/validate.js';
import { empty } from '../tensor/creation.js';
import { codeConstants, defineKernel, type Kernel } from '../runtime/kernel.js';
import type { BindingSource } from '../runtime/backend.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { assertF32, backend, elementsPerInvocation, linearGroups, streamsMat4x4 } from './util.js';
import activationWgsl from '../../shaders/activation.wgsl';
import actWgsl from '../../shaders/act.wgsl';
import { sumTo } from './layout.js';

/**
 * The reference constants (pretrained NFNet weights depend on these exact values). They
 * were estimated by sampling; exact integration gives values 3e-4…9e-4 lower — see
 * test/gamma.test.ts.
 */
export const GAMMA = {
  identity: 1,
  relu: 1.7139588594436646,
  gelu: 1.7015043497085571,
  /** The exact GELU, z·Φ(z) (timm's); the reference's constant serves both forms, as in timm. */
  gelu_erf: 1.7015043497085571,
  silu: 1.7881293296813965,
  tanh: 1.5939117670059204,
  sigmoid: 4.803835391998291,
} as const;

export type ActivationKind = keyof typeof GAMMA;

/**
 * KIND override codes of shaders/activation.wgsl, their only definition: the shader's
 * switches name them as KIND_RELU, KIND_GELU, … (written into it as constants).
 */
export const KIND_CODES: Record<ActivationKind, number> = { identity: 0, relu: 1, gelu: 2, silu: 3, tanh: 4, sigmoid: 5, gelu_erf: 6 };
export const KIND_CONSTANTS = codeConstants('KIND', KIND_CODES);

/** A kernel family's source with act(z) and act4(z) of shaders/act.wgsl appended (pass KIND_CONSTANTS as its constants). */
export function withActivations(source: string): string {
  return `${source}\n${actWgsl}`;
}

const ACTIVATION_SOURCE = withActivations(activationWgsl);
const FORWARD = defineKernel('activation', ACTIVATION_SOURCE, 'act_forward', { constants: KIND_CONSTANTS });
const BACKWARD = defineKernel('activation', ACTIVATION_SOURCE, 'act_backward', { constants: KIND_CONSTANTS });
const FORWARD16 = defineKernel('activation', ACTIVATION_SOURCE, 'act_forward16', { constants: KIND_CONSTANTS });
const BACKWARD16 = defineKernel('activation', ACTIVATION_SOURCE, 'act_backward16', { constants: KIND_CONSTANTS });
const WIDE = new Map([[FORWARD, FORWARD16], [BACKWARD, BACKWARD16]]);

export interface ActivationOptions {
  kind: ActivationKind;
  /** Output scale; defaults to GAMMA[kind]. Pass 1 for the plain activation. */
  gamma?: number;
}

export interface ActivationAttrs {
  kind: ActivationKind;
  gamma: number;
  hasBias: boolean;
}

function dispatchActivation(kernel: Kernel, x: Tensor, bias: Tensor | undefined, dy: Tensor | undefined, a: ActivationAttrs): Tensor {
  const out = empty(x.shape);
  if (!out.size) return out;
  const params = { n: x.size, channels: bias ? bias.size : 1, gamma: a.gamma };
  const overrides = { KIND: KIND_CODES[a.kind], HAS_BIAS: a.hasBias ? 1 : 0 };
  // The kernel references `bias` behind an override branch, so it is always bound: x stands in when there is none.
  if (streamsMat4x4(x.size) && streamsMat4x4(bias?.size ?? 16)) {
    const bindings: Record<string, BindingSource> = { x16: x, bias16: bias ?? x, out16: out };
    if (dy) bindings.dy16 = dy;
    backend().dispatch({ kernel: WIDE.get(kernel)!, bindings, params, overrides, workgroups: linearGroups(x.size / 16) });
    return out;
  }
  const bindings: Record<string, BindingSource> = { x, bias: bias ?? x, out };
  if (dy) bindings.dy = dy;
  const elems = elementsPerInvocation(x.size, bias ? [bias.size] : undefined);
  backend().dispatch({ kernel, bindings, params, overrides: { ...overrides, ELEMS: elems }, workgroups: linearGroups(x.size / elems) });
  return out;
}

export const activationOp = defineOp<ActivationAttrs>({
  name: 'activation',
  forward: (inputs, a) => {
    const [x, bias] = inputs as [Tensor, Tensor | undefined];
    return { out: dispatchActivation(FORWARD, x, bias, undefined, a), save: inputs };
  },
  backward: (dy, { saved, attrs, needs }) => {
    const [x, bias] = saved as [Tensor, Tensor | undefined];
    const dx = dispatchActivation(BACKWARD, x, bias, dy, attrs);
    if (!bias) return [dx];
    // d bias[c] = Σ over every position that shares channel c.
    return [needs[0] ? dx : null, needs[1] ? sumTo(dx, bias.shape) : null];
  },
});

function validate(x: Tensor, opts: ActivationOptions & { bias?: Tensor }): number {
  checkTensor('activation', 'x', x);
  checkOptions('activation', opts ?? null, ['kind', 'gamma', 'bias']);
  if (opts.bias !== undefined) checkTensor('activation', 'bias', opts.bias);
  if (typeof opts.kind !== 'string' || !Object.hasOwn(GAMMA, opts.kind)) {
    checkOneOf('activation', 'kind', opts.kind, Object.keys(GAMMA));
    throw new ValueError(`activation: kind must be one of ${Object.keys(GAMMA).join(', ')}, got ${String(opts?.kind)}`);
  }
  const gamma = opts.gamma === undefined ? GAMMA[opts.kind] : opts.gamma;
  if (typeof gamma !== 'number' || !Number.isFinite(gamma)) throw new ValueError(`activation: gamma must be a finite number, got ${String(gamma)}`);
  assertF32('activation', x);
  const b = opts.bias;
  if (b) {
    assertF32('activation', b);
    const channels = x.shape[x.rank - 1];
    if (b.rank !== 1 || x.rank === 0 || b.size !== channels) {
      throw new ShapeError(`activation: bias must be a vector of the last axis of x ${describeShape(x.shape)} (${channels ?? 'none'}), got ${describeShape(b.shape)}`);
    }
  }
  return gamma;
}

/**
 * y = gamma · act(x + bias). `bias` (optional) is a vector over the last axis.
 *
 *   activation(x, { kind: 'gelu' })                 // gamma = GAMMA.gelu
 *   activation(x, { kind: 'relu', bias, gamma: 1 }) // fused bias + plain relu
 */
export function activation(x: Tensor, opts: ActivationOptions & { bias?: Tensor }): Tensor {
  const gamma = validate(x, opts);
  const attrs: ActivationAttrs = { kind: opts.kind, gamma, hasBias: !!opts.bias };
  return activationOp(opts.bias ? [x, opts.bias] : [x], attrs);
}
