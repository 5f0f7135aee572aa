/**
 * `runStudy`: every check first (study, budget, parts, models in the registry, configs,
 * the Trainer's options), then the runs one by one, each result written atomically to
 * `<out>/<study>/runs/<budget>-<id>.json` as soon as it is done. A rerun after a kill reads
 * the finished runs back instead of training them again. At the end: the study's summary
 * JSON, its PNG figures and its fragment of docs/results/claims.md.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configOf, familyOfVariant, modelNames } from '../models/registry.js';
import { resolveTrainOptions, type StepResult } from '../nfnet/train.js';
import { DeviceError, ValueError } from '../runtime/errors.js';
import { currentGpuOrNull } from '../runtime/init.js';
import { checkOneOf, checkOptions, describeValue, didYouMean } from '../runtime/validate.js';
import { writeFileAtomic } from '../io/files.js';
import { renderPng } from '../report/plot.js';
import { loadStudyData, type StudyData } from './data.js';
import { modelOverrides, trainRun } from './train-run.js';
import { getStudy } from './studies.js';
import { BUDGETS, MissingModelError, StudyError, type Budget, type ModelRef, type RunResult, type RunSpec, type Study, type StudyPlan } from './types.js';

export interface StudyProgress {
  /** Steps done over the whole study (finished runs count in full). */
  done: number;
  total: number;
  run: string;
  runIndex: number;
  runs: number;
  loss: number;
}

export interface StudyOptions {
  budget?: Budget;
  /** Results go to `<out>/<study>/` (default runs/study). */
  out?: string;
  /** fashion-mnist (default), mnist, cifar10 or folder, as `nfnet train --data`. */
  data?: string;
  dataDir?: string;
  /** Run only these parts of the study (default: all). */
  only?: readonly string[];
  /** Replace rows of the study's MODELS table: a registry name or { name, overrides }. */
  models?: Record<string, string | ModelRef>;
  /** Stop after the step in flight; the unfinished run is not saved. */
  signal?: AbortSignal;
  onProgress?: (p: StudyProgress) => void;
  /** Called before a run trains (not for finished runs read back) and after its result is saved. */
  beforeRun?: (spec: RunSpec) => void | Promise<void>;
  afterRun?: (result: RunResult) => void | Promise<void>;
  /** The command line, for the claims fragment. */
  command?: string;
}

export interface StudyOutcome {
  study: string;
  budget: Budget;
  /** False when stopped by `signal` before every run was done. */
  complete: boolean;
  dir: string;
  results: RunResult[];
  /** Runs read back from an earlier, interrupted invocation. */
  reused: string[];
  /** Files written at the end (summary, figures, claims fragment); empty when incomplete. */
  files: string[];
  summary: Record<string, unknown> | null;
}

const OPTION_NAMES = ['budget', 'out', 'data', 'dataDir', 'only', 'models', 'signal', 'onProgress', 'beforeRun', 'afterRun', 'command'] as const;

/** The study's MODELS table with the caller's rows in place. */
function modelTable(study: Study, given: StudyOptions['models']): Record<string, ModelRef> {
  const table: Record<string, ModelRef> = { ...study.models };
  for (const [role, v] of Object.entries(given ?? {})) {
    if (!(role in study.models)) throw new ValueError(`study ${study.name}: no model role '${role}'${didYouMean(role, Object.keys(study.models))}; roles: ${Object.keys(study.models).join(', ')}`);
    if (typeof v === 'string') table[role] = { name: v };
    else if (v && typeof v === 'object' && typeof v.name === 'string') table[role] = v;
    else throw new ValueError(`study ${study.name}: models.${role} must be a model name or { name, overrides }, got ${describeValue(v)}`);
  }
  return table;
}

function partsOf(study: Study, only: StudyOptions['only']): string[] {
  const all = Object.keys(study.parts);
  if (only === undefined) return all;
  if (!Array.isArray(only) || only.length === 0) throw new ValueError(`study ${study.name}: only must be a non-empty list of parts (${all.join(', ')}), got ${describeValue(only)}`);
  for (const p of only) {
    if (!all.includes(p)) throw new ValueError(`study ${study.name}: no part '${p}'${didYouMean(String(p), all)}; parts: ${all.join(', ')}`);
  }
  return [...only];
}

