/**
 * The training step and loop of the NFNet paper: forward, label-smoothed cross-entropy,
 * backward, AGC → weight decay → Nesterov SGD, EMA of the weights; linear warm-up then
 * cosine decay of the learning rate (or a linear one: `schedule`). One step reads back one
 * small tensor: [loss, correct].
 * With `sam: { rho }` a step is SAM's two forward-backward passes (the F6+SAM recipe).
 */
import { tensor, zeros } from '../tensor/creation.js';
import { valueAndGrad } from '../autodiff/grad.js';
import { noGrad } from '../autodiff/tape.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import * as ops from '../ops/index.js';
import { sgdAgc, type SgdAgc } from '../optim/sgd-agc.js';
import { checkSamOptions } from '../optim/sam.js';
import { Ema, emaDecay } from '../optim/ema.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { DataLoader, mirrored, type Batch } from '../data/loader.js';
import { Model } from '../models/model.js';
import { ModelState } from '../state/model-state.js';
import { checkBoolean, checkFunction, checkNumber, checkOneOf, checkOptions, describeValue } from '../runtime/validate.js';
import { seedFor } from './initializers.js';
import { TRAIN_DEFAULTS, defaultLearningRate } from './defaults.js';
import { fitLoop, type FitHooks, type FitOptions, type FitResult } from './fit.js';

export { TRAIN_DEFAULTS, defaultLearningRate } from './defaults.js';

export interface TrainOptions {
  /** Peak learning rate (default: defaultLearningRate(batchSize)). */
  lr?: number;
  /** The batch size the default learning rate is scaled for (default 256). */
  batchSize?: number;
  /** Total optimizer steps (the schedule ends at 0 there). */
  totalSteps: number;
  warmupSteps?: number;
  /** The learning rate's decay after warm-up (default 'cosine'). */
  schedule?: Schedule;
  momentum?: number;
  weightDecay?: number;
  clipping?: number;
  labelSmoothing?: number;
  ema?: boolean;
  agcSkipGains?: boolean;
  seed?: number;
  /**
   * Sharpness-aware minimization (Foret et al. 2021), as in the NFNet paper's F6+SAM: each
   * step takes the gradient g at w, a second one at w + ρ·g/‖g‖₂, and updates w with the
   * second (after AGC, weight decay and momentum as usual). Twice the compute per step.
   * Off when absent or null.
   */
  sam?: { rho: number } | null;
}

/** TrainOptions with every default filled in (what checkpoints record); `sam` null is off. */
export type ResolvedTrainOptions = Required<Omit<TrainOptions, 'batchSize' | 'sam'>> & { sam: { rho: number } | null };

/** The learning rate's decay after warm-up: half a cosine, or a straight line, to 0. */
export type Schedule = 'cosine' | 'linear';
export const SCHEDULES: readonly Schedule[] = ['cosine', 'linear'];

const TRAIN_OPTION_NAMES = ['lr', 'batchSize', 'totalSteps', 'warmupSteps', 'schedule', 'momentum', 'weightDecay', 'clipping', 'labelSmoothing', 'ema', 'agcSkipGains', 'seed', 'sam'] as const;

/**
 * Every default filled in, every value checked (type, finiteness, range; unknown names
 * refused with a did-you-mean) before anything is built.
 */
