/**
 * `nfnet train`: the training loop with a progress bar, per-epoch test evaluation, a JSON +
 * PNG learning curve and checkpoints. Also used by the docs/results scripts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { init, type Gpu } from '../runtime/init.js';
import { DataLoader, channelStats } from '../data/loader.js';
import { create } from '../models/registry.js';
import type { Model } from '../models/model.js';
import { importTimm } from '../models/timm.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/preprocess.js';
import type { ImageSet } from '../data/formats.js';
import { ValueError } from '../runtime/errors.js';
import type { TrainPreprocess } from './predict.js';
import { SCHEDULES, Trainer, resolveTrainOptions, type ResolvedTrainOptions, type Schedule, type TrainOptions } from '../nfnet/train.js';
import type { EpochRecord } from '../nfnet/fit.js';
import { restore } from '../nfnet/checkpoint.js';
import { loadCheckpoint, saveCheckpoint } from '../nfnet/checkpoint-node.js';
import { renderPng } from '../report/plot.js';
import { loadSplits, type DataArgs } from './datasets.js';

export interface TrainArgs extends DataArgs {
  variant: string;
  /** Overrides of the model's config fields (`--set key=value`), checked by its family. */
  set?: Record<string, unknown>;
  epochs: number;
  batch: number;
  lr?: number;
  warmup: number;
  /** The learning rate's decay after warm-up (TRAIN_DEFAULTS.schedule when absent). */
  schedule?: Schedule;
  /** Undefined: the model's default (TRAIN_DEFAULTS, or 0 for batch-normalized models). */
  clipping?: number;
  agc: boolean;
  seed: number;
  out: string;
  resume?: string;
  fast: boolean;
  progress: boolean;
  evalEma: boolean;
  /** Evaluate the live (non-EMA) weights each epoch (default true; the EMA alone halves the evaluation time). */
  evalLive?: boolean;
  /** Flip test-time augmentation in the evaluations (`--tta`). */
  tta?: boolean;
  /** Evaluate after every n-th epoch and after the last (default 1). */
  evalEvery?: number;
  /** Stop after this many steps in total (quick experiments); the schedule still spans all epochs. */
  maxSteps?: number;
  /** Without a progress bar, print a line every this many steps (0 = never). */
  logEvery: number;
  /** Flip each image every other epoch instead of at random (where the dataset is flipped at all). */
  alternateFlips?: boolean;
  /** Random-crop padding in pixels (0 = off); flips follow the dataset (on for clothes, off for digits). */
  crop: number;
  /** Train on random crops of this size (evaluation sees the full image); default: full images. */
  trainRes?: number;
  /** Override the variant's head dropout and stochastic-depth rate. */
  dropout?: number;
  stochasticDepth?: number;
  /** Clip the zero-initialised skip gains with AGC too, as the reference does (see TRAIN_DEFAULTS.agcSkipGains). */
  agcSkipGains: boolean;
  /** Sharpness-aware minimization with this radius ρ (off when absent): Trainer's `sam: { rho }`. */
  samRho?: number;
  /** The cross-entropy's label smoothing (TRAIN_DEFAULTS.labelSmoothing when absent). */
  labelSmoothing?: number;
  /** Weight decay and Nesterov momentum (TRAIN_DEFAULTS' when absent). */
  weightDecay?: number;
  momentum?: number;
  /**
   * Start from a timm state dict (safetensors): every weight but the classifier, which is
   * drawn fresh for the dataset's classes (finetuning). `variant` 'auto' reads the network
   * from the file's keys. Images are then normalised with ImageNet's mean/std, as the
   * pretrained weights expect.
   */
  init?: string;
  /** With `init`: the new head's classes; must be the dataset's (a check, not a choice). */
  classes?: number;
}

export type { EpochRecord };

export interface TrainResult {
  args: TrainArgs;
  adapter: string;
  params: number;
  epochs: EpochRecord[];
  /** Per-step training loss (every step), for the curve and the AGC ablation. */
  steps: { step: number; loss: number; lr: number }[];
  minutes: number;
  diverged: boolean;
  /** Steps the non-finite guard skipped (weights untouched). */
  skippedSteps: number;
}

