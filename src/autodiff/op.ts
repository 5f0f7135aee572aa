/**
 * `defineOp`: the single way an op enters the system. The spec's `backward` is a required
 * field, so an op without a backward rule does not compile (non-differentiable ops say so
 * explicitly with `notDifferentiable`). The returned function validates that no input is
 * disposed, runs the forward, and records a tape node when a gradient is being taken.
 */
import { Tensor, checkTensor } from '../tensor/tensor.js';
import { activeTape, noGrad } from './tape.js';
import { closeScope, openScope } from '../tensor/scope.js';
import { ValueError } from '../runtime/errors.js';
import { backend } from '../runtime/init.js';
import { describeValue } from '../runtime/validate.js';

export interface BackwardContext<A> {
  /** The tensors the forward chose to save, in order. */
  saved: readonly Tensor[];
  inputs: readonly Tensor[];
  attrs: A;
  /** needs[i]: whether input i wants a gradient; skip work for the others. */
  needs: readonly boolean[];
}

export type BackwardRule<A> = (dy: Tensor, ctx: BackwardContext<A>) => readonly (Tensor | null)[];

export interface OpSpec<A> {
  name: string;
  /**
   * Validate (throwing typed errors before any GPU work), dispatch, and say what to save.
   * `save` may hold tensors the forward made for the backward (not inputs, not `out`):
   * they are freed after the backward, or at once when nothing records.
   */
  forward(inputs: readonly Tensor[], attrs: A): { out: Tensor; save?: readonly Tensor[] };
  backward: BackwardRule<A> | typeof notDifferentiable;
}

export const notDifferentiable = Symbol('notDifferentiable');

export interface OpDef<A> {
  readonly name: string;
  readonly spec: OpSpec<A>;
  (inputs: readonly Tensor[], attrs: A): Tensor;
}

export function defineOp<A>(spec: OpSpec<A>): OpDef<A> {
  const run = (inputs: readonly Tensor[], attrs: A): Tensor => {
    // Every declared input is a live tensor of the current device: a typed error naming
    // the input, before any GPU work (not a TypeError from deep inside the forward).
    if (!Array.isArray(inputs)) throw new ValueError(`${spec.name}: inputs must be an array of tensors, got ${describeValue(inputs)}`);
    inputs.forEach((t, i) => checkTensor(spec.name, `input ${i}`, t));
    const tape = activeTape();
    const record = tape !== null && spec.backward !== notDifferentiable && inputs.some((t) => tape.tracked.has(t));
    const { out, save = [] } = noGrad(() => forwardFreeingOnError(spec, inputs, attrs));
    backend().numerics?.note(spec.name, out, inputs); // opt-in: init({ checkNumerics: true })
    if (record) {
      const rule = spec.backward as BackwardRule<A>;
      tape.tracked.add(out);
      tape.nodes.push({
        op: spec.name,
        inputs,
        output: out,
        saved: save,
        backward: (dy, needs) => rule(dy, { saved: save, inputs, attrs, needs }),
      });
    } else {
      // A saved tensor that is neither an input nor the output was made for the backward
      // alone (e.g. weight standardization's statistics): nothing will run it.
      for (const t of save) if (t !== out && !inputs.includes(t)) t.dispose();
    }
    return out;
  };
  Object.defineProperty(run, 'name', { value: spec.name });
  return Object.assign(run, { spec }) as unknown as OpDef<A>;
}

/**
 * Run a forward in a memory scope: if it throws (a late validation, a device limit), what it
 * allocated so far goes back to the pool; if it returns, everything it made is handed on
 * untouched, as before.
 */
function forwardFreeingOnError<A>(spec: OpSpec<A>, inputs: readonly Tensor[], attrs: A): { out: Tensor; save?: readonly Tensor[] } {
  const scope = openScope();
  let result: { out: Tensor; save?: readonly Tensor[] };
  try {
    result = spec.forward(inputs, attrs);
  } catch (e) {
    closeScope(scope, new Set());
    throw e;
  }
  closeScope(scope, scope);
  return result;
}
