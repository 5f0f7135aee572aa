/**
 * Flat multi-tensor storage for optimizer state. Parameters are packed, in order, into
 * segments: each segment is one flat f32 region per state (params, grads, momentum, EMA)
 * plus a metadata table in a storage buffer (offset, size, AGC unit layout, flags per
 * tensor). A kernel then walks every tensor of a segment in one dispatch. A segment never
 * exceeds the device's maxStorageBufferBindingSize, so F-series models split into a few.
 *
 * `sgdAgc` re-homes the parameters into its weight region (each becomes a slice of that
 * buffer), so its steps read and write them in place. Everything else — gradients, or a
 * parameter that was re-homed elsewhere since — is gathered into the region and scattered
 * back with buffer copies, recorded in the same encoder as the step's kernels.
 */
import type { Tensor } from '../autodiff/tensor.js';
import { backend } from '../runtime/init.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';

/** What `sgdAgc` and `Ema` accept for each parameter. */
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

export const FLAG_AGC = 1;
export const FLAG_DECAY = 2;
const INFO_WORDS = 8;

/**
 * Tensors start on multiples of this many bytes: the device's storage-binding offset
 * alignment (256 on every adapter we know), so a tensor of a flat region can be bound on
 * its own. Padding costs less than one alignment per tensor.
 */
function alignmentElements(): number {
  return Math.max(4, backend().device.limits.minStorageBufferOffsetAlignment / 4);
}

export interface FlatEntry {
  name: string;
  /** Index in the caller's parameter list. */
  index: number;
  shape: readonly number[];
  offset: number;
  size: number;
  units: number;
  inner: number;
  unitBase: number;
  flags: number;
}

export interface Segment {
  entries: FlatEntry[];
  length: number;
  totalUnits: number;
  /** TensorInfo table (shaders/optim.wgsl). */
  info: GPUBuffer;
}

export interface ResolvedParam {
  name: string;
  tensor: Tensor;
  kind: string;
  unitAxis: number | null;
}

function isTensor(p: ParamLike): p is Tensor {
  return typeof (p as Tensor).checkedStorage === 'function';
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

/** Normalise a parameter list (names, kinds, unit axes); throws on bad or repeated entries. */
export function resolveParams(params: readonly ParamLike[]): ResolvedParam[] {
  if (!Array.isArray(params) || !params.length) throw new ValueError('optimizer: expected a non-empty list of parameters');
  const seen = new Set<Tensor>();
  return params.map((p, i) => {
    const spec: ParamSpec = isTensor(p) ? { tensor: p } : p;
    const name = spec.name ?? `param${i}`;
    const t = spec.tensor;
    if (!t || typeof t.checkedStorage !== 'function') throw new ValueError(`parameter ${name}: 'tensor' is not a Tensor`);
    t.checkedStorage();
    if (t.dtype !== 'f32') throw new ValueError(`parameter ${name}: must be f32, got ${t.dtype}`);
    if (seen.has(t)) throw new ValueError(`parameter ${name}: the same tensor is listed twice`);
    seen.add(t);
    return { name, tensor: t, kind: spec.kind ?? (t.rank >= 2 ? 'weight' : 'bias'), unitAxis: unitAxisOf(spec, t.rank, name) };
  });
}

function unitLayout(shape: readonly number[], axis: number | null): { units: number; inner: number } {
  if (axis === null) return { units: 1, inner: 1 };
  return { units: shape[axis]!, inner: shape.slice(axis + 1).reduce((a, b) => a * b, 1) };
}

/**
 * Pack parameters, in order, into segments of at most `maxBytes` each (default: the
 * device's maxStorageBufferBindingSize); zero-size tensors are skipped.
 */
export function planSegments(params: readonly ResolvedParam[], flagsOf: (p: ResolvedParam) => number, maxBytes?: number): Segment[] {
  const limit = backend().device.limits.maxStorageBufferBindingSize;
  if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes >= 16)) throw new ValueError(`optimizer: maxSegmentBytes must be an integer >= 16 (one vec4), got ${maxBytes}`);
  // Whole vec4s, so that the vec4-padded region stays within the binding limit.
  const maxElems = Math.floor(Math.min(limit, maxBytes ?? limit) / 16) * 4;
  type Plan = Omit<Segment, 'info'>;
  const segments: Plan[] = [];
  let cur: Plan | null = null;
  const align = alignmentElements();
  const aligned = (n: number) => Math.ceil(n / align) * align;
  params.forEach((p, index) => {
    const size = p.tensor.size;
    if (!size) return;
    if (size > maxElems) {
      throw new ShapeError(`parameter ${p.name} ${describeShape(p.tensor.shape)} exceeds the segment size (${maxElems} floats; maxStorageBufferBindingSize is ${limit} bytes)`);
    }
    if (!cur || aligned(cur.length) + size > maxElems) segments.push((cur = { entries: [], length: 0, totalUnits: 0 }));
    const { units, inner } = unitLayout(p.tensor.shape, p.unitAxis);
    const offset = aligned(cur.length);
    cur.entries.push({ name: p.name, index, shape: [...p.tensor.shape], offset, size, units, inner, unitBase: cur.totalUnits, flags: flagsOf(p) });
    cur.length = offset + size;
    cur.totalUnits += units;
  });
  return segments.map((s) => ({ ...s, info: uploadInfo(s.entries) }));
}