/** The whole-number flags and their least values (`TrainArgs` field → flag, minimum). */
const WHOLE_FLAGS: [keyof TrainArgs, string, number][] = [
  ['epochs', '--epochs', 1], ['batch', '--batch', 1], ['maxSteps', '--max-steps', 1], ['evalEvery', '--eval-every', 1],
  ['subset', '--subset', 1], ['testSubset', '--test-subset', 1], ['size', '--size', 1], ['trainRes', '--train-res', 1],
  ['classes', '--classes', 1], ['seed', '--seed', 0], ['crop', '--crop', 0], ['logEvery', '--log-every', 0],
];
/** The real-valued flags: their least value, whether it is allowed, and their bound above (exclusive). */
const REAL_FLAGS: [keyof TrainArgs, string, number, 'closed' | 'open', number][] = [
  ['lr', '--lr', 0, 'open', Infinity], ['warmup', '--warmup', 0, 'closed', Infinity], ['clipping', '--clipping', 0, 'closed', Infinity],
  ['samRho', '--sam-rho', 0, 'open', Infinity], ['dropout', '--dropout', 0, 'closed', 1], ['stochasticDepth', '--stochastic-depth', 0, 'closed', 1],
  ['labelSmoothing', '--label-smoothing', 0, 'closed', 1], ['weightDecay', '--weight-decay', 0, 'closed', Infinity],
  ['momentum', '--momentum', 0, 'closed', 1],
];

/**
 * Every numeric flag in range, refused by its flag's name before the data is read, the GPU
 * starts or the out dir is written (the Trainer and `fit` check them again, by option name).
 */
export function checkTrainArgs(a: TrainArgs): void {
  const args = a as unknown as Record<string, unknown>;
  for (const [key, flag, min] of WHOLE_FLAGS) {
    const v = args[key];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min)) throw new ValueError(`${flag} must be an integer >= ${min}, got ${String(v)}`);
  }
  for (const [key, flag, min, side, max] of REAL_FLAGS) {
    const v = args[key];
    if (v === undefined) continue;
    const ok = typeof v === 'number' && Number.isFinite(v) && (side === 'open' ? v > min : v >= min) && v < max;
    if (!ok) throw new ValueError(`${flag} must be a number ${side === 'open' ? '>' : '>='} ${min}${max < Infinity ? ` and < ${max}` : ''}, got ${String(v)}`);
  }
  if (a.schedule !== undefined && !SCHEDULES.includes(a.schedule)) throw new ValueError(`--schedule must be one of ${SCHEDULES.join(', ')}, got ${String(a.schedule)}`);
}

/**
 * The training options a resumed run changes: one line per option whose value differs from
 * the one the checkpoint was trained with (an older file's missing options count as their
 * defaults).
 */
export function trainOptionChanges(recorded: TrainOptions, now: ResolvedTrainOptions): string[] {
  const before = resolveTrainOptions(recorded);
  return (Object.keys(now) as (keyof ResolvedTrainOptions)[])
    .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(now[key]))
    .map((key) => `${key} was ${JSON.stringify(before[key])} in the checkpoint, is ${JSON.stringify(now[key])} now`);
}

export async function train(a: TrainArgs): Promise<TrainResult> {
  checkTrainArgs(a);
  const { train: trainSet, test: testSet, flip } = loadSplits(a);
  if (a.classes !== undefined && a.classes !== trainSet.classes) throw new ValueError(`--classes ${a.classes}, but --data ${a.data} has ${trainSet.classes} classes`);
  if (a.init && trainSet.channels !== 3) throw new ValueError(`--init: timm weights take RGB images; --data ${a.data} has ${trainSet.channels} channel(s)`);
  const gpu = await init({ fast: a.fast });
  try {
    return await trainOn(gpu, a, { train: trainSet, test: testSet, flip });
  } finally {
    // Also when something is refused after the GPU is up (the Trainer's option checks): nothing is left allocated.
    await gpu.dispose();
  }
}

