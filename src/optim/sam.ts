/**
 * The ascent of sharpness-aware minimization (SAM, Foret et al. 2021), for `sgdAgc`'s
 * `sam: { rho }` option. A SAM step takes the gradient g at w, moves to the worst nearby
 * point w + e with e = ρ·g/‖g‖₂ (‖g‖ over every trainable tensor), takes the gradient
 * there, and applies that gradient to w itself. This module does the move and the way back
 * on a state's flat regions: a norm reduction over all regions, one streaming axpy per
 * region, and a restore.
 *
 * The way back is a copy of w, not the subtraction w + e − e: in float32 that sum is not
 * w again wherever e is small next to w (|e| below half an ulp of w rounds away, and the
 * rest loses its low bits), so every step would nudge the weights by rounding noise that
 * the update never asked for, and drift over thousands of steps. The copy costs one more
 * buffer the size of the parameters (as the EMA does) and two buffer copies per step, and
 * gives w back to the bit whatever ρ, whatever the gradient (a non-finite one included).
 */
import { backend } from '../runtime/init.js';
import { defineKernel } from '../runtime/kernel.js';
import { checkOptions, describeValue } from '../runtime/validate.js';
import { ValueError } from '../runtime/errors.js';
import samWgsl from '../../shaders/sam.wgsl';
import type { StateRegion } from '../state/model-state.js';
import { flatBuffer, paddedLength, workgroupsFor } from '../state/flat.js';
import { STREAM_VECS } from './params.js';

const SUM_SQUARES = defineKernel('sam', samWgsl, 'sum_squares4');
const ASCENT_SCALE = defineKernel('sam', samWgsl, 'ascent_scale');
const ASCENT = defineKernel('sam', samWgsl, 'ascent');

/** Partial sums of g² per region (sam.wgsl's PARTIALS): 16 KiB, a multiple of any storage-offset alignment. */
const SAM_PARTIALS = 4096;
const WG = 256;

export interface SamOptions {
  /** Radius of the neighbourhood: ‖e‖₂ = ρ (Foret et al. use 0.05 on ImageNet). */
  rho: number;
}

/** `sam: { rho }` checked: an object with one finite ρ > 0 (unknown keys get a did-you-mean). */
export function checkSamOptions(fn: string, sam: unknown): SamOptions {
  if (sam === null || typeof sam !== 'object' || Array.isArray(sam)) throw new ValueError(`${fn}: sam must be an object { rho }, got ${describeValue(sam)}`);
  checkOptions(`${fn}: sam`, sam as SamOptions, ['rho']);
  const rho = (sam as SamOptions).rho;
  if (rho === undefined) throw new ValueError(`${fn}: sam.rho is required (the radius, e.g. 0.05)`);
  if (!(typeof rho === 'number' && Number.isFinite(rho) && rho > 0)) throw new ValueError(`${fn}: sam.rho must be a finite number > 0, got ${describeValue(rho)}`);
  return { rho };
}

/** The ascent's buffers for a state's regions. */
export class SamAscent {
  /** The weights before the ascent, one buffer per region. */
  private readonly saved: GPUBuffer[];
  /** SAM_PARTIALS partial sums per region, then ρ/‖g‖ (16 bytes). */
  private readonly partials: GPUBuffer;
  private readonly scale: GPUBuffer;

  constructor(
    private readonly regions: readonly StateRegion[],
    readonly rho: number,
  ) {
    const pool = backend().pool;
    this.saved = regions.map((r) => flatBuffer(r.segment));
    this.partials = pool.acquire(Math.max(1, regions.length) * SAM_PARTIALS * 4);
    this.scale = pool.acquire(16);
  }

  /** Dispatches one `ascend` records (copies not counted): two per region and one for the norm. */
  get dispatches(): number {
    return 2 * this.regions.length + 1;
  }

  /**
   * Save w, then w ← w + ρ·g/‖g‖ (nothing when `status` flags g as non-finite). `grads[i]` is
   * region i's gathered gradient, zero in its padding and gaps.
   */
  ascend(grads: readonly GPUBuffer[], status: GPUBuffer): void {
    const b = backend();
    this.regions.forEach((r, i) => {
      b.copy(r.storage.buffer, 0, this.saved[i]!, 0, paddedLength(r.segment) * 4);
      b.dispatch({
        kernel: SUM_SQUARES,
        bindings: { grad4: grads[i]!, partial: { binding: { buffer: this.partials, offset: i * SAM_PARTIALS * 4, size: SAM_PARTIALS * 4 } } },
        params: { length: r.segment.length, rho: 0 },
        overrides: { WG, PARTIALS: SAM_PARTIALS },
        workgroups: SAM_PARTIALS / WG,
      });
    });
    b.dispatch({
      kernel: ASCENT_SCALE,
      bindings: { partial_sums: this.partials, scale_out: this.scale },
      params: { length: this.regions.length * SAM_PARTIALS, rho: this.rho },
      overrides: { WG },
      workgroups: 1,
    });
    this.regions.forEach((r, i) => {
      b.dispatch({
        kernel: ASCENT,
        bindings: { grad4: grads[i]!, scale: this.scale, weight4: r.storage.buffer, step_status: status },
        params: { length: r.segment.length, rho: 0 },
        overrides: { WG, VECS: STREAM_VECS },
        workgroups: workgroupsFor(Math.ceil(paddedLength(r.segment) / 4 / STREAM_VECS), WG),
      });
    });
  }

  /** w ← the weights saved by `ascend`, to the bit. */
  restore(): void {
    const b = backend();
    this.regions.forEach((r, i) => b.copy(this.saved[i]!, 0, r.storage.buffer, 0, paddedLength(r.segment) * 4));
  }

  dispose(): void {
    const pool = backend().pool;
    for (const buf of [...this.saved, this.partials, this.scale]) pool.release(buf);
  }
}
