/**
 * `valueAndGrad(f)` and `grad(f)`: reverse-mode differentiation of a function whose first
 * result is a scalar. Arguments may be tensors, arrays of tensors, or a model's state
 * (anything with a `params` list, e.g. `model.state`); gradients come back in the same
 * structure (an array aligned with `params` for a state). Everything created inside `f` is freed when the call returns, except
 * what `f` returns; saved activations are freed during the backward walk as soon as the
 * last node that needs them is done.
 */
import { Tensor, checkTensor } from '../tensor/tensor.js';
import { Tape, noGrad, withTape } from './tape.js';
import { closeScope, collectTensors, openScope } from '../tensor/scope.js';
import { DTypeError, ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { checkFunction, describeValue } from '../runtime/validate.js';
import { add } from '../ops/binary.js';
import { ones, zeros } from '../tensor/creation.js';

/** A set of tensors differentiated together: a ModelState's trainable parameters. */
export interface Differentiable {
  readonly params: readonly Tensor[];
}
export type Arg = Tensor | readonly Tensor[] | Differentiable;
type GradsOf<T extends readonly Arg[]> = { [K in keyof T]: T[K] extends Tensor ? Tensor : Tensor[] };

/** The tensors an argument stands for; anything else passes through to be refused by name. */
function tensorsOf(a: Arg): readonly Tensor[] {
  if (Array.isArray(a)) return a as readonly Tensor[];
  if (a && typeof a === 'object' && !(a instanceof Tensor) && Array.isArray((a as Differentiable).params)) return (a as Differentiable).params;
  return [a as Tensor];
}
/** f may return the scalar to differentiate alone, or `[scalar, ...aux]` (aux is returned, not differentiated). */
export type FnResult = Tensor | readonly [Tensor, ...Tensor[]];

function flatArgs(args: readonly Arg[]): Tensor[] {
  return args.flatMap((a) => [...tensorsOf(a)]);
}

/** f's result as [loss, ...aux]: a tensor, or a non-empty array of tensors (never a Promise). */
function splitResult(result: unknown): [Tensor, Tensor[]] {
  if (result instanceof Tensor) return [result, []];
  if (result instanceof Promise) {
    result.catch(() => undefined); // its rejection, if any, is reported by this error instead
    throw new ValueError('valueAndGrad: f returned a Promise; f must be synchronous (the tape and memory scope must not span an await)');
  }
  if (!Array.isArray(result) || !result.length || !result.every((t) => t instanceof Tensor)) {
    throw new ValueError(`valueAndGrad: f must return a scalar tensor or [scalar, ...aux tensors], got ${describeValue(result)}`);
  }
  const [loss, ...aux] = result as Tensor[];
  return [loss!, aux];
}

function backward(tape: Tape, loss: Tensor, wanted: readonly Tensor[], keepAlive: Set<Tensor>, scopeTensors: Set<Tensor>): Map<Tensor, Tensor> {
  const grads = new Map<Tensor, Tensor>();
  const wantedSet = new Set(wanted);
  // A saved intermediate can be freed after the earliest node (in tape order) that saved it.
  const lastUse = new Map<Tensor, number>();
  tape.nodes.forEach((n, i) => {
    for (const t of n.saved) if (!lastUse.has(t)) lastUse.set(t, i);
  });
  const freeable = (t: Tensor) => scopeTensors.has(t) && !keepAlive.has(t) && !wantedSet.has(t);

  grads.set(loss, ones(loss.shape));
  for (let i = tape.nodes.length - 1; i >= 0; i--) {
    const node = tape.nodes[i]!;
    const dy = grads.get(node.output);
    if (dy) {
      grads.delete(node.output);
      const needs = node.inputs.map((t) => tape.tracked.has(t));
      // The rule's temporaries die with this inner scope; only the gradients survive.
      const inner = openScope();
      let dxs: readonly (Tensor | null)[];
      try {
        dxs = node.backward(dy, needs);
      } catch (e) {
        closeScope(inner, new Set()); // keep the scope stack balanced so the real error surfaces
        throw e;
      }
      closeScope(inner, collectTensors(dxs));
      // A rule may pass dy through, or return one tensor for two inputs: give each its own
      // handle (views share storage), so disposing one never frees another.
      const owned = new Set<Tensor>([dy]);
      node.inputs.forEach((input, k) => {
        let g = dxs[k];
        if (g && owned.has(g)) g = g.view(g.shape);
        if (g) owned.add(g);
        if (!g || !needs[k]) {
          g?.dispose();
          return;
        }
        if (g.shape.length !== input.shape.length || g.shape.some((d, j) => d !== input.shape[j])) {
          throw new ShapeError(`internal: backward of '${node.op}' gave a gradient of shape ${describeShape(g.shape)} for input ${describeShape(input.shape)}`);
        }
        const prev = grads.get(input);
        if (prev) {
          grads.set(input, add(prev, g));
          prev.dispose();
          g.dispose();
        } else grads.set(input, g);
      });
      if (!wantedSet.has(node.output)) dy.dispose();
      else grads.set(node.output, dy);
    }
    for (const t of node.saved) if (lastUse.get(t) === i && freeable(t)) t.dispose();
  }
  return grads;
}

export function valueAndGrad<A extends readonly Arg[]>(f: (...args: A) => FnResult) {
  checkFunction('valueAndGrad', 'f', f, true);
  return async (...args: A): Promise<[Tensor, GradsOf<A>, Tensor[]]> => {
    const params = flatArgs(args);
    if (!params.length) throw new ValueError('valueAndGrad: f needs at least one tensor argument to differentiate');
    params.forEach((p, i) => checkTensor('valueAndGrad', `argument ${i}`, p));
    for (const p of params) {
      if (p.dtype !== 'f32') throw new DTypeError(`valueAndGrad: can only differentiate f32 tensors, got ${p.dtype} ${describeShape(p.shape)}`);
    }
    const tape = new Tape();
    for (const p of params) tape.tracked.add(p);
    const scope = openScope();
    let grads: Map<Tensor, Tensor>;
    let loss: Tensor;
    let aux: Tensor[];
    const survivors = new Set<Tensor>();
    try {
      [loss, aux] = splitResult(withTape(tape, () => f(...args)));
      if (loss.size !== 1) {
        throw new ShapeError(`valueAndGrad: f must return a scalar (one element) first, got shape ${describeShape(loss.shape)}`);
      }
      for (const t of collectTensors([loss, aux])) survivors.add(t);
      // Intermediates that no backward rule saved are not needed any more.
      const saved = new Set(tape.nodes.flatMap((n) => n.saved));
      for (const t of scope) if (!saved.has(t) && !survivors.has(t) && !params.includes(t)) t.dispose();
      grads = noGrad(() => backward(tape, loss, params, survivors, scope));
    } catch (e) {
      closeScope(scope, new Set());
      throw e;
    }
    const out = params.map((p) => grads.get(p) ?? zeros(p.shape));
    for (const g of out) survivors.add(g);
    closeScope(scope, survivors);
    let k = 0;
    const structured = args.map((a) => (a instanceof Tensor ? out[k++]! : tensorsOf(a).map(() => out[k++]!))) as unknown as GradsOf<A>;
    return [loss, structured, aux];
  };
}

/** Gradients only; the value is disposed. */
export function grad<A extends readonly Arg[]>(f: (...args: A) => FnResult) {
  checkFunction('grad', 'f', f, true);
  const vg = valueAndGrad(f);
  return async (...args: A): Promise<GradsOf<A>> => {
    const [loss, grads, aux] = await vg(...args);
    loss.dispose();
    for (const t of aux) t.dispose();
    return grads;
  };
}
