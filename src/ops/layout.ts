/**
 * Shape and data-movement ops: reshape (a free view), broadcastTo / sumTo (each the
 * other's gradient), permute / transpose, slice, pad, concat. All movement runs on two
 * kernels in shaders/layout.wgsl.
 */
import { defineOp, type OpDef } from '../autodiff/op.js';
import { checkTensor, checkTensors, type Tensor } from '../tensor/tensor.js';
import { describeValue } from '../runtime/validate.js';
import { checkShape, empty, sizeOf } from '../tensor/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { DTypeError, ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { asVec4, backend, broadcastShapes, broadcastStrides, coalesceDims, elementsPerInvocation, linearGroups, normalizeAxes, sameShape, stridesOf } from './util.js';
import layoutWgsl from '../../shaders/layout.wgsl';
import { sumOp } from './reduce.js';

const GATHER = defineKernel('layout', layoutWgsl, 'gather');
const SCATTER = defineKernel('layout', layoutWgsl, 'scatter');

interface GatherView {
  base?: number;
  strides: readonly number[];
  lo?: readonly number[];
  extent?: readonly number[];
  fill?: number;
}

/** out[c] = x[base + Σ (c_d − lo_d)·strides_d] inside the extent, else fill. */
function gatherInto(x: Tensor, outShape: readonly number[], v: GatherView): Tensor {
  const out = empty(outShape, x.dtype); // pure data movement: i32/u32 stay what they are
  if (!out.size) return out;
  // Without padding, dimensions contiguous in both source and output merge (fewer index ops).
  const plain = !v.lo && !v.extent;
  const k = plain ? coalesceDims(outShape, [stridesOf(outShape), v.strides]) : { shape: [...outShape], strides: [[], [...v.strides]] };
  const lo = v.lo ?? k.shape.map(() => 0);
  const extent = v.extent ?? k.shape;
  const elems = plain ? elementsPerInvocation(out.size, k.shape) : 1;
  backend().dispatch({
    kernel: GATHER,
    bindings: { x, out },
    params: {
      n: out.size, rank: k.shape.length, base: v.base ?? 0, fill: v.fill ?? 0, shape: k.shape,
      strides: k.strides[1]!, lo, extent,
      shape4: asVec4(k.shape, 1), strides4: asVec4(k.strides[1]!, 0), lo4: asVec4(lo, 0), extent4: asVec4(extent, 1),
    },
    overrides: { RANK: Math.max(1, k.shape.length), ELEMS: elems },
    workgroups: linearGroups(out.size / elems),
  });
  return out;
}

// ------------------------------------------------------------------ reshape

export const reshapeOp = defineOp<{ shape: readonly number[] }>({
  name: 'reshape',
  forward: ([x], { shape }) => ({ out: x!.view(shape) }),
  backward: (dy, { inputs: [x] }) => [dy.view(x!.shape)],
});

/** Same data, new shape; one dimension may be -1 (inferred). A free view, no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('reshape', 'x', x);
  if (!Array.isArray(shape as unknown) || shape.some((d) => !Number.isSafeInteger(d) || d < -1)) {
    throw new ShapeError(`reshape: shape must be an array of non-negative integers (one may be -1), got ${describeValue(shape)}`);
  }
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new ShapeError(`reshape: at most one dimension may be -1, got ${describeShape(shape)}`);
  const known = sizeOf(shape.filter((d) => d !== -1));
  const resolved = shape.map((d) => (d === -1 ? (known ? x.size / known : 0) : d));
  checkShape(resolved, 'reshape target');
  if (sizeOf(resolved) !== x.size) {
    throw new ShapeError(`reshape: cannot view ${describeShape(x.shape)} (${x.size} elements) as ${describeShape(shape)}`);
  }
  return reshapeOp([x], { shape: resolved });
}

// ------------------------------------------------------------------ broadcast / sumTo

export const broadcastToOp = defineOp<{ shape: readonly number[] }>({
  name: 'broadcastTo',
  forward: ([x], { shape }) => ({ out: gatherInto(x!, shape, { strides: broadcastStrides(x!.shape, shape) }) }),
  backward: (dy, { inputs: [x] }) => [sumTo(dy, x!.shape)],
});

export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('broadcastTo', 'x', x);
  checkShape(shape, 'broadcastTo: shape');
  const target = broadcastShapes('broadcastTo', x.shape, shape);
  if (!sameShape(target, shape)) {
    throw new ShapeError(`broadcastTo: ${describeShape(x.shape)} cannot be broadcast to ${describeShape(shape)}`);
  }
  // Same shape: a free view, but through reshapeOp so a tracked input stays on the tape.
  return sameShape(x.shape, shape) ? reshapeOp([x], { shape }) : broadcastToOp([x], { shape });
}

/** Sum a broadcast result back down to `shape` (the gradient of broadcasting). */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('sumTo', 'x', x);
  checkShape(shape, 'sumTo: shape');
  if (sameShape(x.shape, shape)) return x;
  if (!sameShape(broadcastShapes('sumTo', shape, x.shape), x.shape)) {
    throw new ShapeError(`sumTo: ${describeShape(x.shape)} is not a broadcast of ${describeShape(shape)}`);
  }
  const lead = x.rank - shape.length;
  const axes = x.shape.map((d, i) => (i < lead || (shape[i - lead] === 1 && d !== 1) ? i : -1)).filter((i) => i >= 0);
  const s = sumOp([x], { axes, keepdims: true });
  const out = reshape(s, shape);
  s.dispose(); // the view keeps the storage; this handle would otherwise hold it for ever
  return out;
}

