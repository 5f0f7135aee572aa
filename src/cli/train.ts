/**
 * `nfnet train`: the training loop with a progress bar, per-epoch test evaluation, a JSON +
 * PNG learning curve and checkpoints. Also used by the docs/results scripts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { init } from '../runtime/init.js';
import { DataLoader, channelStats } from '../data/loader.js';
import { create } from '../nfnet/model.js';
import { Trainer, type StepResult } from '../nfnet/train.js';
import { restore } from '../nfnet/checkpoint.js';
import { loadCheckpoint, saveCheckpoint } from '../nfnet/checkpoint-node.js';
import { renderPng } from '../report/plot.js';
import { loadSplits, type DataArgs } from './datasets.js';

export interface TrainArgs extends DataArgs {
  variant: string;
  epochs: number;
  batch: number;
  lr?: number;
  warmup: number;
  clipping: number;
  agc: boolean;
  seed: number;
  out: string;
  resume?: string;
  fast: boolean;
  progress: boolean;
  evalEma: boolean;
  /** Evaluate the live (non-EMA) weights each epoch (default true; the EMA alone halves the evaluation time). */
  evalLive?: boolean;
  /** Stop after this many steps in total (quick experiments); the schedule still spans all epochs. */
  maxSteps?: number;
  /** Without a progress bar, print a line every this many steps (0 = never). */
  logEvery: number;
  /** Random-crop padding in pixels (0 = off); flips follow the dataset (on for clothes, off for digits). */
  crop: number;
  /** Train on random crops of this size (evaluation sees the full image); default: full images. */
  trainRes?: number;
  /** Override the variant's head dropout and stochastic-depth rate. */
  dropout?: number;
  stochasticDepth?: number;
  /**
   * Clip the zero-initialised skip gains with AGC too, as the reference does (only the
   * classifier's weight stays excluded). Default false: they are excluded, since the AGC
   * bound λ·max(‖W‖, 1e-3) caps a zero gain's step near 1e-5 and freezes it in short runs
   * (see TrainOptions.agcExclude).
   */
  agcSkipGains: boolean;
}

export interface EpochRecord {
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy: number;
  /** Live weights; null when only the EMA was evaluated. */
  testLoss: number | null;
  testAccuracy: number | null;
  testAccuracyEma: number | null;
  imagesPerSecond: number;
  minutes: number;
}

export interface TrainResult {
  args: TrainArgs;
  adapter: string;
  params: number;
  epochs: EpochRecord[];
  /** Per-step training loss (every step), for the curve and the AGC ablation. */
  steps: { step: number; loss: number; lr: number }[];
  minutes: number;
  diverged: boolean;
}

