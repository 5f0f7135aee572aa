/**
 * Flat layout: how a list of tensors is packed, in order, into segments of one flat f32
 * region each, so that one multi-tensor kernel (the optimizer step, the EMA update) walks
 * every tensor of a segment in one dispatch. A segment never exceeds the device's
 * maxStorageBufferBindingSize, so F-series models split into a few. Each tensor starts on
 * the device's storage-offset alignment, so it can also be bound on its own.
 *
 * AGC's units are part of the layout: a tensor's unit axis (output channel of an HWIO
 * conv, output column of an (in, out) linear, or null for the whole tensor) decides how
 * many units it has and how many elements follow each unit's index.
 */
import { backend } from '../runtime/init.js';
import { sizeOf } from '../tensor/creation.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';

/** What the layout needs to know of a tensor. */
export interface FlatItem {
  readonly name: string;
  readonly shape: readonly number[];
  /** The axis that indexes AGC units; null: the whole tensor is one unit. */
  readonly unitAxis: number | null;
}

export interface FlatEntry {
  name: string;
  /** Index in the planned item list. */
  index: number;
  shape: readonly number[];
  /** Elements from the start of the region. */
  offset: number;
  size: number;
  /** AGC units of the tensor and the elements after each unit's index. */
  units: number;
  inner: number;
}

export interface FlatSegment {
  entries: FlatEntry[];
  /** Elements up to the end of the last tensor. */
  length: number;
}

/** Tensors start on multiples of this many elements (the device's storage-offset alignment; 256 bytes everywhere we know). */
function alignmentElements(): number {
  return Math.max(4, backend().device.limits.minStorageBufferOffsetAlignment / 4);
}

function unitLayout(shape: readonly number[], axis: number | null): { units: number; inner: number } {
  if (axis === null) return { units: 1, inner: 1 };
  return { units: shape[axis]!, inner: shape.slice(axis + 1).reduce((a, b) => a * b, 1) };
}


/**
 * Pack items, in order, into segments of at most `maxBytes` each (default: the device's
 * maxStorageBufferBindingSize); zero-size tensors take no space and appear in no segment.
 */
export function planSegments(items: readonly FlatItem[], maxBytes?: number): FlatSegment[] {
  const limit = backend().device.limits.maxStorageBufferBindingSize;
  if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes >= 16)) throw new ValueError(`maxSegmentBytes must be an integer >= 16 (one vec4), got ${maxBytes}`);
  // Whole vec4s, so that the vec4-padded region stays within the binding limit.
  const maxElems = Math.floor(Math.min(limit, maxBytes ?? limit) / 16) * 4;
  const segments: FlatSegment[] = [];
  let cur: FlatSegment | null = null;
  const align = alignmentElements();
  const aligned = (n: number) => Math.ceil(n / align) * align;
  items.forEach((item, index) => {
    const size = sizeOf(item.shape);
    if (!size) return;
    if (size > maxElems) {
      throw new ShapeError(`${item.name} ${describeShape(item.shape)} exceeds the segment size (${maxElems} floats; maxStorageBufferBindingSize is ${limit} bytes)`);
    }
    if (!cur || aligned(cur.length) + size > maxElems) segments.push((cur = { entries: [], length: 0 }));
    const { units, inner } = unitLayout(item.shape, item.unitAxis);
    const offset = aligned(cur.length);
    cur.entries.push({ name: item.name, index, shape: [...item.shape], offset, size, units, inner });
    cur.length = offset + size;
  });
  return segments;
}

/** Elements of a segment's flat region, rounded up to whole vec4s (the streaming kernels read vec4s). */
export function paddedLength(s: FlatSegment): number {
  return Math.max(4, Math.ceil(s.length / 4) * 4);
}

/** A pooled flat f32 buffer the size of a segment's region. */
export function flatBuffer(s: FlatSegment): GPUBuffer {
  return backend().pool.acquire(paddedLength(s) * 4);
}

export function zeroFill(buf: GPUBuffer, s: FlatSegment): void {
  backend().upload(buf, new Float32Array(paddedLength(s)));
}

/** Copy each tensor of the segment (by the entry's index into `tensors`) into its place in `flat`. */
export function gather(s: FlatSegment, tensors: readonly { readonly binding: GPUBufferBinding }[], flat: GPUBuffer): void {
  const b = backend();
  for (const e of s.entries) {
    const r = tensors[e.index]!.binding;
    b.copy(r.buffer, r.offset ?? 0, flat, e.offset * 4, e.size * 4);
  }
}

/** Copy each tensor's place in `flat` back into the tensor. */
export function scatter(s: FlatSegment, flat: GPUBuffer, tensors: readonly { readonly binding: GPUBufferBinding }[]): void {
  const b = backend();
  for (const e of s.entries) {
    const r = tensors[e.index]!.binding;
    b.copy(flat, e.offset * 4, r.buffer, r.offset ?? 0, e.size * 4);
  }
}

export function workgroupsFor(n: number, wg = 256): number {
  return Math.max(1, Math.ceil(n / wg));
}
