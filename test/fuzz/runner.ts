/**
 * The fuzz runner: draws calls from a generator table (test/fuzz/generators.ts), runs each,
 * and classifies what happened:
 *   typed    — threw our NfnetError (the wanted outcome for a bad call)
 *   plain    — threw anything else (TypeError, RangeError, a string …)
 *   accepted — returned normally although the call was bad
 *   benign   — returned normally and the generator confirms the result is the original
 *              (a byte mutation that changed nothing that matters, e.g. JSON whitespace)
 *   late     — returned normally, then the next GPU sync failed (the error came after GPU work)
 *   crashed  — the call hung past the timeout, or the device no longer computes correctly
 * and flags, per call: GPU work before a typed error (dispatch counter moved), a leak
 * (pool live bytes not back to where they were once the call's tensors are disposed).
 *
 * It only uses API that existed before the robustness work (d46d5dc), so the same runner
 * measures the code before and after.
 */
import { NfnetError, Tensor, init, ops, tensor, type Gpu } from '../../src/index.js';
import { Rng } from '../../src/data/loader.js';

/** The loader's seedable PRNG (mulberry32), with the draws a generator needs. */
export class FuzzRng extends Rng {
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** What a generator gets: a PRNG and tensor makers whose tensors are freed after the call. */
export class FuzzContext {
  readonly owned: Tensor[] = [];
  /** Clean-ups for what a call built that is not a tensor (a model, a trainer), run after the call. */
  private readonly deferred: (() => void)[] = [];
  constructor(readonly rng: FuzzRng) {}

  defer(cleanup: () => void): void {
    this.deferred.push(cleanup);
  }

  own<T>(v: T): T {
    if (v instanceof Tensor) this.owned.push(v);
    return v;
  }
  /** An f32 tensor from host data (an upload, no dispatch). */
  t(shape: number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.own(tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1)), shape));
  }
  i32(shape: number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.own(tensor(Int32Array.from({ length: n }, (_, i) => i % 3), shape));
  }
  disposed(shape: number[]): Tensor {
    const t = this.t(shape);
    t.dispose();
    return t;
  }
  dispose(): void {
    for (const f of this.deferred.splice(0).reverse()) f();
    for (const t of this.owned) t.dispose();
    this.owned.length = 0;
  }
}

export interface Call {
  label: string;
  run(): unknown;
  /** For a call that returned: true when its result is as good as the unmutated input's. */
  benign?(result: unknown): boolean;
  /** The call runs user code that may dispatch before the bad input can be seen (valueAndGrad's f). */
  gpuWorkAllowed?: boolean;
}

export interface Generator {
  name: string;
  /** Which public surface it covers (ops, creation, autodiff, runtime, io, data, nfnet, train, optim, checkpoint). */
  area: string;
  make(c: FuzzContext): Call;
}

export type Outcome = 'typed' | 'plain' | 'accepted' | 'benign' | 'late' | 'crashed';

export interface CallRecord {
  generator: string;
  label: string;
  outcome: Outcome;
  /** The error's class and message (or 'returned'). */
  detail: string;
  /** Dispatches recorded during a call that then threw. */
  gpuWorkBeforeError: number;
  leakedBytes: number;
}

export interface FuzzReport {
  counts: Record<Outcome, number>;
  gpuWorkBeforeError: number;
  leaks: number;
  records: CallRecord[];
  deviceOk: boolean;
}

/** A tiny matmul checked against a float64 CPU product: the device still computes. */
export async function deviceWorks(): Promise<boolean> {
  const a = Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 2);
  const b = Float32Array.from({ length: 8 }, (_, i) => (i % 3) * 0.5);
  let ta: Tensor | null = null;
  let tb: Tensor | null = null;
  let tc: Tensor | null = null;
  try {
    ta = tensor(a, [3, 4]);
    tb = tensor(b, [4, 2]);
    tc = ops.matmul(ta, tb);
    const got = await tc.data();
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += a[i * 4 + k]! * b[k * 2 + j]!;
        if (Math.abs(got[i * 2 + j]! - s) > 1e-5) return false;
      }
    }
    return true;
  } catch {
    return false;
  } finally {
    for (const t of [ta, tb, tc]) {
      try {
        t?.dispose();
      } catch {
        /* a dead device: nothing to free */
      }
    }
  }
}

