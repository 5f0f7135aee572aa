/**
 * How a family's layers declare their tensors: into one StateLayout, each initialiser seeded
 * from the model's seed and the tensor's name (so a tensor's initial values do not depend on
 * what else the model declares), with the AGC units every family uses.
 */
import { StateLayout, type StateKind, type StateRef } from '../state/model-state.js';
import { seedFor } from '../nfnet/initializers.js';

export class Declare {
  readonly layout = new StateLayout();
  constructor(private readonly seed: number) {}

  /**
   * A trainable tensor. AGC units: a weight's last axis (HWIO conv: output channel; (in, out)
   * linear: output column); every other kind is one unit (pass `unitAxis` to say otherwise).
   */
  param(name: string, kind: Exclude<StateKind, 'running'>, shape: readonly number[], init: (n: number, seed: number) => Float32Array,
    unitAxis: number | null = kind === 'weight' ? shape.length - 1 : null): StateRef {
    return this.layout.param(name, kind, shape, (n) => init(n, seedFor(this.seed, name)), unitAxis);
  }

  /** Non-trainable state (batch norm's running statistics). */
  running(name: string, shape: readonly number[], init: (n: number) => Float32Array): StateRef {
    return this.layout.running(name, shape, init);
  }
}

export const ones = (n: number) => new Float32Array(n).fill(1);
export const zeros = (n: number) => new Float32Array(n);

/** Elements of declared tensors. */
export const sizeOf = (...refs: StateRef[]) => refs.reduce((s, r) => s + r.shape.reduce((a, b) => a * b, 1), 0);
