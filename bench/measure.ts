/**
 * Timing: each side gets one warm-up call, then timed repetitions. When a case has both
 * sides, their repetitions are interleaved (ours, peer, ours, peer, …) so that both see
 * the same machine load — this matters on a shared CPU running SwiftShader.
 * GPU timestamps come from extra repetitions after the timed ones: profiling puts each
 * dispatch in its own pass and adds a query resolve and a readback per submit, which
 * added ~0.5 ms to a 1.5 ms optimizer step when the timed repetitions carried it.
 */
import type { Gpu } from '../src/runtime/init.js';
import type { Runner } from './registry.js';

export interface Measurement {
  reps: number;
  /** Wall time of each repetition: record + submit + wait for onSubmittedWorkDone. */
  timesMs: number[];
  medianMs: number;
  minMs: number;
  /** First call (pipeline creation, first-touch allocation) — not part of the statistics; 0 when skipped. */
  warmupMs: number;
  /** True when the warm-up call was skipped (quick mode, heavy case's peer). */
  noWarmup?: boolean;
  /** Median summed GPU timestamp time per profiled repetition (our side, when the adapter has timestamp-query). */
  gpuMedianMs?: number;
}

export interface Side {
  runner: Runner;
  reps: number;
  /** Record our profiler's GPU timestamps in PROFILED_REPS extra repetitions (only with timestamp-query). */
  profile: Gpu | null;
  /** Make the warm-up call (default true). Quick mode skips it for a heavy case's peer: its reps then include pipeline creation. */
  warmup?: boolean;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Profiled repetitions per side with `profile` (fewer when the side has fewer timed ones). */
export const PROFILED_REPS = 3;

async function once(side: Side): Promise<number> {
  const t0 = performance.now();
  await side.runner.run();
  await side.runner.sync();
  return side.runner.elapsedMs?.() ?? performance.now() - t0;
}

/** Summed GPU timestamp time of one repetition. */
async function profiled(side: Side, gpu: Gpu): Promise<number> {
  gpu.profile.start();
  await side.runner.run();
  await side.runner.sync();
  return (await gpu.profile.stop()).totalMs;
}

/** Measure the sides together; a side that throws gets its error instead of a measurement. */
export async function measureInterleaved(sides: Side[]): Promise<(Measurement | { error: string })[]> {
  const errors: (string | null)[] = sides.map(() => null);
  const warm: number[] = sides.map(() => 0);
  const times: number[][] = sides.map(() => []);
  const gpu: number[][] = sides.map(() => []);
  const fail = (i: number, e: unknown) => (errors[i] = `${(e as Error).name}: ${(e as Error).message}`);
  for (let i = 0; i < sides.length; i++) {
    if (sides[i]!.warmup === false) {
      warm[i] = Number.NaN;
      continue;
    }
    try {
      warm[i] = await once(sides[i]!);
    } catch (e) {
      fail(i, e);
    }
  }
  const maxReps = Math.max(...sides.map((s) => s.reps));
  for (let r = 0; r < maxReps; r++) {
    for (let i = 0; i < sides.length; i++) {
      if (errors[i] || r >= sides[i]!.reps) continue;
      try {
        times[i]!.push(await once(sides[i]!));
      } catch (e) {
        fail(i, e);
      }
    }
  }
  for (let i = 0; i < sides.length; i++) {
    const profile = sides[i]!.profile;
    if (!profile) continue;
    for (let r = 0; r < Math.min(PROFILED_REPS, sides[i]!.reps) && !errors[i]; r++) {
      try {
        gpu[i]!.push(await profiled(sides[i]!, profile));
      } catch (e) {
        fail(i, e);
      }
    }
  }
  return sides.map((s, i) =>
    errors[i]
      ? { error: errors[i]! }
      : {
          reps: s.reps,
          timesMs: times[i]!,
          medianMs: median(times[i]!),
          minMs: Math.min(...times[i]!),
          warmupMs: Number.isNaN(warm[i]!) ? 0 : warm[i]!,
          ...(Number.isNaN(warm[i]!) ? { noWarmup: true } : {}),
          ...(gpu[i]!.length ? { gpuMedianMs: median(gpu[i]!) } : {}),
        },
  );
}

/** Measure one side alone (the demo page's bench and any single-runner use). */
export async function measure(runner: Runner, reps: number, profile: Gpu | null = null): Promise<Measurement> {
  const [m] = await measureInterleaved([{ runner, reps, profile }]);
  if (!m || 'error' in m) throw new Error(m ? m.error : 'no measurement');
  return m;
}
