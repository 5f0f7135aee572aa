/**
 * The generic op checker: one function checks an op's forward against a float64 CPU
 * reference and its backward against central differences of that same reference.
 *
 * Gradient check: with a fixed random cotangent R, L(x) = Σ R ⊙ f(x). The GPU gradient of
 * L (through the tape) must match (L(x+h) − L(x−h)) / 2h computed in float64 on the CPU.
 */
import { expect, it } from 'vitest';
import { tensor, valueAndGrad, type Tensor, ops } from '../src/index.js';
import type { OpName } from '../src/ops/index.js';
import { type Arr, arr, size } from './ref.js';

/** Deterministic pseudo-random values (mulberry32), so failures reproduce; shared with the browser cases. */
export { rand } from './cases/types.js';
import { rand } from './cases/types.js';

export function randArr(shape: number[], seed: number, lo = -1, hi = 1): Arr {
  return arr(shape, rand(size(shape), seed, lo, hi));
}

export function toTensor(a: Arr): Tensor {
  return tensor(Float32Array.from(a.data), a.shape);
}

export function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 1e-3;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (Number.isNaN(got[i]!) !== Number.isNaN(want[i]!)) return Infinity;
    if (!Number.isNaN(d)) err = Math.max(err, d / scale);
  }
  return err;
}

/** max|Δ| / max|reference|: the measure the timm fixture tests quote (≤ 1e-4). */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0;
  let r = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i]! - want[i]!));
    r = Math.max(r, Math.abs(want[i]!));
  }
  return d / r;
}

export function expectClose(got: ArrayLike<number>, want: Arr | ArrayLike<number>, tol = 1e-5, what = 'values'): void {
  const w = 'data' in want ? (want as Arr).data : want;
  expect(got.length, `${what}: length`).toBe(w.length);
  const err = maxRelErr(got, w);
  expect(err, `${what}: max error relative to max |reference| = ${err.toExponential(2)}`).toBeLessThanOrEqual(tol);
}

export interface OpCase {
  /** The GPU op under test, on tensors. */
  gpu: (...xs: Tensor[]) => Tensor;
  /** The float64 reference on the same inputs. */
  ref: (...xs: Arr[]) => Arr;
  inputs: Arr[];
  /** Which inputs to differentiate (default: all). */
  wrt?: number[];
  fwdTol?: number;
  gradTol?: number;
  /** Central-difference step (float64, so it can be small). */
  h?: number;
}

export async function checkOp(c: OpCase): Promise<void> {
  const xs = c.inputs.map(toTensor);
  // Forward.
  const y = c.gpu(...xs);
  const want = c.ref(...c.inputs);
  expect(y.shape, 'forward shape').toEqual(want.shape);
  expectClose(await y.data(), want, c.fwdTol ?? 1e-5, 'forward');
  y.dispose();

  // Backward vs central differences of the reference.
  const wrt = c.wrt ?? c.inputs.map((_, i) => i);
  if (!wrt.length) return;
  const r = randArr(want.shape, 991);
  const rT = toTensor(r);
  const loss = (...ins: Tensor[]) => ops.sum(ops.mul(c.gpu(...ins), rT));
  const [lossT, grads] = await valueAndGrad((...ins: Tensor[]) => loss(...ins))(...xs);
  lossT.dispose();
  const L = (ins: Arr[]) => {
    const out = c.ref(...ins);
    let s = 0;
    for (let i = 0; i < out.data.length; i++) s += out.data[i]! * r.data[i]!;
    return s;
  };
  const h = c.h ?? 1e-6;
  for (const k of wrt) {
    const x = c.inputs[k]!;
    const numeric = new Float64Array(x.data.length);
    for (let i = 0; i < x.data.length; i++) {
      const plus = c.inputs.map((a, j) => (j === k ? { shape: a.shape, data: Float64Array.from(a.data) } : a));
      const minus = c.inputs.map((a, j) => (j === k ? { shape: a.shape, data: Float64Array.from(a.data) } : a));
      plus[k]!.data[i]! += h;
      minus[k]!.data[i]! -= h;
      numeric[i] = (L(plus) - L(minus)) / (2 * h);
    }
    expectClose(await grads[k]!.data(), numeric, c.gradTol ?? 1e-4, `gradient of input ${k}`);
  }
  for (const t of [...xs, ...grads, rT]) t.dispose();
}

/**
 * A test of one op of `ops.definitions`. test/op-coverage.test.ts scans the test sources
 * for `opTest('<name>'` and fails when an op has none.
 */
export function opTest(op: OpName, title: string, fn: () => Promise<void> | void): void {
  it(`${op}: ${title}`, fn);
}

/**
 * GPU gradients of L = Σ f(xs) ⊙ cot (cot defaults to all ones), for checks at kinks where
 * central differences do not see the pinned convention.
 */
export async function gradsOf(f: (...xs: Tensor[]) => Tensor, inputs: Arr[], cot?: Arr): Promise<Float32Array[]> {
  const xs = inputs.map(toTensor);
  const c = cot ? toTensor(cot) : null;
  const [loss, grads] = await valueAndGrad((...ins: Tensor[]) => {
    const y = f(...ins);
    return ops.sum(c ? ops.mul(y, c) : y);
  })(...xs);
  const out = [];
  for (const g of grads) out.push((await g.data()) as Float32Array);
  for (const t of [loss, ...xs, ...grads]) t.dispose();
  c?.dispose();
  return out;
}
