/**
 * `Trainer.fit`: the one training loop, shared by the CLI (`nfnet train`) and the browser
 * demo. Epochs of steps with one step in flight (step k+1 is recorded while the GPU runs
 * step k), a running mean of loss and accuracy, evaluation after every epoch, and hooks
 * where callers draw progress, pause, save checkpoints or stop.
 */
import { DataLoader } from '../data/loader.js';
import { ValueError } from '../runtime/errors.js';
import { checkBoolean, checkFunction, checkOptions, describeValue } from '../runtime/validate.js';
import type { EvalResult, PendingStep, StepResult, Trainer } from './train.js';

export interface FitOptions {
  /** Passes over the loader (default: enough for the schedule's totalSteps). */
  epochs?: number;
  /** Stop after this many steps in total (quick experiments); the schedule still spans totalSteps. */
  maxSteps?: number;
  /** Resuming: the epoch to start at (0-based) and the batches of it already done. */
  startEpoch?: number;
  skipBatches?: number;
  /** Evaluated after every epoch. */
  test?: DataLoader;
  /** Evaluate the live weights (default true). */
  evalLive?: boolean;
  /** Evaluate the EMA's averages (default: when the trainer keeps an EMA). */
  evalEma?: boolean;
  /** Flip test-time augmentation in the evaluations (`evaluate`'s `flip`; default false). */
  evalFlip?: boolean;
  /** Evaluate after every n-th epoch and after the last one (default 1: every epoch). */
  evalEvery?: number;
  /** Record step k+1 while the GPU runs step k (default true); hooks then see step k after k+1 was submitted. */
  pipeline?: boolean;
  /** Wraps each step's submission (a lock, a profiler). */
  wrapStep?: (submit: () => Promise<PendingStep>) => Promise<PendingStep>;
  /**
   * Stop after this many consecutive steps skipped by the non-finite guard (default 5):
   * a NaN in one batch is skipped and counted, a run whose loss stays non-finite ends.
   */
  maxSkippedInARow?: number;
}

/** Where the run is, after a step. */
export interface FitProgress {
  /** 1-based. */
  epoch: number;
  /** Steps done in this epoch. */
  inEpoch: number;
  stepsPerEpoch: number;
  /** Running means over this epoch's finished steps. */
  trainLoss: number;
  trainAccuracy: number;
  imagesPerSecond: number;
}

export interface EpochRecord {
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy: number;
  /** Live weights; null when not evaluated. */
  testLoss: number | null;
  testAccuracy: number | null;
  testAccuracyEma: number | null;
  imagesPerSecond: number;
  minutes: number;
}

/** A hook may return false to stop the run (after the step in flight). */
type HookResult = void | boolean | Promise<void | boolean>;

export interface FitHooks {
  /** Before each step is submitted (await here to pause). */
  beforeStep?: (p: FitProgress) => HookResult;
  /** After each step's result arrived (also a skipped one: `r.skipped`). */
  onStep?: (r: StepResult, p: FitProgress) => HookResult;
  /** After each epoch and its evaluation (save a checkpoint here). */
  onEpoch?: (rec: EpochRecord) => void | Promise<void>;
}

export interface FitResult {
  epochs: EpochRecord[];
  /** Every step's loss and learning rate. */
  steps: { step: number; loss: number; lr: number }[];
  /** The run stopped after `maxSkippedInARow` consecutive non-finite steps (see `message`). */
  diverged: boolean;
  /** Steps the non-finite guard skipped (weights untouched). */
  skippedSteps: number;
  /** Why the run ended early, for people. */
  message: string | null;
  /** A hook asked to stop. */
  stopped: boolean;
  minutes: number;
}

function positiveInteger(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw new ValueError(`fit: ${name} must be an integer >= ${min}, got ${describeValue(v)}`);
}

/** Running means of one epoch. */
class EpochMeter {
  private lossSum = 0;
  private correct = 0;
  seen = 0;
  private readonly t0 = performance.now();
  constructor(readonly epoch: number, public inEpoch: number, readonly stepsPerEpoch: number) {}

  add(r: StepResult): void {
    this.inEpoch++;
    this.lossSum += r.loss * r.count;
    this.correct += r.correct;
    this.seen += r.count;
  }

  progress(): FitProgress {
    const n = Math.max(1, this.seen);
    return {
      epoch: this.epoch, inEpoch: this.inEpoch, stepsPerEpoch: this.stepsPerEpoch,
      trainLoss: this.lossSum / n, trainAccuracy: this.correct / n, imagesPerSecond: this.seen / ((performance.now() - this.t0) / 1000),
    };
  }
}

const FIT_OPTION_NAMES = ['epochs', 'maxSteps', 'startEpoch', 'skipBatches', 'test', 'evalLive', 'evalEma', 'evalFlip', 'evalEvery', 'pipeline', 'wrapStep', 'maxSkippedInARow'] as const;