function tensorsIn(v: unknown, out: Tensor[] = [], depth = 0): Tensor[] {
  if (depth > 4 || v === null || typeof v !== 'object') return out;
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) for (const x of v) tensorsIn(x, out, depth + 1);
  return out;
}

const TIMEOUT_MS = 20_000;

async function settle(v: unknown): Promise<unknown> {
  if (!(v instanceof Promise)) return v;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new FuzzTimeout()), TIMEOUT_MS);
  });
  try {
    return await Promise.race([v, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class FuzzTimeout extends Error {}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message.split('\n')[0]!.slice(0, 160)}`;
  return `non-Error thrown: ${String(e).slice(0, 80)}`;
}

export interface FuzzOptions {
  calls: number;
  seed: number;
  generators: readonly Generator[];
  gpu: () => Gpu;
  /** Check the device with a matmul every this many calls (and at the end). */
  sanityEvery?: number;
  /** Replace a broken device (the CLI does; the suite test fails instead). */
  recover?: () => Promise<void>;
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const rng = new FuzzRng(o.seed);
  const counts: Record<Outcome, number> = { typed: 0, plain: 0, accepted: 0, benign: 0, late: 0, crashed: 0 };
  const records: CallRecord[] = [];
  let gpuWork = 0;
  let leaks = 0;
  const sanityEvery = o.sanityEvery ?? 50;
  for (let i = 0; i < o.calls; i++) {
    const gen = o.generators[rng.int(o.generators.length)]!;
    const gpu = o.gpu();
    await gpu.sync().catch(() => undefined);
    const live0 = gpu.poolStats().liveBytes;
    const ctx = new FuzzContext(rng);
    let call: Call;
    try {
      call = gen.make(ctx);
    } catch (e) {
      ctx.dispose();
      throw new Error(`fuzz generator ${gen.name} failed to build a call: ${describeError(e)}`);
    }
    const d0 = gpu.counters().dispatches;
    let outcome: Outcome;
    let detail = 'returned';
    let result: unknown;
    let dispatchedBeforeError = 0;
    try {
      result = await settle(call.run());
      outcome = call.benign?.(result) ? 'benign' : 'accepted';
    } catch (e) {
      dispatchedBeforeError = call.gpuWorkAllowed ? 0 : gpu.counters().dispatches - d0;
      outcome = e instanceof FuzzTimeout ? 'crashed' : e instanceof NfnetError ? 'typed' : 'plain';
      detail = describeError(e);
    }
    for (const t of tensorsIn(result)) {
      try {
        t.dispose();
      } catch {
        /* counted through the pool stats below */
      }
    }
    ctx.dispose();
    try {
      await gpu.sync();
    } catch (e) {
      if (outcome === 'accepted') {
        outcome = 'late';
        detail = describeError(e);
      }
    }
    const leaked = gpu.poolStats().liveBytes - live0;
    if (leaked !== 0) leaks++;
    if (dispatchedBeforeError) gpuWork++;
    if ((i + 1) % sanityEvery === 0 && !(await deviceWorks())) {
      outcome = 'crashed';
      detail += ' (device broken afterwards)';
      if (o.recover) await o.recover();
    }
    counts[outcome]++;
    records.push({ generator: gen.name, label: call.label, outcome, detail, gpuWorkBeforeError: dispatchedBeforeError, leakedBytes: leaked });
  }
  const deviceOk = await deviceWorks();
  return { counts, gpuWorkBeforeError: gpuWork, leaks, records, deviceOk };
}

/** For the CLI: a fresh device when the old one broke. */
export async function reinit(gpu: Gpu): Promise<Gpu> {
  await gpu.dispose().catch(() => undefined);
  return init({ verbose: false });
}