export function resolveTrainOptions(options: TrainOptions): ResolvedTrainOptions {
  const fn = 'Trainer';
  if (options === undefined) throw new ValueError(`${fn}: options are required: at least { totalSteps }`);
  const given = checkOptions<TrainOptions>(fn, options, TRAIN_OPTION_NAMES);
  const { batchSize = 256, ...rest } = given;
  checkNumber(fn, 'batchSize', batchSize, { min: 1, integer: true });
  if (rest.lr !== undefined && !(typeof rest.lr === 'number' && rest.lr > 0 && Number.isFinite(rest.lr))) throw new ValueError(`${fn}: lr must be > 0, got ${describeValue(rest.lr)}`);
  const o: ResolvedTrainOptions = { ...TRAIN_DEFAULTS, lr: rest.lr ?? defaultLearningRate(batchSize), ...stripUndefined(rest) } as ResolvedTrainOptions;
  o.sam = o.sam === null ? null : { rho: checkSamOptions(fn, o.sam).rho };
  if (!Number.isInteger(o.totalSteps) || o.totalSteps < 1) throw new ValueError(`${fn}: totalSteps must be a positive integer, got ${describeValue(o.totalSteps)}`);
  checkNumber(fn, 'warmupSteps', o.warmupSteps, { min: 0, integer: true });
  if (o.warmupSteps > o.totalSteps) throw new ValueError(`${fn}: warmupSteps (${o.warmupSteps}) must not exceed totalSteps (${o.totalSteps})`);
  checkOneOf(fn, 'schedule', o.schedule, SCHEDULES);
  checkNumber(fn, 'momentum', o.momentum, { min: 0, max: 1 });
  checkNumber(fn, 'weightDecay', o.weightDecay, { min: 0 });
  checkNumber(fn, 'clipping', o.clipping, { min: 0 });
  checkNumber(fn, 'labelSmoothing', o.labelSmoothing, { min: 0, max: 1 });
  if (o.labelSmoothing === 1) throw new ValueError(`${fn}: labelSmoothing must be below 1 (1 would leave no signal), got 1`);
  checkBoolean(fn, 'ema', o.ema);
  checkBoolean(fn, 'agcSkipGains', o.agcSkipGains);
  checkNumber(fn, 'seed', o.seed, { integer: true });
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface StepResult {
  loss: number;
  /** Correct predictions in the batch (training mode, so with dropout). */
  correct: number;
  count: number;
  lr: number;
  /** Steps taken, this one included. */
  step: number;
  /**
   * The loss or a gradient was not finite (a NaN or ±∞ in the data, or a too-high learning
   * rate): the step left weights, momentum and EMA untouched.
   */
  skipped: boolean;
}

/** A submitted step: its loss and accuracy arrive with `result`. */
export interface PendingStep {
  result: Promise<StepResult>;
}

export interface EvalResult {
  accuracy: number;
  loss: number;
  count: number;
}

/** Linear warm-up to `peak`, then a cosine (or linear) decay to 0 at `total`. */
export function learningRate(step: number, peak: number, warmup: number, total: number, schedule: Schedule = 'cosine'): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const t = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return schedule === 'linear' ? peak * (1 - t) : 0.5 * peak * (1 + Math.cos(Math.PI * t));
}

/** Number of correct arg-max predictions, on the GPU (ties count as correct). */
function correctCount(logits: Tensor, oneHot: Tensor): Tensor {
  return tidy(() => {
    const best = ops.max(logits, { axes: -1 });
    const picked = ops.sum(ops.mul(logits, oneHot), { axes: -1 });
    return ops.sum(ops.ge(picked, best));
  });
}

/** A step's loss function: loss, its gradients in the state, and the logits. */
type LossOf = (state: ModelState) => Promise<[Tensor, [Tensor[]], Tensor[]]>;

function oneHotOf(labels: Int32Array, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => (out[i * classes + l] = 1));
  return out;
}

export interface EvaluateOptions {
  /** The weights to evaluate (default: the model's own; e.g. an EMA's averages). */
  state?: ModelState;
  /** Called after each batch with the images done so far. */
  onBatch?: (done: number) => void;
  /**
   * Flip test-time augmentation: each image's logits are the mean of its own and its
   * left-right mirror's (twice the forward passes). For data that flips in training
   * (clothes, objects), not for digits or text.
   */
  flip?: boolean;
}

/**
 * Accuracy and mean loss of `model` over a loader, in evaluation mode, on `state` (default:
 * the model's own; e.g. an EMA's averages). One small readback per batch.
 */
export async function evaluate(model: Model, loader: DataLoader, options: EvaluateOptions = {}): Promise<EvalResult> {
  if (!(model instanceof Model)) throw new ValueError(`evaluate: model must be a model (nfnet.create, models.create), got ${describeValue(model)}`);
  if (!(loader instanceof DataLoader)) throw new ValueError(`evaluate: loader must be a DataLoader, got ${describeValue(loader)}`);
  checkOptions('evaluate', options, ['state', 'onBatch', 'flip']);
  if (options.state !== undefined && !(options.state instanceof ModelState)) throw new ValueError(`evaluate: state must be a ModelState, got ${describeValue(options.state)}`);
  if (options.onBatch !== undefined) checkFunction('evaluate', 'onBatch', options.onBatch);
  if (options.flip !== undefined) checkBoolean('evaluate', 'flip', options.flip);
  const classes = model.config.numClasses;
  let correct = 0;
  let lossSum = 0;
  let count = 0;
  for (const batch of loader.epoch()) {
    const stats = noGrad(() =>
      tidy(() => {
        const x = tensor(batch.images, batch.shape);
        const labels = tensor(batch.labels, [batch.labels.length]);
        const oneHot = tensor(oneHotOf(batch.labels, classes), [batch.labels.length, classes]);
        const own = model.forward(x, { state: options.state });
        const logits = options.flip
          ? ops.mulScalar(ops.add(own, model.forward(tensor(mirrored(batch.images, batch.shape), batch.shape), { state: options.state })), 0.5)
          : own;
        const loss = ops.mulScalar(ops.softmaxCrossEntropy(logits, labels), batch.labels.length);
        return ops.concat([ops.reshape(loss, [1]), ops.reshape(correctCount(logits, oneHot), [1])], 0);
      }),
    );
    const [l, c] = await stats.data();
    stats.dispose();
    lossSum += l!;
    correct += c!;
    count += batch.labels.length;
    options.onBatch?.(count);
  }
  return { accuracy: correct / Math.max(1, count), loss: lossSum / Math.max(1, count), count };
}