// ------------------------------------------------------------------ permute

export const permuteOp = defineOp<{ perm: readonly number[] }>({
  name: 'permute',
  forward: ([x], { perm }) => {
    const src = stridesOf(x!.shape);
    return { out: gatherInto(x!, perm.map((p) => x!.shape[p]!), { strides: perm.map((p) => src[p]!) }) };
  },
  backward: (dy, { attrs: { perm } }) => {
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [permute(dy, inverse)];
  },
});

/** Reorder dimensions: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  checkTensor('permute', 'x', x);
  if (!Array.isArray(perm as unknown)) throw new ValueError(`permute: perm must be an array of axes, got ${describeValue(perm)}`);
  normalizeAxes('permute', perm, x.rank); // range and duplicate checks
  if (perm.length !== x.rank) {
    throw new ShapeError(`permute: perm must list all ${x.rank} axes of ${describeShape(x.shape)}, got ${JSON.stringify(perm)}`);
  }
  const resolved = perm.map((a) => (a < 0 ? a + x.rank : a));
  if (resolved.every((a, i) => a === i)) return reshapeOp([x], { shape: x.shape }); // a view that stays on the tape
  return permuteOp([x], { perm: resolved });
}

/** Swap two axes (default: the last two). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  checkTensor('transpose', 'x', x);
  if (x.rank < 2) throw new ShapeError(`transpose: needs rank >= 2, got ${describeShape(x.shape)}`);
  const [a, b] = [axis0, axis1].map((ax) => normalizeAxes('transpose', ax, x.rank)[0]!);
  const perm = [...Array(x.rank).keys()];
  [perm[a!], perm[b!]] = [perm[b!]!, perm[a!]!];
  return permute(x, perm);
}

// ------------------------------------------------------------------ slice / pad

type SliceAttrs = { begin: readonly number[]; size: readonly number[] };
type PadAttrs = { before: readonly number[]; after: readonly number[]; value: number };

export const sliceOp: OpDef<SliceAttrs> = defineOp<SliceAttrs>({
  name: 'slice',
  forward: ([x], { begin, size }) => {
    const st = stridesOf(x!.shape);
    const base = begin.reduce((acc, b, i) => acc + b * st[i]!, 0);
    return { out: gatherInto(x!, size, { base, strides: st }) };
  },
  backward: (dy, { inputs: [x], attrs: { begin, size } }) => [
    padOp([dy], { before: begin, after: x!.shape.map((d, i) => d - begin[i]! - size[i]!), value: 0 }),
  ],
});

/** x[begin : begin + size] along every axis; size -1 means "to the end". */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  checkTensor('slice', 'x', x);
  if (!Array.isArray(begin as unknown) || !Array.isArray(size as unknown)) throw new ValueError(`slice: begin and size must be arrays of integers, got ${describeValue(begin)} and ${describeValue(size)}`);
  if (begin.length !== x.rank || size.length !== x.rank) {
    throw new ShapeError(`slice: begin and size need ${x.rank} entries for ${describeShape(x.shape)}, got ${begin.length} and ${size.length}`);
  }
  const resolved = size.map((s, i) => (s === -1 ? x.shape[i]! - begin[i]! : s));
  if (size.some((s) => !Number.isInteger(s) || s < -1)) throw new ValueError(`slice: size entries must be integers >= 0 (or -1: to the end), got ${describeValue(size)}`);
  resolved.forEach((s, i) => {
    const b = begin[i]!;
    if (!Number.isInteger(b) || !Number.isInteger(s) || b < 0 || s < 0 || b + s > x.shape[i]!) {
      throw new ValueError(`slice: axis ${i} range [${b}, ${b + s}) is outside 0…${x.shape[i]} of ${describeShape(x.shape)}`);
    }
  });
  return sliceOp([x], { begin, size: resolved });
}

