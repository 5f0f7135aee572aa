/**
 * Float64 reference helpers for kernel-lab registrations. An Arr is a shape plus row-major
 * Float64Array values — the same shape as test/ref.ts's `Arr`, so the richer helpers there
 * (broadcasting zip, reduce, permute, conv references) accept and return these too.
 */
import { ShapeError } from '../src/index.js';

export interface Arr {
  shape: number[];
  data: Float64Array;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const arr = (shape: number[], data: ArrayLike<number>): Arr => ({ shape, data: Float64Array.from(data) });

/** f applied to every element. */
export function map(x: Arr, f: (v: number) => number): Arr {
  return { shape: [...x.shape], data: x.data.map(f) };
}

/**
 * f applied elementwise across inputs of one shape; an input with a single element (a
 * scalar such as a gain) is read as that element everywhere. The result has the shape of
 * the first input with more than one element (or of the first input).
 */
export function elementwise(xs: readonly Arr[], f: (...v: number[]) => number): Arr {
  const full = xs.find((x) => x.data.length !== 1) ?? xs[0]!;
  for (const x of xs) {
    if (x.data.length !== 1 && x.data.length !== full.data.length) {
      throw new ShapeError(`elementwise: shapes [${x.shape}] and [${full.shape}] differ (only single-element inputs broadcast)`);
    }
  }
  const data = new Float64Array(full.data.length);
  const v = new Array<number>(xs.length);
  for (let i = 0; i < data.length; i++) {
    for (let k = 0; k < xs.length; k++) v[k] = xs[k]!.data.length === 1 ? xs[k]!.data[0]! : xs[k]!.data[i]!;
    data[i] = f(...v);
  }
  return { shape: [...full.shape], data };
}

/** Σ of all elements, as a shape-[] Arr. */
export function total(x: Arr): Arr {
  let s = 0;
  for (const v of x.data) s += v;
  return { shape: [], data: Float64Array.of(s) };
}
