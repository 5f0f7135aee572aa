/**
 * `defineOp`: the single way an op enters the system. The spec's `backward` is a required
 * field, so an op without a backward rule does not compile (non-differentiable ops say so
 * explicitly with `notDifferentiable`). The returned function validates that no input is
 * disposed, runs the forward, and records a tape node when a gradient is being taken.
 */
import { Tensor } from './tensor.js';
import { activeTape, noGrad } from './tape.js';

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
    for (const t of inputs) t.checkedStorage(); // DisposedError before any GPU work
    const tape = activeTape();
    const record = tape !== null && spec.backward !== notDifferentiable && inputs.some((t) => tape.tracked.has(t));
    const { out, save = [] } = noGrad(() => spec.forward(inputs, attrs));
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