export async function train(a: TrainArgs): Promise<TrainResult> {
  const gpu = await init({ fast: a.fast });
  const { train: trainSet, test: testSet, flip } = loadSplits(a);
  const stats = channelStats(trainSet);
  const loader = new DataLoader(trainSet, { batchSize: a.batch, shuffle: true, seed: a.seed, cropPadding: a.crop, cropSize: a.trainRes, flip, ...stats });
  const testLoader = new DataLoader(testSet, { batchSize: 250, keepLast: true, ...stats });
  const model = create(a.variant, {
    seed: a.seed, numClasses: trainSet.classes, inChannels: trainSet.channels,
    ...(a.dropout === undefined ? {} : { dropout: a.dropout }),
    ...(a.stochasticDepth === undefined ? {} : { stochDepthRate: a.stochasticDepth }),
  });
  const stepsPerEpoch = loader.batchesPerEpoch;
  const lr = a.lr ?? 0.1 * (a.batch / 256) * 4; // the reference's 0.1·B/256, ×4 for a short schedule
  const trainer = new Trainer(model, {
    lr, totalSteps: stepsPerEpoch * a.epochs, warmupSteps: Math.round(a.warmup * stepsPerEpoch),
    clipping: a.agc ? a.clipping : 0, seed: a.seed, ema: true,
    agcExclude: a.agcSkipGains ? ['head.fc.weight'] : ['head.fc.weight', /skipGain$/],
  });
  let startEpoch = 0;
  let skip = 0;
  if (a.resume) {
    const ck = loadCheckpoint(a.resume);
    restore(model, ck, trainer);
    if (ck.loader) {
      loader.restore(ck.loader);
      skip = ck.loader.batchInEpoch;
      startEpoch = ck.loader.epochs - 1;
    }
  }
  mkdirSync(a.out, { recursive: true });
  const result: TrainResult = {
    args: a, adapter: gpu.adapter.description || gpu.adapter.vendor, params: model.parameterCount(), epochs: [], steps: [], minutes: 0, diverged: false,
  };
  const t0 = performance.now();
  const bar = a.progress
    ? new cliProgress.SingleBar(
        { format: 'epoch {epoch} |{bar}| {value}/{total} loss {loss} acc {acc}% {ips} img/s ETA {eta_formatted}', hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : null;
  outer: for (let epoch = startEpoch; epoch < a.epochs; epoch++) {
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const te = performance.now();
    bar?.start(stepsPerEpoch, skip, { epoch: epoch + 1, loss: '-', acc: '-', ips: '-' });
    let inEpoch = skip;
    let diverged = false;
    // Book one step's result; false when the loss is no longer finite.
    const record = (r: StepResult): boolean => {
      inEpoch++;
      result.steps.push({ step: r.step, loss: r.loss, lr: r.lr });
      if (!Number.isFinite(r.loss)) return false;
      lossSum += r.loss * r.count;
      correct += r.correct;
      seen += r.count;
      const shown = { loss: (lossSum / seen).toFixed(3), acc: ((100 * correct) / seen).toFixed(1), ips: (seen / ((performance.now() - te) / 1000)).toFixed(1) };
      bar?.update(inEpoch, shown);
      // Without a terminal (logs, CI) a line every `logEvery` steps stands in for the bar.
      if (!bar && a.logEvery > 0 && inEpoch % a.logEvery === 0) {
        console.error(`epoch ${epoch + 1} step ${inEpoch}/${stepsPerEpoch}: loss ${shown.loss} acc ${shown.acc}% ${shown.ips} img/s`);
      }
      return true;
    };
    // One step in flight: step k+1 is prepared and recorded while the GPU runs step k.
    let inFlight: Promise<StepResult> | null = null;
    for (const batch of loader.epoch(skip)) {
      const next = (await trainer.submitStep(batch)).result;
      const done = inFlight;
      inFlight = next;
      if (done && !record(await done)) {
        diverged = true;
        break;
      }
      if (a.maxSteps && trainer.step >= a.maxSteps) break;
    }
    if (inFlight) {
      const last = await inFlight;
      if (!diverged && !record(last)) diverged = true;
    }
    if (diverged) {
      result.diverged = true;
      bar?.stop();
      break outer;
    }
    bar?.stop();
    const ips = seen / ((performance.now() - te) / 1000);
    skip = 0;
    const live = a.evalLive !== false || !a.evalEma ? await trainer.evaluate(testLoader) : null;
    const ema = a.evalEma ? await trainer.evaluate(testLoader, { useEma: true }) : null;
    const rec: EpochRecord = {
      epoch: epoch + 1, step: trainer.step, trainLoss: lossSum / Math.max(1, seen), trainAccuracy: correct / Math.max(1, seen),
      testLoss: live?.loss ?? null, testAccuracy: live?.accuracy ?? null, testAccuracyEma: ema?.accuracy ?? null, imagesPerSecond: ips,
      minutes: (performance.now() - t0) / 60000,
    };
    result.epochs.push(rec);
    console.error(
      `epoch ${rec.epoch}: train loss ${rec.trainLoss.toFixed(4)} acc ${(100 * rec.trainAccuracy).toFixed(2)}% | test acc` +
        `${live ? ` ${(100 * live.accuracy).toFixed(2)}%` : ''}${ema ? ` (EMA ${(100 * ema.accuracy).toFixed(2)}%)` : ''} | ${ips.toFixed(1)} img/s | ${rec.minutes.toFixed(1)} min`,
    );
    await saveCheckpoint(path.join(a.out, 'checkpoint.safetensors'), model, trainer, {
      loader: { ...loader.state, epochs: loader.state.epochs + 1, batchInEpoch: 0 },
      extra: { args: a },
    });
    if (a.maxSteps && trainer.step >= a.maxSteps) break;
  }
  result.minutes = (performance.now() - t0) / 60000;
  writeFileSync(path.join(a.out, 'curve.json'), JSON.stringify(result, null, 2));
  writeFileSync(path.join(a.out, 'curve.png'), await renderPng(learningCurveChart(result)));
  trainer.dispose();
  model.dispose();
  await gpu.dispose();
  return result;
}

export function learningCurveChart(r: TrainResult) {
  const smooth = 20;
  const steps = r.steps.map((s, i, all) => {
    const w = all.slice(Math.max(0, i - smooth + 1), i + 1);
    return { step: s.step, value: w.reduce((t, x) => t + x.loss, 0) / w.length, series: 'train loss (20-step mean)' };
  });
  const acc = r.epochs.flatMap((e) => [
    ...(e.testAccuracy === null ? [] : [{ step: e.step, value: e.testAccuracy, series: 'test accuracy' }]),
    ...(e.testAccuracyEma === null ? [] : [{ step: e.step, value: e.testAccuracyEma, series: 'test accuracy (EMA)' }]),
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${r.args.variant} on ${r.args.data}: batch ${r.args.batch}, ${r.epochs.length} epochs, ${r.minutes.toFixed(1)} min on ${r.adapter}`,
    hconcat: [
      { width: 380, height: 240, data: { values: steps }, mark: 'line' as const, encoding: { x: { field: 'step', type: 'quantitative' as const }, y: { field: 'value', type: 'quantitative' as const, title: 'training loss' } } },
      {
        width: 380, height: 240, data: { values: acc }, mark: { type: 'line' as const, point: true },
        encoding: {
          x: { field: 'step', type: 'quantitative' as const },
          y: { field: 'value', type: 'quantitative' as const, title: 'test accuracy', scale: { zero: false } },
          color: { field: 'series', type: 'nominal' as const, title: null },
        },
      },
    ],
  };
}
