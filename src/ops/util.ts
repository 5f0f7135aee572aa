/** Shape helpers and dispatch helpers shared by the op files. */
import { backend } from '../runtime/init.js';
import { DTypeError, ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { describeValue } from '../runtime/validate.js';

export const WG = 256;

export function assertF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== 'f32') throw new DTypeError(`${op}: expected an f32 tensor, got ${t.dtype} ${describeShape(t.shape)}`);
  }
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** NumPy broadcasting of two shapes; throws ShapeError naming both. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${describeShape(a)} and ${describeShape(b)} do not broadcast (dimension ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` read as if broadcast to `outShape` (0 on broadcast dimensions). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = stridesOf(shape);
  const lead = outShape.length - shape.length;
  return outShape.map((_, i) => (i < lead || shape[i - lead] === 1 ? 0 : own[i - lead]!));
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Normalise possibly-negative axes against a rank; throws ValueError when out of range. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  if (typeof axes !== 'number' && !Array.isArray(axes)) throw new ValueError(`${op}: axes must be an integer or an array of integers, got ${describeValue(axes)}`);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= rank) {
      throw new ValueError(`${op}: axis ${a} is out of range for a tensor of rank ${rank} (${rank ? `valid: ${-rank}…${rank - 1}` : 'a rank-0 tensor has no axes'})`);
    }
    return a < 0 ? a + rank : a;
  });
  if (new Set(out).size !== out.length) throw new ValueError(`${op}: repeated axis in ${JSON.stringify(list)}`);
  return out.sort((x, y) => x - y);
}

export function linearGroups(n: number, wg = WG): number {
  return Math.ceil(n / wg);
}

/**
 * Elements per invocation of the elementwise kernels (their `ELEMS` override): 4 when n
 * is a multiple of 4 and, for a broadcast view (its coalesced shape), the view has rank
 * ≤ 4 and an innermost dimension that is a multiple of 4 — so the four elements of an
 * invocation share their outer coordinates. Otherwise 1.
 */
export function elementsPerInvocation(n: number, broadcastShape?: readonly number[]): 1 | 4 {
  if (n % 4 !== 0) return 1;
  if (!broadcastShape) return 4;
  const inner = broadcastShape[broadcastShape.length - 1] ?? 1;
  return broadcastShape.length <= 4 && inner % 4 === 0 ? 4 : 1;
}

/**
 * Whether a contiguous run of `count` elements streams as mat4x4s (16 elements per
 * access) rather than vec4s. With Dawn's robustness on, each storage access pays an index
 * clamp, so the access count sets the cost of a streaming op. Add on 16M elements,
 * SwiftShader, robustness on: vec4s 58.6–64.1 ms, mat4x4s 40.4–44.8 (also against 16
 * elements as four vec4s in a struct, 48.5–52.0, and 32 as two mat4x4s, 56.8–59.2);
 * robustness off: 32.0–32.7 ms both. The mat4x4 binding takes the whole run.
 */
export function streamsMat4x4(count: number): boolean {
  return count % 16 === 0;
}

export { backend };

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Merge adjacent dimensions across which every operand is contiguous (stride[i] =
 * stride[i+1]·shape[i+1], which includes both being broadcast), and drop size-1 ones.
 * A bias add over [N,H,W,C] becomes [N·H·W, C]: the kernels' per-element index loop then
 * runs over 2 dimensions instead of 4.
 */
export function coalesceDims(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[d]! * shape[d]!);
    if (mergeable) {
      outShape[last]! *= shape[d]!;
      strides.forEach((s, k) => (outStrides[k]![last] = s[d]!));
    } else {
      outShape.push(shape[d]!);
      strides.forEach((s, k) => outStrides[k]!.push(s[d]!));
    }
  }
  // A single element: keep one dimension so kernels need no rank-0 special case.
  if (!outShape.length) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

/** A rank ≤ 4 view as vec4s, innermost last, padded in front with size 1 / stride 0. */
export function asVec4(values: readonly number[], pad: number): number[] {
  return values.length > 4 ? [0, 0, 0, 0] : [...Array(4 - values.length).fill(pad), ...values];
}

/** The `shape4, a4, b4, c4` params of shaders/elementwise.wgsl for a coalesced view. */
export function vec4Params(shape: readonly number[], strides: readonly (readonly number[])[]): Record<string, number[]> {
  const [a = [], b = [], c = []] = strides;
  return { shape4: asVec4(shape, 1), a4: asVec4(a, 0), b4: asVec4(b, 0), c4: asVec4(c, 0) };
}

/** The broadcast-view params of shaders/elementwise.wgsl, unused by its non-broadcasting entries. */
export const NO_VIEW = { rank: 0, out_shape: [], a_strides: [], b_strides: [], c_strides: [], shape4: [], a4: [], b4: [], c4: [] } as const;
