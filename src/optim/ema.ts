/**
 * Exponential moving average of the weights, evaluated instead of the raw weights as the
 * reference NFNet does: average ← decay·average + (1 − decay)·W after every step, with
 * decay = min(0.99999, (1 + t)/(10 + t)) so early averages follow the weights closely.
 * The averages live in one flat region per segment (see flat.ts): an update is one
 * dispatch per segment. It reads the weights in place when they live in an `sgdAgc`
 * region of the same layout, and gathers them with one buffer copy per tensor otherwise.
 */
import type { Tensor } from '../autodiff/tensor.js';
import { empty } from '../autodiff/creation.js';
import { backend } from '../runtime/init.js';
import { defineKernel } from '../runtime/kernel.js';
import { ValueError } from '../runtime/errors.js';
import optimWgsl from '../../shaders/optim.wgsl';
import { checkAligned, flatBuffer, gather, homedRegion, planSegments, resolveParams, scatter, STREAM_VECS, streamingWorkgroups, type ParamLike, type ResolvedParam, type Segment } from './flat.js';

const EMA_UPDATE = defineKernel('optim', optimWgsl, 'ema_update');

/** The reference schedule: min(0.99999, (1 + t)/(10 + t)) at step t. */
export function emaDecay(step: number): number {
  if (!Number.isFinite(step) || step < 0) throw new ValueError(`emaDecay: step must be a finite number >= 0, got ${step}`);
  return Math.min(0.99999, (1 + step) / (10 + step));
}

const tensorsOf = (params: readonly ParamLike[]): Tensor[] => resolveParams(params).map((p) => p.tensor);

export class Ema {
  private readonly params: ResolvedParam[];
  /** `scratch`: where the current weights are gathered, made on first need (none while they live in an optimizer's region of the same layout). */
  private readonly segments: { seg: Segment; average: GPUBuffer; scratch: GPUBuffer | null }[];
  private disposed = false;

  /** The averages start at the parameters' current values. */
  constructor(params: readonly ParamLike[]) {
    this.params = resolveParams(params);
    const weights = this.params.map((p) => p.tensor);
    this.segments = planSegments(this.params, () => 0).map((seg) => {
      const average = flatBuffer(seg);
      gather(seg, weights, average);
      return { seg, average, scratch: null };
    });
  }

  /** average ← decay·average + (1 − decay)·params (the same list, in the same order, as at construction). */
  update(params: readonly ParamLike[], decay: number): void {
    if (this.disposed) throw new ValueError('ema: update() after dispose()');
    if (typeof decay !== 'number' || !(decay >= 0 && decay <= 1)) throw new ValueError(`ema: decay must be in [0, 1], got ${String(decay)}`);
    const weights = tensorsOf(params);
    checkAligned('ema.update', this.params, weights);
    const b = backend();
    for (const s of this.segments) {
      const { seg, average } = s;
      let current = homedRegion(seg, weights);
      if (!current) {
        current = s.scratch ??= flatBuffer(seg);
        gather(seg, weights, current);
      }
      b.dispatch({
        kernel: EMA_UPDATE,
        bindings: { current4: current, average4: average },
        params: { length: seg.length, total_units: 0, nesterov: 0, pad: 0, lr: 0, momentum: 0, weight_decay: 0, clipping: 0, eps: 0, decay },
        overrides: { VECS: STREAM_VECS },
        workgroups: streamingWorkgroups(seg),
      });
    }
  }

  /** New tensors holding the averages, in parameter order. */
  values(): Tensor[] {
    const out = this.params.map((p) => empty(p.tensor.shape));
    this.copyTo(out);
    return out;
  }

  /** Write the averages into `tensors` (e.g. an evaluation copy of the model's weights). */
  copyTo(tensors: readonly Tensor[]): void {
    if (this.disposed) throw new ValueError('ema: copyTo() after dispose()');
    checkAligned('ema.copyTo', this.params, tensors);
    for (const { seg, average } of this.segments) scatter(seg, average, tensors);
  }

  /** Replace the averages with `tensors` (e.g. from a checkpoint), same order as construction. */
  load(tensors: readonly Tensor[]): void {
    if (this.disposed) throw new ValueError('ema: load() after dispose()');
    checkAligned('ema.load', this.params, tensors);
    for (const { seg, average } of this.segments) gather(seg, tensors, average);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const pool = backend().pool;
    for (const s of this.segments) for (const buf of [s.average, s.scratch, s.seg.info]) if (buf) pool.release(buf);
  }
}

export function ema(params: readonly ParamLike[]): Ema {
  return new Ema(params);
}