/** Check a batch against the model before any GPU work: shape, channels, labels in range. */
export function checkBatch(batch: Batch, model: Model): void {
  const what = 'trainer: batch';
  if (!batch || typeof batch !== 'object') throw new ValueError(`${what} must be { images, labels, shape }, got ${describeValue(batch)}`);
  const { images, labels, shape } = batch;
  if (!(images instanceof Float32Array)) throw new ValueError(`${what}.images must be a Float32Array, got ${describeValue(images)}`);
  if (!(labels instanceof Int32Array)) throw new ValueError(`${what}.labels must be an Int32Array, got ${describeValue(labels)}`);
  if (!Array.isArray(shape) || shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ShapeError(`${what}.shape must be [N, H, W, C] of positive integers, got ${JSON.stringify(shape)}`);
  }
  const [n, h, w, c] = shape;
  if (c !== model.config.inChannels) throw new ShapeError(`${what}: the model takes ${model.config.inChannels} channels, the batch has shape ${describeShape(shape)}`);
  if (images.length !== n * h * w * c) throw new ShapeError(`${what}: shape ${describeShape(shape)} needs ${n * h * w * c} pixels, images has ${images.length}`);
  if (labels.length !== n) throw new ShapeError(`${what}: ${n} images but ${labels.length} labels`);
  const classes = model.config.numClasses;
  const bad = labels.findIndex((l) => l < 0 || l >= classes);
  if (bad >= 0) throw new ValueError(`${what}: label ${labels[bad]} at index ${bad} is outside [0, ${classes}) (the model has ${classes} classes)`);
}

export class Trainer {
  readonly optimizer: SgdAgc;
  readonly ema: Ema | null;
  readonly options: ResolvedTrainOptions;
  step = 0;
  /** Steps skipped by the non-finite guard so far (counted as their results arrive). */
  skippedSteps = 0;

  constructor(readonly model: Model, options: TrainOptions) {
    if (!(model instanceof Model)) throw new ValueError(`Trainer: model must be a model (nfnet.create(...), models.create(...)), got ${describeValue(model)}`);
    // The network's own defaults (e.g. no AGC for batch-normalized ones) under the caller's options.
    const own = model.architecture.trainDefaults ?? {};
    const given = options === undefined || options === null || typeof options !== 'object' ? options : { ...own, ...stripUndefined(options) };
    const o = resolveTrainOptions(given as TrainOptions);
    this.options = o;
    const classifier = model.architecture.classifier ?? ['head.fc.weight'];
    this.optimizer = sgdAgc(model.state, {
      lr: o.lr, momentum: o.momentum, nesterov: true, weightDecay: o.weightDecay, clipping: o.clipping,
      excludeFromAgc: o.agcSkipGains ? [...classifier] : [...classifier, /skipGain$/],
      guardNonFinite: true, // a NaN batch is skipped and counted, never trained on
      ...(o.sam ? { sam: o.sam } : {}),
    });
    this.ema = o.ema ? new Ema(model.state) : null;
  }

  /** One optimizer step on a batch. Reads back one 2-element tensor. */
  async trainStep(batch: Batch): Promise<StepResult> {
    return (await this.submitStep(batch)).result;
  }

