/**
 * What a study is: a named list of training runs (a model from the registry, training
 * options, a data subset) at a budget, and what it makes of their results (a summary JSON,
 * figures, a fragment of docs/results/claims.md). The runner (runner.ts) trains the runs,
 * one result file each, and skips the ones already done.
 */
import { ValueError } from '../runtime/errors.js';
import type { ChartSpec } from '../report/plot.js';

export const BUDGETS = ['quick', 'full', 'long'] as const;
/**
 * 'quick': seconds on ~200 tiny images (the test suite runs it); 'full': the replay at 28 px,
 * sized so that all five studies run in about two hours on a 2-core machine's software
 * adapter (the committed results); 'long': the same studies at many times the images,
 * batches and grid points (hours to days here; minutes on a GPU).
 */
export type Budget = (typeof BUDGETS)[number];

/** A study names a model it needs that no registered family builds (yet). */
export class MissingModelError extends ValueError {}
/** A study's runs folder holds a result made with other settings, or a study cannot run as asked. */
export class StudyError extends ValueError {}

/** The images every run of a study trains and evaluates on. */
export interface DataSpec {
  /** The first n training images. */
  train: number;
  /** The first n test images (held out: the accuracy and loss every run reports). */
  test: number;
  /** Images resized (area-filtered) to resolution × resolution. */
  resolution: number;
}

/** A model by its registry name with config overrides (one row of a study's MODELS table). */
export interface ModelRef {
  name: string;
  overrides?: Record<string, unknown>;
}

/**
 * Steps decided by earlier runs: as many as fit in the wall time `matchTimeOf` trained for,
 * at the per-step time `perStepFrom` measured (SAM at equal wall time).
 */
export interface StepsMatchedInTime {
  matchTimeOf: string;
  perStepFrom: string;
  /** The steps to plan the progress bar with until the two runs are done. */
  estimate: number;
}

export interface RunSpec {
  /** Unique within the study; the result file's name. */
  id: string;
  /** The part of the study the run belongs to ('nf', 'bn', 'vit', …): `only` picks parts. */
  part: string;
  model: ModelRef;
  batch: number;
  lr: number;
  steps: number | StepsMatchedInTime;
  warmupSteps?: number;
  /** AGC λ (0 = off). */
  clipping: number;
  /** Sharpness-aware minimisation (the Trainer's `sam` option). */
  sam?: { rho: number };
  /** Evaluate on the held-out images every n steps (time-to-accuracy curves); 0 = at the end only. */
  evalEvery: number;
  /** After training, profile this many more steps per kernel (what a step's time goes to: batch norm, weight standardization, …). */
  profileSteps?: number;
  seed: number;
  /** What the summary groups by (family, batch, agc, depth, …). */
  tags: Record<string, string | number | boolean>;
}

/** One held-out evaluation during a run. */
export interface CurvePoint {
  step: number;
  examples: number;
  /** Training wall time so far (evaluations excluded). */
  seconds: number;
  testAccuracy: number;
  testLoss: number;
}

export interface RunResult {
  id: string;
  /** The spec it ran with, steps resolved to a number (a rerun with another spec is refused). */
  spec: RunSpec & { steps: number };
  data: DataSpec & { dataset: string };
  /** `overrides`: the config fields the model was built with over the variant's (the study's data, the shared recipe, the study's own). */
  model: { name: string; overrides: Record<string, unknown>; params: number; macsPerImage: number };
  adapter: string;
  stepsDone: number;
  examples: number;
  trainSeconds: number;
  msPerStep: number;
  imagesPerSecond: number;
  /** Training compute: 6 × forward multiply-adds × examples (×2 with SAM: two passes a step), in FLOPs. */
  flops: number;
  curve: CurvePoint[];
  final: { testAccuracy: number; testLoss: number; trainLoss: number };
  losses: number[];
  /** Per-kernel time of `spec.profileSteps` extra steps (kernel names as `family/entry`), or null. */
  profile: { mode: string; steps: number; totalMs: number; kernels: { kernel: string; calls: number; totalMs: number }[] } | null;
  diverged: boolean;
  skippedSteps: number;
  finishedAt: string;
}

export interface StudyPlan {
  data: DataSpec;
  runs: RunSpec[];
}

export interface Figure {
  /** File name without extension. */
  name: string;
  spec: ChartSpec;
}

export interface StudyReport {
  summary: Record<string, unknown>;
  figures: Figure[];
  /** Markdown: this study's rows and notes for docs/results/claims.md. */
  claims: string;
}

export interface Study {
  name: string;
  title: string;
  /** The claim under test, in our words, with the paper it comes from. */
  claim: string;
  /** Every model the study uses, by role: the one table to fix names in. */
  models: Record<string, ModelRef>;
  /** The parts of the study and the MODELS roles each needs. */
  parts: Record<string, readonly string[]>;
  /** Wall time is a result (time to accuracy, equal-time arms): each run is warmed up untimed first. */
  timed: boolean;
  plan(budget: Budget, models: Record<string, ModelRef>): StudyPlan;
  report(results: RunResult[], context: ReportContext): StudyReport;
  /** What a replay at the papers' scale would take (data, compute, engine). */
  atScale: string;
}

export interface ReportContext {
  budget: Budget;
  command: string;
  parts: readonly string[];
  plan: StudyPlan;
}