function uploadInfo(entries: readonly FlatEntry[]): GPUBuffer {
  const words = new Uint32Array(entries.length * INFO_WORDS);
  entries.forEach((e, i) => words.set([e.offset, e.size, e.units, e.inner, e.unitBase, e.flags, 0, 0], i * INFO_WORDS));
  const b = backend();
  const buf = b.pool.acquire(words.byteLength);
  b.upload(buf, words);
  return buf;
}

/** Elements of a segment's flat region, rounded up to whole vec4s (the streaming kernels read vec4s). */
export function paddedLength(s: Segment): number {
  return Math.max(4, Math.ceil(s.length / 4) * 4);
}

/** A flat f32 region the size of a segment. */
export function flatBuffer(s: Segment): GPUBuffer {
  return backend().pool.acquire(paddedLength(s) * 4);
}

export function zeroFill(buf: GPUBuffer, s: Segment): void {
  backend().upload(buf, new Float32Array(paddedLength(s)));
}

/** vec4s per invocation of the streaming EMA kernel: its `VECS` override. */
export const STREAM_VECS = 4;

/** Workgroups of ema_update over a segment. */
export function streamingWorkgroups(s: Segment): number {
  return workgroupsFor(Math.ceil(paddedLength(s) / 4 / STREAM_VECS));
}

/** Whether `t` already lives at entry `e`'s place in `flat` (a parameter the optimizer re-homed there). */
export function isHomed(t: Tensor, e: FlatEntry, flat: GPUBuffer): boolean {
  const r = t.binding;
  return r.buffer === flat && (r.offset ?? 0) === e.offset * 4;
}

/** Copy each tensor into its place in the flat region (tensors already there are skipped). */
export function gather(s: Segment, tensors: readonly Tensor[], flat: GPUBuffer): void {
  const b = backend();
  for (const e of s.entries) {
    const t = tensors[e.index]!;
    if (isHomed(t, e, flat)) continue;
    const r = t.binding;
    b.copy(r.buffer, r.offset ?? 0, flat, e.offset * 4, e.size * 4);
  }
}

/** Copy each tensor's slice of the flat region back into the tensor (tensors living there are skipped). */
export function scatter(s: Segment, flat: GPUBuffer, tensors: readonly Tensor[]): void {
  const b = backend();
  for (const e of s.entries) {
    const t = tensors[e.index]!;
    if (isHomed(t, e, flat)) continue;
    const r = t.binding;
    b.copy(flat, e.offset * 4, r.buffer, r.offset ?? 0, e.size * 4);
  }
}

/**
 * The buffer every tensor of the segment lives in at its entry's place (parameters re-homed
 * by an optimizer with the same layout), or null: a kernel can then read the tensors there
 * without a gather.
 */
export function homedRegion(s: Segment, tensors: readonly Tensor[]): GPUBuffer | null {
  const first = s.entries[0];
  if (!first) return null;
  const flat = tensors[first.index]!.binding.buffer;
  return s.entries.every((e) => isHomed(tensors[e.index]!, e, flat)) ? flat : null;
}

/**
 * Check that `tensors` line up with the parameter list (count, shape, dtype, alive), before
 * anything is recorded: a bad step must not touch any weight.
 */
export function checkAligned(what: string, params: readonly ResolvedParam[], tensors: readonly Tensor[]): void {
  if (!Array.isArray(tensors) || tensors.length !== params.length) {
    throw new ShapeError(`${what}: expected ${params.length} tensors (one per parameter), got ${Array.isArray(tensors) ? tensors.length : typeof tensors}`);
  }
  tensors.forEach((t, i) => {
    const p = params[i]!;
    if (!t || typeof t.checkedStorage !== 'function') throw new ValueError(`${what}: entry ${i} (${p.name}) is not a Tensor`);
    t.checkedStorage();
    if (t.dtype !== 'f32') throw new ValueError(`${what}: ${p.name} must be f32, got ${t.dtype}`);
    if (t.rank !== p.tensor.rank || t.shape.some((d: number, k: number) => d !== p.tensor.shape[k])) {
      throw new ShapeError(`${what}: ${p.name} has shape ${describeShape(p.tensor.shape)}, got ${describeShape(t.shape)}`);
    }
  });
}

export function workgroupsFor(n: number, wg = 256): number {
  return Math.max(1, Math.ceil(n / wg));
}