export const padOp: OpDef<PadAttrs> = defineOp<PadAttrs>({
  name: 'pad',
  forward: ([x], { before, after, value }) => {
    const shape = x!.shape.map((d, i) => d + before[i]! + after[i]!);
    return { out: gatherInto(x!, shape, { strides: stridesOf(x!.shape), lo: before, extent: x!.shape, fill: value }) };
  },
  backward: (dy, { inputs: [x], attrs: { before } }) => [sliceOp([dy], { begin: before, size: x!.shape })],
});

/** Constant padding: `paddings[i] = [before, after]` for each axis. */
export function pad(x: Tensor, paddings: readonly (readonly [number, number])[], value = 0): Tensor {
  checkTensor('pad', 'x', x);
  if (!Array.isArray(paddings as unknown) || !paddings.every((p) => Array.isArray(p as unknown) && p.length === 2)) {
    throw new ValueError(`pad: paddings must be an array of [before, after] pairs, got ${describeValue(paddings)}`);
  }
  if (typeof value !== 'number') throw new ValueError(`pad: value must be a number, got ${describeValue(value)}`);
  if (paddings.length !== x.rank) {
    throw new ShapeError(`pad: need ${x.rank} [before, after] pairs for ${describeShape(x.shape)}, got ${paddings.length}`);
  }
  for (const [b, a] of paddings) {
    if (!Number.isInteger(b) || !Number.isInteger(a) || b < 0 || a < 0) {
      throw new ValueError(`pad: paddings must be non-negative integers, got ${JSON.stringify(paddings)}`);
    }
  }
  if (!Number.isFinite(value)) throw new ValueError(`pad: value must be finite, got ${value}`);
  if (value !== 0 && x.dtype !== 'f32') throw new DTypeError(`pad: a non-zero fill value needs an f32 tensor, got ${x.dtype} ${describeShape(x.shape)}`);
  return padOp([x], { before: paddings.map((p) => p[0]), after: paddings.map((p) => p[1]), value });
}

// ------------------------------------------------------------------ concat

export const concatOp = defineOp<{ axis: number }>({
  name: 'concat',
  forward: (xs, { axis }) => {
    const shape = [...xs[0]!.shape];
    shape[axis] = xs.reduce((n, t) => n + t.shape[axis]!, 0);
    const out = empty(shape, xs[0]!.dtype);
    const dst = stridesOf(shape);
    let offset = 0;
    for (const t of xs) {
      if (t.size) {
        backend().dispatch({
          kernel: SCATTER,
          bindings: { x: t, out },
          params: { n: t.size, rank: shape.length, base: offset * dst[axis]!, fill: 0, shape: t.shape, strides: dst, lo: [], extent: [], shape4: [], strides4: [], lo4: [], extent4: [] },
          overrides: { RANK: shape.length },
          workgroups: linearGroups(t.size),
        });
      }
      offset += t.shape[axis]!;
    }
    return { out };
  },
  backward: (dy, { inputs, attrs: { axis }, needs }) => {
    let offset = 0;
    return inputs.map((t, k) => {
      const begin = t.shape.map((_, i) => (i === axis ? offset : 0));
      offset += t.shape[axis]!;
      return needs[k] ? sliceOp([dy], { begin, size: t.shape }) : null;
    });
  },
});

/** Join tensors along an existing axis; all other dimensions must match. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs as unknown)) throw new ValueError(`concat: xs must be an array of tensors, got ${describeValue(xs)}`);
  if (!xs.length) throw new ValueError('concat: needs at least one tensor');
  checkTensors('concat', Object.fromEntries(xs.map((t, i) => [`xs[${i}]`, t])));
  const [ax] = normalizeAxes('concat', axis, xs[0]!.rank);
  for (const t of xs) {
    if (t.dtype !== xs[0]!.dtype) throw new DTypeError(`concat: all tensors need one dtype, got ${xs[0]!.dtype} and ${t.dtype} ${describeShape(t.shape)}`);
  }
  for (const t of xs) {
    if (t.rank !== xs[0]!.rank || t.shape.some((d, i) => i !== ax && d !== xs[0]!.shape[i])) {
      throw new ShapeError(`concat: along axis ${ax}, ${describeShape(t.shape)} does not match ${describeShape(xs[0]!.shape)}`);
    }
  }
  return concatOp(xs, { axis: ax! });
}
