/**
 * One run of a study: build the model from the registry, train it through `Trainer.fit`
 * for the spec's steps, evaluate on the held-out images every `evalEvery` steps and at the
 * end (the clock stops while evaluating), and return its result. Nothing is written here.
 */
import { DataLoader, channelStats } from '../data/loader.js';
import { configOf, create, info } from '../models/registry.js';
import { REGULARIZATION } from './recipe.js';
import { Trainer, evaluate, type TrainOptions } from '../nfnet/train.js';
import type { StepResult } from '../nfnet/train.js';
import { currentGpuOrNull } from '../runtime/init.js';
import type { StudyData } from './data.js';
import type { CurvePoint, DataSpec, RunResult, RunSpec } from './types.js';

export interface RunContext {
  data: StudyData;
  dataSpec: DataSpec & { dataset: string };
  adapter: string;
  signal?: AbortSignal;
  onStep?: (r: StepResult) => void;
  /**
   * Train a throwaway copy for four steps and evaluate it first, so that building the GPU
   * pipelines (seconds on a software adapter) is not booked as the run's training time.
   */
  warmup?: boolean;
}

/** The spec's model config overrides for the study's images (classes, channels) and the shared regularisation. */
export function modelOverrides(spec: RunSpec, data: StudyData): Record<string, unknown> {
  const defaults = configOf(spec.model.name) as unknown as Record<string, unknown>;
  // Only the fields the family has (the BN-ResNets have no stochastic depth).
  const regularization = Object.fromEntries(Object.entries(REGULARIZATION).filter(([field]) => field in defaults));
  return { numClasses: data.train.classes, inChannels: data.train.channels, ...regularization, ...spec.model.overrides };
}

/** Forward multiply-adds per image at the study's resolution (no GPU). */
export function macsPerImage(spec: RunSpec, data: StudyData, resolution: number): number {
  return info(spec.model.name, { resolution, ...modelOverrides(spec, data) }).macs;
}

/** Mean of the last tenth of the finite step losses (the end of training, smoothed). */
function finalTrainLoss(losses: readonly number[]): number {
  const finite = losses.filter(Number.isFinite);
  if (!finite.length) return Number.NaN;
  const tail = finite.slice(-Math.max(1, Math.floor(finite.length / 10)));
  return tail.reduce((s, v) => s + v, 0) / tail.length;
}

function trainOptions(spec: RunSpec & { steps: number }): TrainOptions {
  return {
    lr: spec.lr, batchSize: spec.batch, totalSteps: spec.steps, warmupSteps: spec.warmupSteps ?? 0,
    clipping: spec.clipping, seed: spec.seed, ema: false, sam: spec.sam ?? null,
  };
}

async function warmUp(spec: RunSpec & { steps: number }, data: StudyData, stats: { mean: number[]; std: number[] }, test: DataLoader): Promise<void> {
  // Its own loader, so that the run's data order is the same with or without a warm-up.
  const train = new DataLoader(data.train, { batchSize: spec.batch, shuffle: true, seed: spec.seed, flip: data.flip, ...stats });
  const model = create(spec.model.name, { seed: spec.seed, ...modelOverrides(spec, data) });
  const trainer = new Trainer(model, trainOptions(spec));
  try {
    // The same loop as the run's (pipelined or not), long enough for the JavaScript to be compiled too.
    await trainer.fit(train, { epochs: 4, maxSteps: 4, pipeline: spec.evalEvery === 0 });
    await evaluate(model, test);
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/**
 * Per-kernel time of `steps` more training steps. On an adapter without timestamp queries
 * the profiler times each dispatch on its own (launch overhead included), so shares of the
 * total are the figure to read, not absolute milliseconds.
 */
async function profileSteps(trainer: Trainer, loader: DataLoader, steps: number): Promise<RunResult['profile']> {
  const gpu = currentGpuOrNull()!;
  const batches = [];
  for (const b of loader.epoch()) {
    if (batches.length === steps) break;
    batches.push(b);
  }
  gpu.profile.start();
  for (const b of batches) await trainer.trainStep(b);
  const report = await gpu.profile.stop();
  return { mode: report.mode, steps: batches.length, totalMs: report.totalMs, kernels: report.kernels.map(({ kernel, calls, totalMs }) => ({ kernel, calls, totalMs })) };
}

/** Train one run; null when `signal` aborted it (a partial run is not a result). */
export async function trainRun(spec: RunSpec & { steps: number }, ctx: RunContext): Promise<RunResult | null> {
  const { data } = ctx;
  const stats = channelStats(data.train);
  const loader = new DataLoader(data.train, { batchSize: spec.batch, shuffle: true, seed: spec.seed, flip: data.flip, ...stats });
  const test = new DataLoader(data.test, { batchSize: 250, keepLast: true, ...stats });
  const macs = macsPerImage(spec, data, ctx.dataSpec.resolution);
  if (ctx.warmup) await warmUp(spec, data, stats, test);
  const model = create(spec.model.name, { seed: spec.seed, ...modelOverrides(spec, data) });
  const trainer = new Trainer(model, trainOptions(spec));
  const curve: CurvePoint[] = [];
  let evalMs = 0;
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0 - evalMs) / 1000;
  const evaluateNow = async (step: number) => {
    const e0 = performance.now();
    const e = await evaluate(model, test);
    evalMs += performance.now() - e0;
    curve.push({ step, examples: step * spec.batch, seconds: seconds(), testAccuracy: e.accuracy, testLoss: e.loss });
  };
  try {
    const epochs = Math.ceil(spec.steps / loader.batchesPerEpoch);
    const fitted = await trainer.fit(
      loader,
      // Without pipelining a hook's evaluation sees the weights of exactly the step it follows.
      { epochs, maxSteps: spec.steps, pipeline: spec.evalEvery === 0 },
      {
        beforeStep: () => !ctx.signal?.aborted,
        onStep: async (r) => {
          ctx.onStep?.(r);
          if (spec.evalEvery > 0 && r.step % spec.evalEvery === 0 && r.step < spec.steps) await evaluateNow(r.step);
        },
      },
    );
    if (ctx.signal?.aborted) return null;
    const trainSeconds = seconds();
    await evaluateNow(trainer.step);
    const last = curve[curve.length - 1]!;
    // After the final evaluation: the extra steps change the weights, not the result.
    const profile = spec.profileSteps ? await profileSteps(trainer, loader, spec.profileSteps) : null;
    const examples = trainer.step * spec.batch;
    return {
      id: spec.id, spec, data: ctx.dataSpec, model: { name: spec.model.name, overrides: modelOverrides(spec, data), params: model.parameterCount(), macsPerImage: macs },
      adapter: ctx.adapter, stepsDone: trainer.step, examples, trainSeconds,
      msPerStep: (1000 * trainSeconds) / Math.max(1, trainer.step), imagesPerSecond: examples / Math.max(1e-9, trainSeconds),
      flops: 6 * macs * examples * (spec.sam ? 2 : 1), curve,
      final: { testAccuracy: last.testAccuracy, testLoss: last.testLoss, trainLoss: finalTrainLoss(fitted.steps.map((s) => s.loss)) },
      losses: fitted.steps.map((s) => s.loss), profile, diverged: fitted.diverged, skippedSteps: fitted.skippedSteps,
      finishedAt: new Date().toISOString(),
    };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}