/** Every option and hook checked before the first step. */
function checkFit(loader: DataLoader, options: FitOptions, hooks: FitHooks): void {
  if (!(loader instanceof DataLoader)) throw new ValueError(`fit: loader must be a DataLoader, got ${describeValue(loader)}`);
  checkOptions('fit', options, FIT_OPTION_NAMES);
  checkOptions('fit', hooks, ['beforeStep', 'onStep', 'onEpoch'], 'hooks');
  if (options.test !== undefined && !(options.test instanceof DataLoader)) throw new ValueError(`fit: test must be a DataLoader, got ${describeValue(options.test)}`);
  for (const k of ['evalLive', 'evalEma', 'evalFlip', 'pipeline'] as const) if (options[k] !== undefined) checkBoolean('fit', k, options[k]);
  if (options.wrapStep !== undefined) checkFunction('fit', 'wrapStep', options.wrapStep);
  for (const k of ['beforeStep', 'onStep', 'onEpoch'] as const) if (hooks[k] !== undefined) checkFunction('fit', `hooks.${k}`, hooks[k]);
}

export async function fitLoop(trainer: Trainer, loader: DataLoader, options: FitOptions, hooks: FitHooks): Promise<FitResult> {
  checkFit(loader, options, hooks);
  const stepsPerEpoch = loader.batchesPerEpoch;
  const { maxSteps, startEpoch = 0, skipBatches = 0, test, pipeline = true, wrapStep = (submit) => submit() } = options;
  const epochs = options.epochs ?? Math.ceil(trainer.options.totalSteps / stepsPerEpoch);
  positiveInteger('epochs', epochs, 1);
  positiveInteger('maxSteps', maxSteps, 1);
  positiveInteger('startEpoch', startEpoch, 0);
  positiveInteger('skipBatches', skipBatches, 0);
  const evalEvery = options.evalEvery ?? 1;
  positiveInteger('evalEvery', evalEvery, 1);
  const evalLive = options.evalLive ?? true;
  const evalEma = (options.evalEma ?? true) && trainer.ema !== null;
  const flip = options.evalFlip ?? false;
  const maxSkipped = options.maxSkippedInARow ?? 5;
  positiveInteger('maxSkippedInARow', maxSkipped, 1);
  const result: FitResult = { epochs: [], steps: [], diverged: false, stopped: false, skippedSteps: 0, message: null, minutes: 0 };
  let skippedInARow = 0;
  const t0 = performance.now();
  const done = () => result.diverged || result.stopped || (maxSteps !== undefined && trainer.step >= maxSteps);

  for (let epoch = startEpoch; epoch < epochs && !done(); epoch++) {
    const meter = new EpochMeter(epoch + 1, epoch === startEpoch ? skipBatches : 0, stepsPerEpoch);
    // Book one finished step; false when the run must stop.
    const record = async (r: StepResult): Promise<boolean> => {
      result.steps.push({ step: r.step, loss: r.loss, lr: r.lr });
      if (r.skipped) {
        result.skippedSteps++;
        if (++skippedInARow >= maxSkipped) {
          result.diverged = true;
          result.message = `stopped at step ${r.step}: the last ${skippedInARow} steps had a non-finite loss or gradient and were skipped (weights unchanged since step ${r.step - skippedInARow}); check the data for NaN/∞ or lower the learning rate`;
          return false;
        }
      } else skippedInARow = 0;
      if (!r.skipped) meter.add(r);
      if ((await hooks.onStep?.(r, meter.progress())) === false) result.stopped = true;
      return !result.stopped;
    };
    let inFlight: Promise<StepResult> | null = null;
    for (const batch of loader.epoch(meter.inEpoch)) {
      if ((await hooks.beforeStep?.(meter.progress())) === false) {
        result.stopped = true;
        break;
      }
      const next = (await wrapStep(() => trainer.submitStep(batch))).result;
      const previous = inFlight;
      inFlight = next;
      if (!pipeline) {
        inFlight = null;
        if (!(await record(await next))) break;
      } else if (previous && !(await record(await previous))) break;
      if (done()) break;
    }
    // The step still in flight is always booked, also when the run stops.
    if (inFlight) {
      const last = await inFlight;
      if (!result.diverged) await record(last);
    }
    if (result.diverged || result.stopped) break;
    const p = meter.progress();
    const lastEpoch = epoch + 1 === epochs || done(); // done(): --max-steps reached (a stop broke out above)
    const evaluated = test !== undefined && ((epoch + 1) % evalEvery === 0 || lastEpoch);
    const live: EvalResult | null = evaluated && evalLive ? await trainer.evaluate(test, { flip }) : null;
    const ema: EvalResult | null = evaluated && evalEma ? await trainer.evaluate(test, { useEma: true, flip }) : null;
    const rec: EpochRecord = {
      epoch: epoch + 1, step: trainer.step, trainLoss: p.trainLoss, trainAccuracy: p.trainAccuracy,
      testLoss: live?.loss ?? null, testAccuracy: live?.accuracy ?? null, testAccuracyEma: ema?.accuracy ?? null,
      imagesPerSecond: p.imagesPerSecond, minutes: (performance.now() - t0) / 60000,
    };
    result.epochs.push(rec);
    await hooks.onEpoch?.(rec);
  }
  result.minutes = (performance.now() - t0) / 60000;
  return result;
}
