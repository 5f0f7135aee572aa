/**
 * SGD with Nesterov momentum, weight decay and Adaptive Gradient Clipping — the NFNet
 * optimizer. Per step, for every parameter W with gradient G:
 *   1. AGC, per unit u (output channel / output column / whole vector):
 *        max = λ·max(‖W_u‖, eps);  if ‖G_u‖ > max:  G_u ← G_u · max / max(‖G_u‖, 1e-6)
 *   2. G ← G + weightDecay·W             (kind 'weight' only; gains and biases are not decayed)
 *   3. v ← μ·v + G;  W ← W − lr·(G + μ·v) (Nesterov; plain momentum uses v)
 * Multi-tensor: all parameters of a segment share flat regions (see flat.ts), so a step is
 * one dispatch per segment, independent of the number of tensors: one thread per AGC unit
 * takes the unit's norms and then clips, decays and updates it (shaders/optim.wgsl).
 * The parameters live in the weight region (`adoptParams`), so a step gathers only the
 * grads.
 */
import { Storage, type Tensor } from '../autodiff/tensor.js';
import { backend } from '../runtime/init.js';
import { defineKernel } from '../runtime/kernel.js';
import { ShapeError, ValueError } from '../runtime/errors.js';
import optimWgsl from '../../shaders/optim.wgsl';
import {
  FLAG_AGC, FLAG_DECAY, checkAligned, flatBuffer, gather, paddedLength, planSegments, resolveParams, scatter, zeroFill,
  type ParamLike, type ResolvedParam, type Segment,
} from './flat.js';

const SGD_STEP = defineKernel('optim', optimWgsl, 'sgd_step');
/** Threads (units) per workgroup of sgd_step: its WG override. */
const STEP_WG = 64;

export type NamePattern = string | RegExp;

export interface SgdAgcOptions {
  lr: number;
  /** μ (default 0.9). */
  momentum?: number;
  /** Default true. */
  nesterov?: boolean;
  /** Applied to kind 'weight' only (default 2e-5). */
  weightDecay?: number;
  /** AGC λ (default 0.01); 0 or null turns clipping off. */
  clipping?: number | null;
  /** Floor of ‖W_u‖ in the AGC bound (default 1e-3). */
  eps?: number;
  /** Parameters that are never clipped (the reference excludes the final classifier's weight). */
  excludeFromAgc?: NamePattern | readonly NamePattern[];
  /** Upper bound on one flat segment (default: maxStorageBufferBindingSize); smaller values exercise multi-segment steps in tests. */
  maxSegmentBytes?: number;
  /**
   * Keep the parameters inside the optimizer's flat weight region (default true): each
   * tensor becomes a slice of that buffer, so a step updates it in place, with no copies
   * and no second copy of the weights in memory. Its `.buffer` then throws (bind the
   * tensor itself). false: the tensors keep their own buffers, and every step gathers
   * them into the region and scatters them back.
   */
  adoptParams?: boolean;
}

interface SegmentState {
  seg: Segment;
  /** The weight region (the parameters' home when adopted). */
  region: Storage;
  grads: GPUBuffer;
  velocity: GPUBuffer;
  /** Tensor index of each AGC unit. */
  unitTensor: GPUBuffer;
}

/** The tensor of each unit of the segment (sgd_step's `unit_tensor`). */
function uploadUnitTensors(seg: Segment): GPUBuffer {
  const table = new Uint32Array(Math.max(1, seg.totalUnits));
  seg.entries.forEach((e, t) => table.fill(t, e.unitBase, e.unitBase + e.units));
  const b = backend();
  const buf = b.pool.acquire(table.byteLength);
  b.upload(buf, table);
  return buf;
}

function finiteAtLeastZero(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ValueError(`sgdAgc: ${name} must be a finite number >= 0, got ${String(v)}`);
  return v;
}

function matches(name: string, patterns: readonly NamePattern[]): boolean {
  return patterns.some((p) => (typeof p === 'string' ? p === name : p.test(name)));
}

export class SgdAgc {
  /** Learning rate of the next step (schedules assign it, or pass `{ lr }` to `step`). */
  lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly clipping: number;
  readonly eps: number;
  /** Steps taken so far. */
  steps = 0;
  private readonly params: ResolvedParam[];
  private readonly states: SegmentState[];
  private disposed = false;

  constructor(params: readonly ParamLike[], o: SgdAgcOptions) {
    this.lr = finiteAtLeastZero('lr', o?.lr);
    this.momentum = finiteAtLeastZero('momentum', o.momentum ?? 0.9);
    this.nesterov = o.nesterov ?? true;
    this.weightDecay = finiteAtLeastZero('weightDecay', o.weightDecay ?? 2e-5);
    this.clipping = finiteAtLeastZero('clipping', o.clipping ?? (o.clipping === null ? 0 : 0.01));
    this.eps = finiteAtLeastZero('eps', o.eps ?? 1e-3);
    this.params = resolveParams(params);
    const excluded = o.excludeFromAgc === undefined ? [] : Array.isArray(o.excludeFromAgc) ? o.excludeFromAgc : [o.excludeFromAgc as NamePattern];
    const flagsOf = (p: ResolvedParam) =>
      (this.clipping > 0 && !matches(p.name, excluded) ? FLAG_AGC : 0) | (p.kind === 'weight' ? FLAG_DECAY : 0);
    this.states = planSegments(this.params, flagsOf, o.maxSegmentBytes).map((seg) => {
      const velocity = flatBuffer(seg);
      zeroFill(velocity, seg);
      const region = new Storage(flatBuffer(seg), paddedLength(seg) * 4);
      if (o.adoptParams ?? true) this.adopt(seg, region);
      return { seg, region, velocity, grads: flatBuffer(seg), unitTensor: uploadUnitTensors(seg) };
    });
  }

