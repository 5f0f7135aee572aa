/**
 * The non-finite guard of a training step. Before the optimizer's kernel runs, one
 * streaming pass flags (on the GPU, atomically) any NaN or ±∞ in the loss and in the
 * gathered gradients; the step and EMA kernels read the flag and leave weights, momentum
 * and averages untouched when it is set. Nothing is read back mid-step: the flag can be
 * written into the step's own small readback (`report`).
 */
import type { Tensor } from '../tensor/tensor.js';
import { backend } from '../runtime/init.js';
import { defineKernel } from '../runtime/kernel.js';
import { DisposedError } from '../runtime/errors.js';
import optimWgsl from '../../shaders/optim.wgsl';
import { paddedLength, workgroupsFor, type FlatSegment } from '../state/flat.js';
import { STREAM_VECS } from './params.js';
import type { RunningHold } from '../state/model-state.js';

const CHECK4 = defineKernel('optim', optimWgsl, 'check_finite4');
const CHECK = defineKernel('optim', optimWgsl, 'check_finite');
const REPORT = defineKernel('optim', optimWgsl, 'finite_report');
const RESTORE = defineKernel('optim', optimWgsl, 'restore_if_skipped');

/** The unused fields of the shared optimizer uniform. */
const PARAMS = { threads: 0, nesterov: 0, pad: 0, lr: 0, momentum: 0, weight_decay: 0, clipping: 0, eps: 0, decay: 0 };

export class FiniteGuard {
  /** [0] != 0 once a check of this step found a non-finite value (4 u32s). */
  readonly status: GPUBuffer;
  private disposed = false;

  constructor() {
    this.status = backend().pool.acquire(16);
    this.reset();
  }

  /** Clear the flag (before a step's checks). */
  reset(): void {
    this.alive();
    backend().upload(this.status, new Uint32Array(4));
  }

  /** Flag non-finite values of a flat region (its padding must be finite, e.g. zero). */
  checkRegion(region: GPUBuffer, segment: FlatSegment): void {
    this.alive();
    backend().dispatch({
      kernel: CHECK4,
      bindings: { values4: region, status: this.status },
      params: { length: segment.length, ...PARAMS },
      overrides: { VECS: STREAM_VECS },
      workgroups: workgroupsFor(Math.ceil(paddedLength(segment) / 4 / STREAM_VECS)),
    });
  }

  /** Flag non-finite values of a (small) tensor, e.g. the loss. */
  checkTensor(t: Tensor): void {
    this.alive();
    if (!t.size) return;
    backend().dispatch({ kernel: CHECK, bindings: { values: t, status: this.status }, params: { length: t.size, ...PARAMS }, workgroups: workgroupsFor(t.size) });
  }

  /**
   * Put the running statistics held before a step back on the GPU only if this step was
   * skipped (call once the step's checks are recorded), then free the copy: what a skipped
   * step's forward wrote into them is undone, like the weights it never touched.
   */
  restoreIfSkipped(hold: RunningHold): void {
    this.alive();
    for (const { region, copy } of hold.held) {
      backend().dispatch({
        kernel: RESTORE,
        bindings: { current4: copy, average4: region.storage.buffer, step_status: this.status },
        params: { length: region.segment.length, ...PARAMS },
        overrides: { VECS: STREAM_VECS },
        workgroups: workgroupsFor(Math.ceil(paddedLength(region.segment) / 4 / STREAM_VECS)),
      });
    }
    hold.release();
  }

  /** Write 1 (flagged) or 0 into element `index` of `into`. */
  report(into: Tensor, index: number): void {
    this.alive();
    backend().dispatch({ kernel: REPORT, bindings: { status: this.status, report: into }, params: { length: index, ...PARAMS }, workgroups: 1 });
  }

  private alive(): void {
    if (this.disposed) throw new DisposedError('FiniteGuard used after dispose()');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    backend().pool.release(this.status);
  }
}
