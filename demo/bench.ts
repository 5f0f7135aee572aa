/**
 * The kernel benchmark in the page: the registered cases of `npm run bench` (our side only;
 * the TF.js peer is Node-only), measured by bench/measure.ts exactly as the Node harness
 * does (warm-up, then wall time of record + submit + wait per repetition), and summarised
 * against the roofline probes with the same formulas as bench/main.ts.
 */
import type { Gpu } from '../src/index.js';
import { benchUnavailable, measure, registeredCases, type BenchCase, type Measurement } from './bench-cases.js';

export interface BenchRow {
  name: string;
  bound: 'compute' | 'memory';
  flops: number;
  bytes: number;
  reps: number;
  medianMs?: number;
  minMs?: number;
  warmupMs?: number;
  gpuMedianMs?: number;
  gflops?: number;
  gbs?: number;
  pctRoofline?: number | null;
  error?: string;
}

export interface BenchReport {
  rows: BenchRow[];
  ceilings: { gflops: number; gbs: number };
  timestamps: boolean;
  seconds: number;
}

export { benchUnavailable };

/** Cases run in quick mode: roofline probes always, then the non-`fullOnly` cases matching `filter`. */
export function benchCases(filter: RegExp | null): readonly BenchCase[] {
  return registeredCases().filter((c) => c.roofline || (!c.fullOnly && (!filter || filter.test(c.name))));
}

function boundOf(c: BenchCase, ceil: { gflops: number; gbs: number }): 'compute' | 'memory' {
  if (c.roofline) return c.roofline;
  if (!ceil.gflops || !ceil.gbs) return c.flops / c.bytes > 1 ? 'compute' : 'memory';
  return c.flops / c.bytes >= ceil.gflops / ceil.gbs ? 'compute' : 'memory';
}

function summarise(c: BenchCase, m: Measurement, ceil: { gflops: number; gbs: number }): Partial<BenchRow> {
  const s = m.medianMs / 1e3;
  const gflops = c.flops / s / 1e9;
  const gbs = c.bytes / s / 1e9;
  let pct: number | null = null;
  if (c.roofline === 'compute' && ceil.gflops) pct = (100 * gflops) / ceil.gflops;
  else if (c.roofline === 'memory' && ceil.gbs) pct = (100 * gbs) / ceil.gbs;
  else if (ceil.gflops && ceil.gbs) pct = (100 * gflops) / Math.min(ceil.gflops, (c.flops / c.bytes) * ceil.gbs);
  return { medianMs: m.medianMs, minMs: m.minMs, warmupMs: m.warmupMs, gpuMedianMs: m.gpuMedianMs, gflops, gbs, pctRoofline: pct };
}

export async function runBench(gpu: Gpu, options: { filter?: RegExp | null; onRow?: (rows: BenchRow[], current: string | null) => void } = {}): Promise<BenchReport> {
  if (benchUnavailable) throw new Error(benchUnavailable);
  const t0 = performance.now();
  const timestamps = gpu.features.includes('timestamp-query');
  const ceilings = { gflops: 0, gbs: 0 };
  const cases = benchCases(options.filter ?? null);
  const rows: BenchRow[] = [];
  const measured = new Map<string, Measurement>();
  for (const c of cases) {
    options.onRow?.(rows, c.name);
    const reps = c.reps ?? 5;
    const row: BenchRow = { name: c.name, bound: boundOf(c, ceilings), flops: c.flops, bytes: c.bytes, reps };
    let runner: Awaited<ReturnType<BenchCase['ours']>> | null = null;
    try {
      runner = await c.ours({ gpu, tfjs: null, full: false });
      const m = await measure(runner, reps, timestamps ? gpu : null);
      measured.set(c.name, m);
      Object.assign(row, summarise(c, m, ceilings));
      if (c.roofline === 'compute') ceilings.gflops = row.gflops!;
      if (c.roofline === 'memory') ceilings.gbs = row.gbs!;
    } catch (e) {
      row.error = `${(e as Error).name}: ${(e as Error).message}`;
    } finally {
      try {
        await runner?.dispose();
      } catch {
        /* the error above is the interesting one */
      }
    }
    rows.push(row);
    // Yield so the page repaints between cases.
    await new Promise((r) => setTimeout(r, 0));
  }
  // The ceilings are known now: fix up bounds and percentages of rows measured before them.
  for (const row of rows) {
    const c = cases.find((x) => x.name === row.name)!;
    row.bound = boundOf(c, ceilings);
    const m = measured.get(row.name);
    if (m) Object.assign(row, summarise(c, m, ceilings));
  }
  options.onRow?.(rows, null);
  return { rows, ceilings, timestamps, seconds: (performance.now() - t0) / 1e3 };
}