/** The training run on an initialised GPU (the caller disposes it). */
async function trainOn(gpu: Gpu, a: TrainArgs, splits: ReturnType<typeof loadSplits>): Promise<TrainResult> {
  const { train: trainSet, test: testSet, flip } = splits;
  // Pretrained features expect the normalisation they were trained with (ImageNet's).
  const stats = a.init ? { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] } : channelStats(trainSet);
  const loader = new DataLoader(trainSet, { batchSize: a.batch, shuffle: true, seed: a.seed, cropPadding: a.crop, cropSize: a.trainRes, flip: flip && a.alternateFlips ? 'alternate' : flip, ...stats });
  const testLoader = new DataLoader(testSet, { batchSize: 250, keepLast: true, ...stats });
  const regularisation = {
    ...a.set,
    ...(a.dropout === undefined ? {} : { dropout: a.dropout }),
    ...(a.stochasticDepth === undefined ? {} : { stochDepthRate: a.stochasticDepth }),
  };
  const model = a.init
    ? initFromTimm(a.init, a, { numClasses: trainSet.classes, ...regularisation })
    : create(a.variant, { seed: a.seed, numClasses: trainSet.classes, inChannels: trainSet.channels, ...regularisation });
  const stepsPerEpoch = loader.batchesPerEpoch;
  const trainer = new Trainer(model, {
    lr: a.lr, batchSize: a.batch, totalSteps: stepsPerEpoch * a.epochs, warmupSteps: Math.round(a.warmup * stepsPerEpoch),
    clipping: a.agc ? a.clipping : 0, agcSkipGains: a.agcSkipGains, seed: a.seed,
    // Flags left out stay undefined: the Trainer fills in TRAIN_DEFAULTS for them.
    labelSmoothing: a.labelSmoothing, weightDecay: a.weightDecay, momentum: a.momentum, schedule: a.schedule,
    ...(a.samRho === undefined ? {} : { sam: { rho: a.samRho } }),
  });
  let startEpoch = 0;
  let skipBatches = 0;
  if (a.resume) {
    const ck = loadCheckpoint(a.resume);
    restore(model, ck, trainer);
    // The flags of this command decide the rest of the run; say where they leave the checkpoint's course.
    if (ck.trainOptions) for (const change of trainOptionChanges(ck.trainOptions, trainer.options)) console.warn(`--resume: ${change}`);
    if (ck.loader) {
      loader.restore(ck.loader);
      skipBatches = ck.loader.batchInEpoch;
      startEpoch = ck.loader.epochs - 1;
    }
  }
  mkdirSync(a.out, { recursive: true });
  const bar = a.progress
    ? new cliProgress.SingleBar(
        { format: 'epoch {epoch} |{bar}| {value}/{total} loss {loss} acc {acc}% {ips} img/s ETA {eta_formatted}', hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let barEpoch = 0;
  const fitted = await trainer.fit(
    loader,
    { epochs: a.epochs, maxSteps: a.maxSteps, startEpoch, skipBatches, test: testLoader, evalLive: a.evalLive !== false || !a.evalEma, evalEma: a.evalEma, evalFlip: a.tta === true, evalEvery: a.evalEvery },
    {
      onStep: (_r, p) => {
        const shown = { loss: p.trainLoss.toFixed(3), acc: (100 * p.trainAccuracy).toFixed(1), ips: p.imagesPerSecond.toFixed(1) };
        if (bar && barEpoch !== p.epoch) {
          bar.stop();
          bar.start(p.stepsPerEpoch, p.inEpoch, { epoch: p.epoch, ...shown });
          barEpoch = p.epoch;
        }
        bar?.update(p.inEpoch, shown);
        // Without a terminal (logs, CI) a line every `logEvery` steps stands in for the bar.
        if (!bar && a.logEvery > 0 && p.inEpoch % a.logEvery === 0) {
          console.error(`epoch ${p.epoch} step ${p.inEpoch}/${p.stepsPerEpoch}: loss ${shown.loss} acc ${shown.acc}% ${shown.ips} img/s`);
        }
      },
      onEpoch: async (rec) => {
        bar?.stop();
        barEpoch = 0;
        const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
        const scores = [
          ...(rec.testAccuracy === null ? [] : [pct(rec.testAccuracy)]),
          ...(rec.testAccuracyEma === null ? [] : [`EMA ${pct(rec.testAccuracyEma)}`]),
        ];
        console.error(
          `epoch ${rec.epoch}: train loss ${rec.trainLoss.toFixed(4)} acc ${pct(rec.trainAccuracy)} | ` +
            `${scores.length ? `test acc ${scores.join(', ')}${a.tta ? ' (flip TTA)' : ''}` : 'not evaluated (--eval-every)'} | ${rec.imagesPerSecond.toFixed(1)} img/s | ${rec.minutes.toFixed(1)} min`,
        );
        await saveCheckpoint(path.join(a.out, 'checkpoint.safetensors'), model, trainer, {
          loader: { ...loader.state, epochs: loader.state.epochs + 1, batchInEpoch: 0 },
          extra: { args: a, preprocess: trainPreprocess(trainSet, stats) },
        });
      },
    },
  );
  bar?.stop();
  const result: TrainResult = {
    args: a, adapter: gpu.adapter.description || gpu.adapter.vendor, params: model.parameterCount(),
    epochs: fitted.epochs, steps: fitted.steps, minutes: fitted.minutes, diverged: fitted.diverged, skippedSteps: fitted.skippedSteps,
  };
  if (fitted.skippedSteps) console.error(`${fitted.skippedSteps} step(s) skipped: a non-finite loss or gradient (weights left untouched)`);
  if (fitted.message) console.error(fitted.message);
  writeFileSync(path.join(a.out, 'curve.json'), JSON.stringify(result, null, 2));
  writeFileSync(path.join(a.out, 'curve.png'), await renderPng(learningCurveChart(result)));
  trainer.dispose();
  model.dispose();
  return result;
}

/** How the training images were prepared, for `nfnet predict` on the checkpoint. */
function trainPreprocess(set: ImageSet, stats: { mean: number[]; std: number[] }): TrainPreprocess | undefined {
  if (set.height !== set.width || (set.channels !== 1 && set.channels !== 3)) return undefined;
  return { size: set.height, channels: set.channels, ...stats, ...(set.classNames ? { classNames: [...set.classNames] } : {}) };
}

/** timm weights with a fresh head (a progress bar while a large file loads). */
function initFromTimm(file: string, a: TrainArgs, overrides: Record<string, unknown>): Model {
  const raw = readFileSync(file);
  const bar = a.progress ? new cliProgress.SingleBar({ format: 'loading {file} |{bar}| {percentage}%', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : null;
  let started = false;
  try {
    const { model } = importTimm(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), {
      ...(a.variant === 'auto' ? {} : { variant: a.variant }), overrides, freshHead: true, seed: a.seed,
      ...(bar ? { onProgress: (done: number, total: number) => (started ? bar.update(done) : ((started = true), bar.start(total, done, { file: path.basename(file) }))) } : {}),
    });
    return model;
  } finally {
    bar?.stop();
  }
}

export function learningCurveChart(r: TrainResult) {
  const smooth = 20;
  const steps = r.steps.map((s, i, all) => {
    const w = all.slice(Math.max(0, i - smooth + 1), i + 1);
    return { step: s.step, value: w.reduce((t, x) => t + x.loss, 0) / w.length, series: 'train loss (20-step mean)' };
  });
  // Each epoch's mean training accuracy too: with --eval-every the test points can be one.
  const acc = r.epochs.flatMap((e) => [
    { step: e.step, value: e.trainAccuracy, series: 'train accuracy (epoch mean)' },
    ...(e.testAccuracy === null ? [] : [{ step: e.step, value: e.testAccuracy, series: 'test accuracy' }]),
    ...(e.testAccuracyEma === null ? [] : [{ step: e.step, value: e.testAccuracyEma, series: 'test accuracy (EMA)' }]),
  ]);
  const stepAxis = { field: 'step', type: 'quantitative' as const, axis: { format: ',d' }, scale: { domain: [0, r.steps.at(-1)?.step ?? 0] } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${r.args.variant} on ${r.args.data}: batch ${r.args.batch}, ${r.epochs.length} epochs, ${r.minutes.toFixed(1)} min on ${r.adapter}`,
    hconcat: [
      { width: 380, height: 240, data: { values: steps }, mark: 'line' as const, encoding: { x: stepAxis, y: { field: 'value', type: 'quantitative' as const, title: 'training loss' } } },
      {
        width: 380, height: 240, data: { values: acc }, mark: { type: 'line' as const, point: true },
        encoding: {
          x: stepAxis,
          y: { field: 'value', type: 'quantitative' as const, title: 'accuracy', scale: { zero: false }, axis: { format: '.1%' } },
          color: { field: 'series', type: 'nominal' as const, title: null, legend: { labelLimit: 260 } },
        },
      },
    ],
  };
}
