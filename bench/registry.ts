/**
 * The bench registry: a bench case is a named piece of work with a FLOP and byte count,
 * an `ours()` implementation and an optional `peer()` (TF.js WebGPU on the same adapter).
 * Add rows by calling `register()` from a file in bench/cases/ and importing it from
 * bench/cases/index.ts; the harness (bench/main.ts) times, reports and compares them.
 */
import type { Gpu } from '../src/runtime/init.js';
import type { TfjsPeer } from './peers/tfjs.js';
import type { JaxPeer } from './peers/jax.js';
import type { OrtPeer } from './peers/ort.js';

/** One prepared instance of a case: record the work, then wait for it. */
export interface Runner {
  /** Record (or enqueue) one repetition of the work. May be async (e.g. a training step). */
  run(): void | Promise<void>;
  /** Submit everything recorded and wait until the device finished it. */
  sync(): Promise<void>;
  /** Free what setup allocated. */
  dispose(): void | Promise<void>;
  /**
   * Optional: extra figures about one more repetition (whole steps: dispatches/submits per
   * step, peak pooled memory, per-kernel breakdown). Called once after the timed
   * repetitions, before `dispose()`; stored in the row's `details`.
   */
  details?(): Promise<Record<string, unknown>>;
  /**
   * Optional: the result of one more repetition, read back and flattened in the case's
   * canonical layout (ours': NHWC activations, HWIO weights). When ours and a peer both
   * have it, the peer's must match ours (bench/check.ts) before it is timed.
   */
  result?(): Promise<Float32Array>;
  /**
   * Optional, for self-timed work (cold starts in a child process): the time of the last
   * repetition as the runner measured it, which the harness takes instead of its wall time
   * (that would include the child's process start and module loading).
   */
  elapsedMs?(): number;
}

/** Peers besides TF.js, each a JavaScript WebGPU engine on the same adapter (docs/bench.md). */
export type EngineId = 'jax' | 'ort';
export const ENGINES: Record<EngineId, { label: string; pkg: string }> = {
  jax: { label: 'jax-js', pkg: '@jax-js/jax' },
  ort: { label: 'ORT', pkg: 'onnxruntime-web' },
};

/**
 * A target a row should meet, checked after the run and shown in the table's `target` column:
 *  - `ratio`: ours/TF.js throughput ratio ≥ min;
 *  - `pctOfRow`: ours throughput ≥ min % of ours on another row (same unit);
 *  - `pctRoofline`: ours ≥ min % of the bounding roofline.
 */
export type Target =
  | { kind: 'ratio'; min: number }
  /** ours / another peer (jax-js, onnxruntime-web), like `ratio` for TF.js. */
  | { kind: 'engineRatio'; engine: EngineId; min: number }
  | { kind: 'pctOfRow'; row: string; min: number }
  | { kind: 'pctRoofline'; min: number }
  /**
   * % of the GB/s of the copy probe moving the row's `bytes` in one dispatch, measured
   * interleaved with the row. For rows too small to amortise a dispatch and a queue round
   * trip, where even the probe stays far below its 16 MB figure (docs/bench.md).
   */
  | { kind: 'pctCopyAtSize'; min: number };

export interface BenchContext {
  gpu: Gpu;
  /** Present when the peer side is enabled and TF.js WebGPU initialised. */
  tfjs: TfjsPeer | null;
  /** --full: larger shapes and more repetitions. */
  full: boolean;
}

export interface EngineContexts {
  jax: BenchContext & { jax: JaxPeer };
  ort: BenchContext & { ort: OrtPeer };
}

export interface BenchCase {
  /** Unique row name, `family/shape`, matched by --filter. */
  name: string;
  /** Floating-point operations of one repetition (a multiply-add counts 2). */
  flops: number;
  /** Minimum DRAM traffic of one repetition in bytes (inputs read once + outputs written once). */
  bytes: number;
  /** Repetitions after warm-up in quick mode (default 5); --reps overrides. */
  reps?: number;
  /** Repetitions in --full mode (default 2 × reps). */
  fullReps?: number;
  /** Timed repetitions of the peer, when it is much slower than ours (default: same as ours). */
  peerReps?: number;
  /** Only in --full runs. */
  fullOnly?: boolean;
  /** Skipped on software adapters (SwiftShader): shapes that only make sense on a real GPU. */
  hardwareOnly?: boolean;
  /**
   * Set only on the roofline probes: they define the ceilings (a case with this field
   * overwrites them with its own rate), always run first and are never filtered out.
   */
  roofline?: 'compute' | 'memory';
  ours(ctx: BenchContext): Promise<Runner>;
  peer?(ctx: BenchContext & { tfjs: TfjsPeer }): Promise<Runner>;
  /** The same work on the other peers (jax-js, onnxruntime-web), each checked against ours before timing. */
  engines?: { [E in EngineId]?: (ctx: EngineContexts[E]) => Promise<Runner> };
  /** Relative tolerance of the cross-check (bench/check.ts; default CHECK_TOL). */
  checkTol?: number;
  /** Free-form note printed under the table (e.g. what the peer does differently). */
  note?: string;
  /** Group for the HTML report and the table (e.g. 'conv', 'nfnet-ops', 'optimizer', 'step'). */
  group?: string;
  /** Items processed per repetition (e.g. images of a training step): the row also reports items/s. */
  items?: { count: number; unit: string };
  /** Targets checked after the run (see Target). */
  targets?: Target[];
  /** Expensive case: quick mode skips its `ours fast` pass. */
  heavy?: boolean;
  /** Every repetition is a cold start (a fresh process): no side gets a warm-up call. */
  coldStart?: boolean;
  /**
   * Quick mode skips the peer's warm-up call (for peer calls of many seconds, where pipeline
   * creation is a few % of one call): its repetitions then include pipeline creation.
   */
  peerSkipWarmupQuick?: boolean;
  /**
   * Also run `peer()` on TF.js's cpu backend, as a CPU reference point: in every run
   * ('quick') or only with --full ('full', for shapes that take the cpu backend minutes).
   */
  cpuReference?: 'quick' | 'full';
}

const cases: BenchCase[] = [];

/** The cases with TF.js cpu reference points (`cpuReference`): 'quick' in every run, 'full' with --full only. */
export function withCpuReference(when: 'quick' | 'full', ...cs: BenchCase[]): BenchCase[] {
  return cs.map((c) => ({ ...c, cpuReference: when }));
}

export function register(...c: BenchCase[]): void {
  for (const x of c) {
    if (cases.some((y) => y.name === x.name)) throw new Error(`bench case '${x.name}' is registered twice`);
    cases.push(x);
  }
}

export function registeredCases(): readonly BenchCase[] {
  return cases;
}

/** A Runner over our runtime: `run` records ops, `sync` is gpu.sync() (flush + onSubmittedWorkDone). */
export function oursRunner(gpu: Gpu, run: () => void, dispose: () => void): Runner {
  return { run, sync: () => gpu.sync(), dispose };
}