/** Every model a study's chosen parts need, known to the registry; else a MissingModelError naming each. */
export function checkStudyModels(study: Study, parts: readonly string[], table: Record<string, ModelRef>): void {
  const roles = [...new Set(parts.flatMap((p) => study.parts[p]!))];
  const missing: string[] = [];
  for (const role of roles) {
    try {
      familyOfVariant(table[role]!.name, `study ${study.name}`);
    } catch {
      missing.push(`${role} = '${table[role]!.name}'${didYouMean(table[role]!.name, modelNames())}`);
    }
  }
  if (missing.length) {
    throw new MissingModelError(
      `study ${study.name} needs model${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which no registered family builds (\`nfnet info --help\` lists the names); ` +
        `register the family, pass another name for the role, or run only the parts that do not need it (${Object.entries(study.parts).filter(([, r]) => r.every((x) => !missing.some((m) => m.startsWith(`${x} =`)))).map(([p]) => p).join(', ') || 'none'})`,
    );
  }
}

/** Every run's config and training options checked on the CPU, before anything trains. */
function checkRuns(study: Study, plan: StudyPlan, data: StudyData): void {
  const ids = new Set<string>();
  for (const run of plan.runs) {
    if (ids.has(run.id)) throw new StudyError(`study ${study.name}: two runs named '${run.id}'`);
    ids.add(run.id);
    if (run.batch > data.train.count) throw new StudyError(`study ${study.name}: run ${run.id} has batch ${run.batch} but the budget gives only ${data.train.count} training images`);
    configOf(run.model.name, modelOverrides(run, data), `study ${study.name}: run ${run.id}`);
    if (typeof run.steps !== 'number') {
      for (const ref of [run.steps.matchTimeOf, run.steps.perStepFrom]) {
        if (!ids.has(ref) || ref === run.id) throw new StudyError(`study ${study.name}: run ${run.id} takes its steps from '${ref}', which must be an earlier run`);
      }
    }
    const steps = typeof run.steps === 'number' ? run.steps : run.steps.estimate;
    resolveTrainOptions({ lr: run.lr, batchSize: run.batch, totalSteps: steps, warmupSteps: run.warmupSteps ?? 0, clipping: run.clipping, seed: run.seed, sam: run.sam ?? null });
  }
}

/** A finished run's result, if its file is there and was made with the same spec and data. */
function readFinished(file: string, spec: RunSpec & { steps: number }, dataKey: string, overrides: Record<string, unknown>): RunResult | null {
  if (!existsSync(file)) return null;
  let r: RunResult;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as RunResult;
  } catch (e) {
    throw new StudyError(`${file} is not a study result (${(e as Error).message}); delete it to run it again`);
  }
  // The model's overrides too: the shared recipe (recipe.ts's REGULARIZATION) is not in the spec.
  const same = JSON.stringify(r.spec) === JSON.stringify(spec) && JSON.stringify(r.data) === dataKey && JSON.stringify(r.model.overrides) === JSON.stringify(overrides);
  if (!same) throw new StudyError(`${file} was made with other settings than this study's run ${spec.id} (the study's code or options changed); delete it or pick another --out`);
  return r;
}

/** A run's steps: its own, or as many as fit in the wall time of another run at a measured pace. */
function resolveSteps(spec: RunSpec, done: Map<string, RunResult>): number {
  if (typeof spec.steps === 'number') return spec.steps;
  const time = done.get(spec.steps.matchTimeOf)!;
  const pace = done.get(spec.steps.perStepFrom)!;
  return Math.max(1, Math.round(time.trainSeconds / (pace.trainSeconds / pace.stepsDone)));
}

/** The study's runs for a budget and parts, every model checked against the registry (no GPU, no data). */
function resolvePlan(name: string, options: Pick<StudyOptions, 'budget' | 'only' | 'models'>): { study: Study; budget: Budget; parts: string[]; plan: StudyPlan } {
  const study = getStudy(name);
  const budget = checkOneOf('study', 'budget', options.budget ?? 'quick', BUDGETS);
  const table = modelTable(study, options.models);
  const parts = partsOf(study, options.only);
  checkStudyModels(study, parts, table);
  const full = study.plan(budget, table);
  return { study, budget, parts, plan: { data: full.data, runs: full.runs.filter((r) => parts.includes(r.part)) } };
}