  /**
   * Copy the parameters into the region and make each tensor a slice of it. A tensor whose
   * storage other tensors share (a reshape of a model's parameter, say) keeps it: moving
   * one handle would leave the others behind, so that parameter is copied every step.
   */
  private adopt(seg: Segment, region: Storage): void {
    gather(seg, this.params.map((p) => p.tensor), region.buffer);
    for (const e of seg.entries) {
      const t = this.params[e.index]!.tensor;
      if (t.checkedStorage().refs === 1) t.rehome(region.slice(e.offset * 4, e.size * 4));
    }
  }

  /** Names of the parameters AGC clips (for checking `excludeFromAgc`). */
  get clippedNames(): string[] {
    return this.states.flatMap((s) => s.seg.entries.filter((e) => e.flags & FLAG_AGC).map((e) => e.name));
  }

  /** Kernel dispatches one `step` records (copies not counted): one per segment. */
  get dispatchesPerStep(): number {
    return this.states.length;
  }

  /**
   * Apply one update. `grads` lines up with the parameter list (an array, as valueAndGrad
   * returns it, or a record by name). Everything is validated before anything is recorded,
   * so a bad call leaves every weight untouched. The grads stay owned by the caller.
   */
  step(grads: readonly Tensor[] | Record<string, Tensor>, options: { lr?: number } = {}): void {
    if (this.disposed) throw new ValueError('sgdAgc: step() after dispose()');
    const list = Array.isArray(grads) ? (grads as readonly Tensor[]) : this.params.map((p) => (grads as Record<string, Tensor>)[p.name]!);
    checkAligned('sgdAgc.step', this.params, list);
    const lr = options.lr === undefined ? this.lr : finiteAtLeastZero('lr', options.lr);
    const weights = this.params.map((p) => p.tensor);
    weights.forEach((w) => w.checkedStorage());
    for (const s of this.states) this.stepSegment(s, list, weights, lr);
    this.steps++;
  }

  private stepSegment(s: SegmentState, grads: readonly Tensor[], weights: readonly Tensor[], lr: number): void {
    const b = backend();
    gather(s.seg, grads, s.grads);
    gather(s.seg, weights, s.region.buffer);
    b.dispatch({
      kernel: SGD_STEP,
      bindings: { tensor_info: s.seg.info, unit_tensor: s.unitTensor, grad: s.grads, weight: s.region.buffer, velocity: s.velocity },
      params: {
        length: s.seg.length, total_units: s.seg.totalUnits, nesterov: this.nesterov ? 1 : 0, pad: 0,
        lr, momentum: this.momentum, weight_decay: this.weightDecay, clipping: this.clipping, eps: this.eps, decay: 0,
      },
      overrides: { WG: STEP_WG },
      workgroups: Math.ceil(s.seg.totalUnits / STEP_WG),
    });
    scatter(s.seg, s.region.buffer, weights);
  }

  /** The momentum buffers, one array per parameter (for checkpoints and tests). */
  async readMomentum(): Promise<Float32Array[]> {
    const out = this.params.map((p) => new Float32Array(p.tensor.size));
    for (const s of this.states) {
      const flat = new Float32Array(await backend().read(s.velocity, s.seg.length * 4));
      for (const e of s.seg.entries) out[e.index] = flat.slice(e.offset, e.offset + e.size);
    }
    return out;
  }

  /** Restore momentum buffers saved by `readMomentum` (all checked before any is written). */
  loadMomentum(values: readonly Float32Array[]): void {
    if (values.length !== this.params.length) {
      throw new ShapeError(`sgdAgc.loadMomentum: expected ${this.params.length} momentum arrays, got ${values.length}`);
    }
    this.params.forEach((p, i) => {
      if (values[i]!.length !== p.tensor.size) {
        throw new ShapeError(`sgdAgc.loadMomentum: '${p.name}' has ${p.tensor.size} values, the saved momentum has ${values[i]!.length}`);
      }
    });
    for (const s of this.states) {
      const flat = new Float32Array(s.seg.length);
      for (const e of s.seg.entries) flat.set(values[e.index]!, e.offset);
      backend().upload(s.velocity, flat);
    }
  }

  /** Release the optimizer's flat buffers (the parameters stay the caller's; adopted ones keep their slice of the weight region alive). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const pool = backend().pool;
    for (const s of this.states) {
      for (const buf of [s.grads, s.velocity, s.unitTensor, s.seg.info]) pool.release(buf);
      s.region.release(); // the buffer stays while adopted parameters still use it
    }
  }
}

/** `optim.sgdAgc(model.parameters(), { lr: 0.1, clipping: 0.01, excludeFromAgc: /classifier\/w$/ })` */
export function sgdAgc(params: readonly ParamLike[], options: SgdAgcOptions): SgdAgc {
  return new SgdAgc(params, options);
}
