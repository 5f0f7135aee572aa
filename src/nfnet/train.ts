/**
 * The training step and loop of the NFNet paper: forward, label-smoothed cross-entropy,
 * backward, AGC → weight decay → Nesterov SGD, EMA of the weights; linear warm-up then
 * cosine decay of the learning rate. One step reads back one small tensor: [loss, correct].
 */
import { assign, empty, tensor } from '../autodiff/creation.js';
import { valueAndGrad } from '../autodiff/grad.js';
import { noGrad } from '../autodiff/tape.js';
import { tidy } from '../autodiff/scope.js';
import type { Tensor } from '../autodiff/tensor.js';
import * as ops from '../ops/index.js';
import { sgdAgc, type SgdAgc } from '../optim/sgd-agc.js';
import { Ema, emaDecay } from '../optim/ema.js';
import { ValueError } from '../runtime/errors.js';
import type { Batch, DataLoader } from '../data/loader.js';
import type { NFNet } from './model.js';
import { seedFor } from './init.js';

export interface TrainOptions {
  /** Peak learning rate (the reference: 0.1 · batch / 256). */
  lr?: number;
  /** Total optimizer steps (for the cosine schedule). */
  totalSteps: number;
  warmupSteps?: number;
  momentum?: number;
  weightDecay?: number;
  /** AGC λ; 0 turns AGC off (the ablation). */
  clipping?: number;
  labelSmoothing?: number;
  /** Keep an EMA of the weights (evaluated with `useEma`). */
  ema?: boolean;
  /**
   * Parameters AGC leaves alone (names or patterns). Default: the classifier weight, as in
   * the reference. Short runs should add /skipGain$/: those scalars start at 0, where the
   * AGC bound λ·max(‖W‖, 1e-3) caps their step at ~1e-5 and freezes the residual branches
   * for thousands of steps.
   */
  agcExclude?: readonly (string | RegExp)[];
  seed?: number;
}

export interface StepResult {
  loss: number;
  /** Correct predictions in the batch (training mode, so with dropout). */
  correct: number;
  count: number;
  lr: number;
  /** Steps taken, this one included. */
  step: number;
}

/** A submitted step: its loss and accuracy arrive with `result`. */
export interface PendingStep {
  result: Promise<StepResult>;
}

/** Linear warm-up to `peak`, then cosine decay to 0 at `total`. */
export function learningRate(step: number, peak: number, warmup: number, total: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const t = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return 0.5 * peak * (1 + Math.cos(Math.PI * t));
}

/** Number of correct arg-max predictions, on the GPU (ties count as correct). */
function correctCount(logits: Tensor, oneHot: Tensor): Tensor {
  return tidy(() => {
    const best = ops.max(logits, { axes: -1 });
    const picked = ops.sum(ops.mul(logits, oneHot), { axes: -1 });
    return ops.sum(ops.ge(picked, best));
  });
}

function oneHotOf(labels: Int32Array, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => (out[i * classes + l] = 1));
  return out;
}

export class Trainer {
  readonly optimizer: SgdAgc;
  readonly ema: Ema | null;
  readonly options: Required<TrainOptions>;
  step = 0;

  constructor(readonly model: NFNet, options: TrainOptions) {
    const o: Required<TrainOptions> = {
      lr: 0.1, warmupSteps: 0, momentum: 0.9, weightDecay: 2e-5, clipping: 0.01, labelSmoothing: 0.1, ema: true, seed: 0,
      agcExclude: ['head.fc.weight'],
      ...options,
    };
    if (!Number.isInteger(o.totalSteps) || o.totalSteps < 1) throw new ValueError(`totalSteps must be a positive integer, got ${o.totalSteps}`);
    if (!(o.lr > 0)) throw new ValueError(`lr must be > 0, got ${o.lr}`);
    this.options = o;
    this.optimizer = sgdAgc(this.paramSpecs(), {
      lr: o.lr, momentum: o.momentum, nesterov: true, weightDecay: o.weightDecay,
      clipping: o.clipping || null, excludeFromAgc: o.agcExclude,
    });
    this.ema = o.ema ? new Ema(this.paramSpecs()) : null;
  }

  private paramSpecs() {
    return this.model.parameters.map((p) => ({
      name: p.name, tensor: p.value, kind: p.kind === 'weight' ? 'weight' : 'gain',
      layout: p.layout === 'conv' ? ('HWIO' as const) : p.layout === 'linear' ? ('IO' as const) : ('whole' as const),
    }));
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
    const o = this.options;
    const lr = learningRate(this.step, o.lr, o.warmupSteps, o.totalSteps);
    const x = tensor(batch.images, batch.shape);
    const labels = tensor(batch.labels, [batch.labels.length]);
    const oneHot = tensor(oneHotOf(batch.labels, this.model.config.numClasses), [batch.labels.length, this.model.config.numClasses]);
    const stepSeed = seedFor(o.seed, `step${this.step}`);
    const lossOf = valueAndGrad((params: Tensor[]) => {
      void params; // the model reads the same tensors through its parameter list
      const logits = this.model.forward(x, { training: true, seed: stepSeed });
      return [ops.softmaxCrossEntropy(logits, labels, { labelSmoothing: o.labelSmoothing }), logits] as const;
    });
    const [loss, [grads], [logits]] = await lossOf(this.model.parameters.map((p) => p.value));
    const stats = noGrad(() => tidy(() => ops.concat([ops.reshape(loss, [1]), ops.reshape(correctCount(logits!, oneHot), [1])], 0)));
    this.optimizer.step(grads, { lr });
    this.ema?.update(this.paramSpecs(), emaDecay(this.step));
    for (const t of [x, labels, oneHot, loss, logits!, ...grads]) t.dispose();
    const step = ++this.step;
    const count = batch.labels.length;
    // data() submits synchronously and only then waits, so the step is on the queue on return.
    const result = stats
      .data()
      .then(([lossValue, correct]) => ({ loss: lossValue!, correct: correct!, count, lr, step }))
      .finally(() => stats.dispose());
    return { result };
  }

  /** Accuracy and mean loss over a loader, in evaluation mode (EMA weights when asked). */
  async evaluate(loader: DataLoader, options: { useEma?: boolean; onBatch?: (done: number) => void } = {}): Promise<{ accuracy: number; loss: number; count: number }> {
    const swap = options.useEma && this.ema ? this.swapInEma() : null;
    let correct = 0;
    let lossSum = 0;
    let count = 0;
    try {
      for (const batch of loader.epoch()) {
        const stats = noGrad(() =>
          tidy(() => {
            const x = tensor(batch.images, batch.shape);
            const labels = tensor(batch.labels, [batch.labels.length]);
            const oneHot = tensor(oneHotOf(batch.labels, this.model.config.numClasses), [batch.labels.length, this.model.config.numClasses]);
            const logits = this.model.forward(x);
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
    } finally {
      swap?.();
    }
    return { accuracy: correct / Math.max(1, count), loss: lossSum / Math.max(1, count), count };
  }

  /** Put the EMA weights into the model; returns the function that puts the live weights back. */
  private swapInEma(): () => void {
    // Buffer copies, not dispatches: back up the live weights, then overwrite with the averages.
    const live = this.model.parameters.map((p) => {
      const copy = empty(p.value.shape);
      assign(copy, p.value);
      return copy;
    });
    const averages = this.ema!.values();
    this.model.parameters.forEach((p, i) => assign(p.value, averages[i]!));
    for (const a of averages) a.dispose();
    return () => {
      this.model.parameters.forEach((p, i) => assign(p.value, live[i]!));
      for (const t of live) t.dispose();
    };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.ema?.dispose();
  }
}
