/**
 * The fused epilogue of a conv forward: out = gamma · act(conv + bias), applied by the
 * kernel in its store (shaders/epilogue.wgsl) where it has one, so that conv + bias +
 * activation costs one dispatch and one pass over the output. The kernels that have it:
 * the quad-shared direct forwards (conv2d-band.wgsl, conv2d-quad.wgsl, conv2d-rows.wgsl) and the quad
 * small-channel forward (conv2d-small-quad.wgsl), i.e. SwiftShader's; after every other
 * kernel `applyEpilogue` runs the `activation` kernel.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { activation, KIND_CODES, KIND_CONSTANTS, withActivations, type ActivationKind } from '../activation.js';
import epilogueWgsl from '../../../shaders/epilogue.wgsl';

export interface ConvEpilogue {
  kind: ActivationKind;
  gamma: number;
  /** Per output channel, [cout]. */
  bias?: Tensor;
}

/** A conv kernel family's source with the epilogue (and the activations it applies) appended. */
export function withEpilogue(source: string): string {
  return `${withActivations(source)}\n${epilogueWgsl}`;
}

/** The constants such a family must be defined with (the activation codes). */
export const EPILOGUE_CONSTANTS = KIND_CONSTANTS;

/** The overrides that select the epilogue (none: the plain store). */
export function epilogueOverrides(e: ConvEpilogue | undefined): Record<string, number> {
  return e ? { KIND: KIND_CODES[e.kind], HAS_BIAS: e.bias ? 1 : 0, EPI_GAMMA: e.gamma } : {};
}

/** The `epi_bias` binding: the biases, or `standIn` (never read) without them. */
export function epilogueBias(e: ConvEpilogue | undefined, standIn: Tensor): Tensor {
  return e?.bias ?? standIn;
}

/** The epilogue after a conv whose kernel has none: the activation kernel, the conv's output freed. */
export function applyEpilogue(y: Tensor, e: ConvEpilogue): Tensor {
  const out = activation(y, { kind: e.kind, gamma: e.gamma, bias: e.bias });
  y.dispose();
  return out;
}
