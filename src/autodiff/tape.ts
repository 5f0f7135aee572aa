/**
 * The tape: a flat array of nodes recorded while a gradient is being taken, walked once in
 * reverse (no recursion). A node holds its inputs, its output, the tensors its backward
 * rule saved, and the rule itself. Saved tensors are disposed as soon as the last node that
 * saved them has run its backward; gradients of a tensor used twice are summed.
 */
import type { Tensor } from '../tensor/tensor.js';
import { checkFunction } from '../runtime/validate.js';

export interface TapeNode {
  op: string;
  inputs: readonly Tensor[];
  output: Tensor;
  saved: readonly Tensor[];
  /** Returns one gradient per input (null where not needed or not defined). */
  backward(dy: Tensor, needs: readonly boolean[]): readonly (Tensor | null)[];
}

export class Tape {
  readonly nodes: TapeNode[] = [];
  /** Tensors whose gradient flows: the differentiated arguments and recorded outputs. */
  readonly tracked = new Set<Tensor>();
}

let active: Tape | null = null;
let gradDisabled = 0;

export function activeTape(): Tape | null {
  return gradDisabled > 0 ? null : active;
}

export function withTape<T>(tape: Tape, fn: () => T): T {
  const prev = active;
  active = tape;
  try {
    return fn();
  } finally {
    active = prev;
  }
}

/** Run `fn` without recording anything (evaluation, optimizer updates, backward rules). */
export function noGrad<T>(fn: () => T): T {
  checkFunction('noGrad', 'fn', fn);
  gradDisabled++;
  try {
    return fn();
  } finally {
    gradDisabled--;
  }
}

export function isGradEnabled(): boolean {
  return gradDisabled === 0 && active !== null;
}