export interface PlanSummary {
  study: string;
  budget: Budget;
  parts: string[];
  runs: number;
  /** Optimizer steps over every run (SAM steps count once; equal-time runs at their estimate). */
  steps: number;
  /** Training images seen over every run. */
  examples: number;
  data: StudyPlan['data'];
}

/** What a study would run (`nfnet study <name> --plan`): no GPU, no training. */
export function planStudy(name: string, options: Pick<StudyOptions, 'budget' | 'only' | 'models'> = {}): PlanSummary {
  checkOptions('planStudy', options, ['budget', 'only', 'models']);
  const { study, budget, parts, plan } = resolvePlan(name, options);
  const stepsOf = (r: RunSpec) => (typeof r.steps === 'number' ? r.steps : r.steps.estimate);
  return {
    study: study.name, budget, parts, runs: plan.runs.length, data: plan.data,
    steps: plan.runs.reduce((s, r) => s + stepsOf(r), 0), examples: plan.runs.reduce((s, r) => s + stepsOf(r) * r.batch, 0),
  };
}

export async function runStudy(name: string, options: StudyOptions = {}): Promise<StudyOutcome> {
  checkOptions('runStudy', options, OPTION_NAMES);
  const { study, budget, parts, plan } = resolvePlan(name, options);
  const source = { data: options.data ?? 'fashion-mnist', dataDir: options.dataDir };
  const data = loadStudyData(plan.data, source);
  checkRuns(study, plan, data);
  const gpu = currentGpuOrNull();
  if (!gpu) throw new DeviceError('runStudy: the GPU is not initialised: call `await init()` first');

  const dir = path.join(options.out ?? 'runs/study', study.name);
  const runsDir = path.join(dir, 'runs');
  mkdirSync(runsDir, { recursive: true });
  const dataSpec = { ...plan.data, dataset: source.data };
  const dataKey = JSON.stringify(dataSpec);
  const done = new Map<string, RunResult>();
  const reused: string[] = [];
  const planned = (r: RunSpec) => (typeof r.steps === 'number' ? r.steps : r.steps.estimate);
  let total = plan.runs.reduce((s, r) => s + planned(r), 0);
  let stepsDone = 0;

  for (const [index, run] of plan.runs.entries()) {
    const spec = { ...run, steps: resolveSteps(run, done) };
    total += spec.steps - planned(run);
    const file = path.join(runsDir, `${budget}-${run.id}.json`);
    const finished = readFinished(file, spec, dataKey, modelOverrides(spec, data));
    if (finished) {
      done.set(run.id, finished);
      reused.push(run.id);
      stepsDone += spec.steps;
      options.onProgress?.({ done: stepsDone, total, run: run.id, runIndex: index, runs: plan.runs.length, loss: finished.final.trainLoss });
      continue;
    }
    await options.beforeRun?.(spec);
    const before = stepsDone;
    const onStep = (r: StepResult) => options.onProgress?.({ done: before + r.step, total, run: run.id, runIndex: index, runs: plan.runs.length, loss: r.loss });
    const result = await trainRun(spec, { data, dataSpec, adapter: gpu.adapter.description || gpu.adapter.vendor, signal: options.signal, onStep, warmup: study.timed });
    if (!result) return { study: study.name, budget, complete: false, dir, results: [...done.values()], reused, files: [], summary: null };
    writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(result, null, 2)));
    done.set(run.id, result);
    stepsDone = before + spec.steps;
    await options.afterRun?.(result);
  }

  const results = plan.runs.map((r) => done.get(r.id)!);
  const command = options.command ?? `npm run nfnet -- study ${study.name} --budget ${budget}${options.only ? ` --only ${parts.join(',')}` : ''}`;
  const report = study.report(results, { budget, command, parts, plan });
  const files: string[] = [];
  const write = (file: string, bytes: Uint8Array) => {
    writeFileAtomic(path.join(dir, file), bytes);
    files.push(path.join(dir, file));
  };
  const summary = { study: study.name, title: study.title, claim: study.claim, budget, parts, data: dataSpec, adapter: results[0]?.adapter ?? null, command, ...report.summary };
  write(`summary-${budget}.json`, new TextEncoder().encode(JSON.stringify(summary, null, 2)));
  for (const f of report.figures) write(`${budget}-${f.name}.png`, await renderPng(f.spec));
  write(`claims-${budget}.md`, new TextEncoder().encode(report.claims));
  return { study: study.name, budget, complete: true, dir, results, reused, files, summary };
}
