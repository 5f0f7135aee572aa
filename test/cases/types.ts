/**
 * Shared op cases: one list that runs in Node (vitest, Dawn) and in headless Chromium
 * (navigator.gpu), so the two platforms can be compared with each other and with the
 * float64 references. Nothing here imports the library at runtime: it arrives as `lib`
 * (the Node module in vitest, the browser bundle in the page).
 */
import type * as Library from '../../src/index.js';
import type { OpName } from '../../src/ops/index.js';
import type { Arr } from '../ref.js';

export type Lib = typeof Library;
export type Tensor = Library.Tensor;

/** A deterministic input: mulberry32(seed) mapped to [lo, hi), rounded to float32. */
export interface InputSpec {
  shape: number[];
  seed: number;
  lo?: number;
  hi?: number;
  /** Round to integers (makes ties, to pin comparison conventions). */
  ints?: boolean;
  /** 'i32' makes an integer tensor (e.g. class ids; implies `ints`, never differentiated). */
  dtype?: 'f32' | 'i32';
}

export interface OpCase {
  /** Unique, e.g. 'add/broadcast'. */
  name: string;
  /** The ops this case exercises (coverage is checked against `ops.definitions`). */
  ops: OpName[];
  inputs: InputSpec[];
  /** The computation under test, written against the library passed in. */
  fn: (lib: Lib, ...xs: Tensor[]) => Tensor;
  /** Float64 reference of `fn` on the same (float32-rounded) inputs. */
  ref?: (...xs: Arr[]) => Arr;
  /** Inputs to differentiate (default: all). The loss is Σ R ⊙ fn(x) with a fixed R. */
  wrt?: number[];
  fwdTol?: number;
  gradTol?: number;
  /** Central-difference step for the reference gradient (float64). */
  h?: number;
  /**
   * Extra property check for ops with no float64 reference (e.g. random masks): gets the
   * inputs, the cotangent R and one platform's result; returns a problem or null.
   */
  check?: (inputs: Arr[], r: Arr, result: CaseResult) => string | null;
}

/** What one case produced on one platform, as plain JSON-safe arrays. */
export interface CaseResult {
  name: string;
  shape: number[];
  forward: number[];
  /** Gradients of Σ R ⊙ fn(x) for the `wrt` inputs, in order. */
  grads: number[][];
  ms: number;
  error?: string;
}

/** Deterministic pseudo-random values (mulberry32); test/harness.ts re-exports it. */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}
