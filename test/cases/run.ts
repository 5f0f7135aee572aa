/** Run shared op cases against a library instance (Node module or browser bundle). */
import type { Arr } from '../ref.js';
import { rand, type CaseResult, type InputSpec, type Lib, type OpCase, type Tensor } from './types.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export function makeInput(spec: InputSpec): Arr {
  const raw = rand(size(spec.shape), spec.seed, spec.lo ?? -1, spec.hi ?? 1);
  const data = raw.map((v) => Math.fround(spec.ints || spec.dtype === 'i32' ? Math.round(v) : v));
  return { shape: [...spec.shape], data };
}

/** The fixed cotangent R of the loss Σ R ⊙ fn(x). */
export function cotangent(shape: readonly number[]): Arr {
  return { shape: [...shape], data: rand(size(shape), 991).map(Math.fround) };
}

/** The differentiated inputs: `wrt`, or every f32 input. */
export function defaultWrt(c: OpCase): number[] {
  return c.wrt ?? c.inputs.flatMap((s, i) => (s.dtype === 'i32' ? [] : [i]));
}

export async function runCase(lib: Lib, c: OpCase): Promise<CaseResult> {
  const t0 = performance.now();
  const own: Tensor[] = [];
  try {
    const inputs = c.inputs.map(makeInput);
    const xs = inputs.map((a, i) => lib.tensor(c.inputs[i]!.dtype === 'i32' ? Int32Array.from(a.data) : Float32Array.from(a.data), a.shape));
    own.push(...xs);
    const y = lib.tidy(() => c.fn(lib, ...xs));
    own.push(y);
    const shape = [...y.shape];
    const forward = Array.from(await y.data(), Number);
    const wrt = defaultWrt(c);
    const grads: number[][] = [];
    if (wrt.length) {
      const r = cotangent(shape);
      const rT = lib.tensor(Float32Array.from(r.data), shape);
      own.push(rT);
      const loss = (...ps: Tensor[]) => {
        const args = xs.map((x, i) => (wrt.includes(i) ? ps[wrt.indexOf(i)]! : x));
        return lib.ops.sum(lib.ops.mul(c.fn(lib, ...args), rT));
      };
      const [value, gs] = await lib.valueAndGrad(loss)(...wrt.map((i) => xs[i]!));
      own.push(value, ...gs);
      for (const g of gs) grads.push(Array.from(await g.data(), Number));
    }
    return { name: c.name, shape, forward, grads, ms: performance.now() - t0 };
  } catch (e) {
    const err = e as Error;
    return { name: c.name, shape: [], forward: [], grads: [], ms: performance.now() - t0, error: `${err.name}: ${err.message}` };
  } finally {
    for (const t of own) if (!t.disposed) t.dispose();
  }
}

export async function runCases(lib: Lib, cases: readonly OpCase[]): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const c of cases) out.push(await runCase(lib, c));
  return out;
}

/** Float64 reference: forward, and central differences of Σ R ⊙ ref(x) for each `wrt` input. */
export function referenceResult(c: OpCase): { shape: number[]; forward: Float64Array; grads: Float64Array[] } | null {
  if (!c.ref) return null;
  const inputs = c.inputs.map(makeInput);
  const y = c.ref(...inputs);
  const r = cotangent(y.shape);
  const L = (ins: Arr[]) => {
    const out = c.ref!(...ins);
    let s = 0;
    for (let i = 0; i < out.data.length; i++) s += out.data[i]! * r.data[i]!;
    return s;
  };
  const h = c.h ?? 1e-6;
  const wrt = defaultWrt(c);
  const grads = wrt.map((k) => {
    const g = new Float64Array(inputs[k]!.data.length);
    for (let i = 0; i < g.length; i++) {
      const bump = (d: number) => inputs.map((a, j) => (j === k ? { shape: a.shape, data: a.data.map((v, q) => (q === i ? v + d : v)) } : a));
      g[i] = (L(bump(h)) - L(bump(-h))) / (2 * h);
    }
    return g;
  });
  return { shape: y.shape, forward: y.data, grads };
}

/** max |got − want| / max(1e-3, max |want|), NaN-aware (a NaN mismatch is Infinity). */
export function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let scale = 1e-3;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(got[i]!) !== Number.isNaN(want[i]!)) return Infinity;
    const d = Math.abs(got[i]! - want[i]!);
    if (!Number.isNaN(d)) err = Math.max(err, d / scale);
  }
  return err;
}
