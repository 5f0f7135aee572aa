/**
 * What the optimizers take: a model's `ModelState` (stepped in place, in its own flat
 * regions), or a loose list of tensors (`ParamSpec`s) for single-op users, which the
 * optimizer mirrors in a private state and copies in and out around each step.
 */
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { describeValue } from '../runtime/validate.js';
import { ModelState, StateLayout } from '../state/model-state.js';
import { gather } from '../state/flat.js';

/** A loose parameter for `sgdAgc` / `ema`. */
export interface ParamSpec {
  /** Used by `excludeFromAgc` and in error messages (default `param<i>`). */
  name?: string;
  tensor: Tensor;
  /** Only 'weight' gets weight decay (gains, biases and other scalars do not). Default: 'weight' for rank ≥ 2, else 'bias'. */
  kind?: 'weight' | 'gain' | 'bias' | 'scale' | (string & {});
  /**
   * The axis that indexes AGC units (null: the whole tensor is one unit). Default: the last
   * axis for rank ≥ 2 (HWIO conv: output channel; (in, out) linear: output column), else null.
   */
  unitAxis?: number | null;
  /** Shorthand for unitAxis: 'HWIO' | 'IO' (last axis), 'OIHW' | 'OI' (axis 0), 'whole'. */
  layout?: 'HWIO' | 'IO' | 'OIHW' | 'OI' | 'whole';
}

export type ParamLike = ParamSpec | Tensor;


/** vec4s per invocation of the streaming EMA kernel: its `VECS` override. */
export const STREAM_VECS = 4;

function isTensor(p: unknown): p is Tensor {
  return !!p && typeof (p as Tensor).checkedStorage === 'function';
}

const LAYOUT_AXIS: Record<NonNullable<ParamSpec['layout']>, (rank: number) => number | null> = {
  HWIO: (rank) => rank - 1,
  IO: (rank) => rank - 1,
  OIHW: () => 0,
  OI: () => 0,
  whole: () => null,
};

/** unitAxis, else the layout's axis, else the last axis for rank ≥ 2 and the whole tensor otherwise. */
function unitAxisOf(spec: ParamSpec, rank: number, name: string): number | null {
  if (spec.layout !== undefined && !(spec.layout in LAYOUT_AXIS)) throw new ValueError(`parameter ${name}: unknown layout '${String(spec.layout)}'`);
  let axis: number | null;
  if (spec.unitAxis !== undefined) axis = spec.unitAxis;
  else if (spec.layout !== undefined) axis = LAYOUT_AXIS[spec.layout](rank);
  else axis = rank >= 2 ? rank - 1 : null;
  if (axis === null) return null;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ValueError(`parameter ${name}: unitAxis ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** The state an optimizer works on, and the loose tensors it mirrors (null for a ModelState). */
export interface Target {
  state: ModelState;
  loose: Tensor[] | null;
}

/**
 * A ModelState is used as it is. A loose list is checked (names, kinds, unit axes, no
 * repeats) and mirrored in a private state of the same layout, holding a copy of its values.
 */
export function targetOf(params: ModelState | readonly ParamLike[], what: string, maxSegmentBytes?: number): Target {
  if (params instanceof ModelState) return { state: params, loose: null };
  if (!Array.isArray(params) || !params.length) throw new ValueError(`${what}: expected a ModelState (model.state) or a non-empty list of parameters, got ${describeValue(params)}`);
  const layout = new StateLayout();
  const seen = new Set<Tensor>();
  const tensors = params.map((p, i) => {
    const spec: ParamSpec = isTensor(p) ? { tensor: p } : p;
    const name = spec?.name ?? `param${i}`;
    const t = spec?.tensor;
    if (!isTensor(t)) throw new ValueError(`${what}: parameter ${name}: 'tensor' is not a Tensor`);
    t.checkedStorage();
    if (t.dtype !== 'f32') throw new ValueError(`${what}: parameter ${name} must be f32, got ${t.dtype}`);
    if (seen.has(t)) throw new ValueError(`${what}: parameter ${name}: the same tensor is listed twice`);
    seen.add(t);
    const kind = spec.kind ?? (t.rank >= 2 ? 'weight' : 'bias');
    layout.param(name, kind === 'weight' ? 'weight' : 'bias', t.shape, (n) => new Float32Array(n), unitAxisOf(spec, t.rank, name));
    return t as Tensor;
  });
  const state = ModelState.create(layout, { maxSegmentBytes });
  copyIn(state, tensors);
  return { state, loose: tensors };
}

/** Copy loose tensors into their mirror state's regions. */
export function copyIn(state: ModelState, tensors: readonly Tensor[]): void {
  for (const r of state.regions) gather(r.segment, tensors, r.storage.buffer);
}


/**
 * Check that `tensors` line up with the state's parameters (count, shape, dtype, alive),
 * before anything is recorded: a bad step must not touch any weight.
 */
export function checkAligned(what: string, state: ModelState, tensors: readonly Tensor[]): void {
  const params = state.params;
  if (!Array.isArray(tensors) || tensors.length !== params.length) {
    throw new ShapeError(`${what}: expected ${params.length} tensors (one per parameter), got ${Array.isArray(tensors) ? tensors.length : typeof tensors}`);
  }
  tensors.forEach((t, i) => {
    const p = params[i]!;
    const name = state.paramNames[i]!;
    if (!isTensor(t)) throw new ValueError(`${what}: entry ${i} (${name}) is not a Tensor`);
    t.checkedStorage();
    if (t.dtype !== 'f32') throw new ValueError(`${what}: ${name} must be f32, got ${t.dtype}`);
    if (t.rank !== p.rank || t.shape.some((d: number, k: number) => d !== p.shape[k])) {
      throw new ShapeError(`${what}: ${name} has shape ${describeShape(p.shape)}, got ${describeShape(t.shape)}`);
    }
  });
}