  /**
   * Record and submit one optimizer step, without waiting for it: `result` resolves when its
   * loss and accuracy are read back. Steps may be submitted before earlier results are
   * awaited (the GPU queue runs them in order), so a training loop can prepare and record
   * step k+1 while the GPU works on step k. The caller awaits every `result`.
   */
  async submitStep(batch: Batch): Promise<PendingStep> {
    checkBatch(batch, this.model);
    const o = this.options;
    const classes = this.model.config.numClasses;
    const lr = learningRate(this.step, o.lr, o.warmupSteps, o.totalSteps, o.schedule);
    const x = tensor(batch.images, batch.shape);
    const labels = tensor(batch.labels, [batch.labels.length]);
    const oneHot = tensor(oneHotOf(batch.labels, classes), [batch.labels.length, classes]);
    const stepSeed = seedFor(o.seed, `step${this.step}`);
    const lossOf: LossOf = valueAndGrad((state: ModelState) => {
      const logits = this.model.forward(x, { training: true, seed: stepSeed, state });
      return [ops.softmaxCrossEntropy(logits, labels, { labelSmoothing: o.labelSmoothing }), logits] as const;
    });
    // A step the guard skips leaves the running statistics (batch norm's) as they were too.
    const running = this.model.state.holdRunning();
    let stats: Tensor;
    try {
      stats = await this.recordUpdate(lossOf, oneHot, lr);
    } catch (e) {
      running.release();
      throw e;
    } finally {
      for (const t of [x, labels, oneHot]) t.dispose();
    }
    this.optimizer.guard.restoreIfSkipped(running);
    this.ema?.update(this.model.state, emaDecay(this.step), { guard: this.optimizer.guard });
    this.optimizer.guard.report(stats, 2);
    const step = ++this.step;
    const count = batch.labels.length;
    // data() submits synchronously and only then waits, so the step is on the queue on return.
    const result = stats
      .data()
      .then(([lossValue, correct, flagged]) => {
        const skipped = flagged !== 0;
        if (skipped) this.skippedSteps++;
        return { loss: lossValue!, correct: correct!, count, lr, step, skipped };
      })
      .finally(() => stats.dispose());
    return { result };
  }

  /**
   * Forward and backward (twice with SAM) and the optimizer's update, recorded; returns the
   * step's [loss, correct, skipped] tensor, whose last element the guard's report fills.
   */
  private async recordUpdate(lossOf: LossOf, oneHot: Tensor, lr: number): Promise<Tensor> {
    const o = this.options;
    const [loss, [grads], [logits]] = await lossOf(this.model.state);
    // [loss, correct, skipped]: the guard writes the third after its checks.
    const stats = noGrad(() => tidy(() => ops.concat([ops.reshape(loss, [1]), ops.reshape(correctCount(logits!, oneHot), [1]), zeros([1])], 0)));
    if (o.sam) {
      // SAM: the reported loss and accuracy are the first pass's (at w). The optimizer keeps
      // w, moves to w + e; the second pass runs there with the same batch and dropout /
      // stochastic-depth masks (the same seed: the same function of the weights), and the
      // step restores w before applying AGC → decay → Nesterov with the second gradient.
      this.optimizer.perturb(grads, { loss });
      for (const t of [loss, logits!, ...grads]) t.dispose(); // gathered: free them before pass 2
      // Batch norm: running statistics follow the first pass only. The second runs in
      // training mode like the first (batch statistics, as SAM's gradient needs) and its
      // update of the running statistics is undone from a copy. NFNets have none: no copy.
      const firstPass = this.model.state.holdRunning();
      let peak: Awaited<ReturnType<typeof lossOf>>;
      try {
        peak = await lossOf(this.model.state);
      } catch (e) {
        this.optimizer.unperturb(); // w as before the step, and the next step can start afresh
        throw e;
      } finally {
        firstPass.restore();
        firstPass.release();
      }
      const [lossAtPeak, [gradsAtPeak], [logitsAtPeak]] = peak;
      this.optimizer.step(gradsAtPeak, { lr, loss: lossAtPeak });
      for (const t of [lossAtPeak, logitsAtPeak!, ...gradsAtPeak]) t.dispose();
    } else {
      this.optimizer.step(grads, { lr, loss });
      for (const t of [loss, logits!, ...grads]) t.dispose();
    }
    return stats;
  }

  /** Accuracy and mean loss over a loader, in evaluation mode (on the EMA's averages when asked). */
  async evaluate(loader: DataLoader, options: { useEma?: boolean } & Omit<EvaluateOptions, 'state'> = {}): Promise<EvalResult> {
    checkOptions('trainer.evaluate', options, ['useEma', 'onBatch', 'flip']);
    if (options.useEma !== undefined) checkBoolean('trainer.evaluate', 'useEma', options.useEma);
    const { useEma, ...rest } = options;
    const state = useEma && this.ema ? this.ema.state : this.model.state;
    return evaluate(this.model, loader, { state, ...rest });
  }

  /**
   * The training loop, used by the CLI and the demo: epochs of steps (one step in flight
   * while the next is recorded), evaluation on `test` after every epoch, hooks for progress,
   * pausing, checkpoints and stopping. Stops early when a hook returns false, at
   * `maxSteps`, or when the loss stops being finite (`diverged`).
   */
  async fit(loader: DataLoader, options: FitOptions = {}, hooks: FitHooks = {}): Promise<FitResult> {
    return fitLoop(this, loader, options, hooks);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.ema?.dispose();
  }
}
