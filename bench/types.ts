/**
 * The result types of a bench run, shared by the harness (bench/main.ts), which fills
 * them, and the modules that report on them (report.ts, html.ts, targets.ts).
 */
import type { Measurement } from './measure.js';
import type { TargetResult } from './targets.js';
import type { CheckResult } from './check.js';
import type { EngineId } from './registry.js';

export interface SideResult extends Measurement {
  gflops: number;
  gbs: number;
  /** Achieved FLOP/s (or bytes/s for roofline/copy) as a % of the bounding roofline. */
  pctRoofline: number | null;
  /** Items per second at the median (rows with `items`, e.g. images of a training step). */
  itemsPerS?: number;
  error?: string;
}

export interface Row {
  name: string;
  /** 'none' for rows without a FLOP/byte count (whole training steps). */
  bound: 'compute' | 'memory' | 'none';
  group?: string;
  items?: { count: number; unit: string };
  flops: number;
  bytes: number;
  ours?: SideResult | { error: string };
  oursFast?: SideResult | { error: string };
  peer?: SideResult | { error: string };
  /** ours throughput / peer throughput (peer median ms / ours median ms). */
  ratio?: number;
  /** The other peers (jax-js, onnxruntime-web) by id: their side, and ours / theirs like `ratio`. */
  engines?: { [E in EngineId]?: SideResult | { error: string } };
  engineRatios?: { [E in EngineId]?: number };
  /** Each peer's result against ours before timing (`tfjs` for TF.js); a failed check leaves that side an error, untimed. */
  checks?: Record<string, CheckResult>;
  /** The peer on TF.js's cpu backend (cases with `cpuReference`), and ours / it. */
  cpu?: SideResult | { error: string };
  cpuRatio?: number;
  /** The copy probe moving the row's bytes, measured with it (rows with a pctCopyAtSize target). */
  copyAtSize?: SideResult | { error: string };
  note?: string;
  /** Targets of the row, checked after the run. */
  targets?: TargetResult[];
  /** Extra figures from the runners (whole steps: per-step counters, memory, kernel breakdown). */
  details?: { ours?: Record<string, unknown>; peer?: Record<string, unknown> };
  /**
   * Our pooled GPU buffers still live after the case's runners were disposed: tensors the
   * case's own code never freed (work outside tidy()). Each leaked buffer is a pool miss,
   * a fresh createBuffer, on every later repetition, so the row's time is not ours alone.
   */
  oursLeakedBuffers?: number;
}
