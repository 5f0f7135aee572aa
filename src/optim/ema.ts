/**
 * Exponential moving average of the weights, evaluated instead of the raw weights as the
 * reference NFNet does: average ← decay·average + (1 − decay)·W after every step, with
 * decay = min(0.99999, (1 + t)/(10 + t)) so early averages follow the weights closely.
 * The averages are a ModelState of the model's layout (`ema.state`), so the model runs on
 * them directly: `model.forward(x, { state: ema.state })`. An update is one streaming
 * dispatch per region, reading the live state's region in place.
 */
import type { Tensor } from '../tensor/tensor.js';
import { assign, empty } from '../tensor/creation.js';
import { backend } from '../runtime/init.js';
import { defineKernel } from '../runtime/kernel.js';
import { DisposedError, ValueError } from '../runtime/errors.js';
import optimWgsl from '../../shaders/optim.wgsl';
import { ModelState } from '../state/model-state.js';
import { paddedLength, workgroupsFor } from '../state/flat.js';
import { FiniteGuard } from './guard.js';
import { checkOptions, describeValue } from '../runtime/validate.js';
import { STREAM_VECS, checkAligned, copyIn, targetOf, type ParamLike, type Target } from './params.js';

const EMA_UPDATE = defineKernel('optim', optimWgsl, 'ema_update');

/** The reference schedule: min(0.99999, (1 + t)/(10 + t)) at step t. */
export function emaDecay(step: number): number {
  if (!Number.isFinite(step) || step < 0) throw new ValueError(`emaDecay: step must be a finite number >= 0, got ${step}`);
  return Math.min(0.99999, (1 + step) / (10 + step));
}

export class Ema {
  /** The averages, a state of the tracked layout (run a model on it, save it, load it). */
  readonly state: ModelState;
  private readonly target: Target;
  /** Never flagged: what the kernel reads when an update is not guarded. */
  private readonly unguarded: FiniteGuard;
  private disposed = false;

  /** The averages start at the parameters' current values. */
  constructor(params: ModelState | readonly ParamLike[]) {
    this.target = targetOf(params, 'ema');
    this.state = ModelState.copyOf(this.target.state);
    this.unguarded = new FiniteGuard(); // after the checks above: a refused call allocates nothing
  }

  /**
   * average ← decay·average + (1 − decay)·params, for the running statistics too:
   * `params` is the tracked state itself, or
   * the same loose list, in the same order, as at construction. With `guard` (the
   * optimizer's), the update is skipped when that step was skipped for non-finite values.
   */
  update(params: ModelState | readonly ParamLike[], decay: number, options: { guard?: FiniteGuard } = {}): void {
    this.checkAlive('update');
    checkOptions('ema.update', options, ['guard']);
    if (options.guard !== undefined && !(options.guard instanceof FiniteGuard)) throw new ValueError(`ema.update: guard must be an optimizer's guard (sgdAgc.guard), got ${describeValue(options.guard)}`);
    if (typeof decay !== 'number' || !(decay >= 0 && decay <= 1)) throw new ValueError(`ema: decay must be in [0, 1], got ${String(decay)}`);
    const { state: live, loose } = this.target;
    if (params instanceof ModelState) {
      if (params !== live) throw new ValueError('ema.update: this is not the state the EMA tracks');
    } else {
      if (!loose) throw new ValueError('ema.update: the EMA tracks a ModelState; pass that state');
      if (!Array.isArray(params)) throw new ValueError(`ema.update: params must be the state or the list the EMA was made from, got ${describeValue(params)}`);
      const weights = params.map((p) => ((p as { tensor?: Tensor }).tensor ?? p) as Tensor);
      checkAligned('ema.update', live, weights);
      copyIn(live, weights);
    }
    // The running statistics (BN's mean and variance) are averaged like the weights, as
    // timm's ModelEmaV2 averages every buffer: an evaluation on the averages then normalizes
    // with statistics that match them, not with the initial mean 0, variance 1.
    const pairs = [...live.regions.map((r, i) => [r, this.state.regions[i]!]), ...live.runningRegions.map((r, i) => [r, this.state.runningRegions[i]!])] as const;
    for (const [r, average] of pairs) {
      backend().dispatch({
        kernel: EMA_UPDATE,
        bindings: { current4: r.storage.buffer, average4: average.storage.buffer, step_status: (options.guard ?? this.unguarded).status },
        params: { length: r.segment.length, threads: 0, nesterov: 0, pad: 0, lr: 0, momentum: 0, weight_decay: 0, clipping: 0, eps: 0, decay },
        overrides: { VECS: STREAM_VECS },
        workgroups: workgroupsFor(Math.ceil(paddedLength(r.segment) / 4 / STREAM_VECS)),
      });
    }
  }

  /** New tensors holding the averages, in parameter order. */
  values(): Tensor[] {
    this.checkAlive('values');
    return this.state.params.map((p) => {
      const t = empty(p.shape);
      assign(t, p);
      return t;
    });
  }

  /** Write the averages into `tensors` (aligned with the parameters). */
  copyTo(tensors: readonly Tensor[]): void {
    this.checkAlive('copyTo');
    checkAligned('ema.copyTo', this.state, tensors);
    this.state.params.forEach((p, i) => assign(tensors[i]!, p));
  }

  /** Replace the averages with `tensors` (e.g. from a checkpoint), aligned with the parameters. */
  load(tensors: readonly Tensor[]): void {
    this.checkAlive('load');
    checkAligned('ema.load', this.state, tensors);
    this.state.params.forEach((p, i) => assign(p, tensors[i]!));
  }

  private checkAlive(what: string): void {
    if (this.disposed) throw new DisposedError(`ema: ${what}() after dispose()`);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.state.dispose();
    this.unguarded.dispose();
    if (this.target.loose) this.target.state.dispose();
  }
}

export function ema(params: ModelState | readonly ParamLike[]): Ema {
  return new Ema(params);
}
