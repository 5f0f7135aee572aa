/**
 * SGD with Nesterov momentum, weight decay and Adaptive Gradient Clipping — the NFNet
 * optimizer. Per step, for every parameter W with gradient G:
 *   1. AGC, per unit u (output channel / output column / whole vector):
 *        max = λ·max(‖W_u‖, eps);  if ‖G_u‖ > max:  G_u ← G_u · max / max(‖G_u‖, 1e-6)
 *   2. G ← G + weightDecay·W             (kind 'weight' only; gains and biases are not decayed)
 *   3. v ← μ·v + G;  W ← W − lr·(G + μ·v) (Nesterov; plain momentum uses v)
 * Multi-tensor: a model's parameters live in the flat regions of its ModelState (see
 * src/state/), so a step is one dispatch per region, independent of the number of tensors:
 * each thread takes the norms of one AGC unit (or four neighbouring ones, as vec4s) and
 * then clips, decays and updates it in place (shaders/optim.wgsl). Only the gradients are
 * gathered (one buffer copy each).
 *
 * With `sam: { rho }` every step is a sharpness-aware (SAM) step of two gradients:
 *   opt.perturb(g)   w ← w + ρ·g/‖g‖₂      (g: the gradient at w; a copy of w is kept)
 *   opt.step(g_sam)  w ← the copy, then 1–3 above with g_sam, the gradient at w + e
 * (see sam.ts). The guard, when on, covers both gradients: a non-finite g or g_sam skips
 * the step, and w comes back to the bit either way.
 */
import type { Tensor } from '../tensor/tensor.js';
import { backend } from '../runtime/init.js';
import { defineKernel } from '../runtime/kernel.js';
import { DisposedError, ShapeError, ValueError } from '../runtime/errors.js';
import optimWgsl from '../../shaders/optim.wgsl';
import type { ModelState, StateRegion } from '../state/model-state.js';
import { flatBuffer, paddedLength, scatter, zeroFill, gather, type FlatEntry, type FlatSegment } from '../state/flat.js';
import { FiniteGuard } from './guard.js';
import { checkTensor } from '../tensor/tensor.js';
import { checkBoolean, checkNumber, checkOptions, describeValue } from '../runtime/validate.js';
import { SamAscent, checkSamOptions, type SamOptions } from './sam.js';
import { checkAligned, copyIn, targetOf, type ParamLike, type Target } from './params.js';

const SGD_STEP = defineKernel('optim', optimWgsl, 'sgd_step');
/** Threads per workgroup of sgd_step: its WG override. */
const STEP_WG = 64;
/** TensorInfo's flags (shaders/optim.wgsl). */
const FLAG_AGC = 1;
const FLAG_DECAY = 2;
const FLAG_VEC4 = 4;
/** u32 words of one TensorInfo. */
const INFO_WORDS = 8;

export type NamePattern = string | RegExp;

export interface SgdAgcOptions {
  lr: number;
  /** μ (default 0.9). */
  momentum?: number;
  /** Default true. */
  nesterov?: boolean;
  /** Applied to kind 'weight' only (default 2e-5). */
  weightDecay?: number;
  /** AGC λ (default 0.01); 0 turns clipping off. */
  clipping?: number;
  /** Floor of ‖W_u‖ in the AGC bound (default 1e-3). */
  eps?: number;
  /** Parameters that are never clipped (the reference excludes the final classifier's weight). */
  excludeFromAgc?: NamePattern | readonly NamePattern[];
  /**
   * Guard against non-finite values (default false; the Trainer turns it on): a step whose
   * gradients (or the `loss` given to `step`) hold a NaN or ±∞ leaves weights and momentum
   * untouched. Costs one streaming read of the gradients on the GPU, one more dispatch
   * per region.
   */
  guardNonFinite?: boolean;
  /**
   * Sharpness-aware minimization (off when absent): each step is `perturb(g)` then
   * `step(g_sam)`, with the ascent radius ρ > 0 (e.g. 0.05). Keeps one more copy of the
   * parameters.
   */
  sam?: SamOptions;
  /** For a loose list: upper bound on one flat region (default: maxStorageBufferBindingSize); smaller values exercise multi-region steps in tests. */
  maxSegmentBytes?: number;
}

const SGD_OPTION_NAMES = ['lr', 'momentum', 'nesterov', 'weightDecay', 'clipping', 'eps', 'excludeFromAgc', 'guardNonFinite', 'maxSegmentBytes', 'sam'] as const;

/** excludeFromAgc: a name, a RegExp, or a list of them. */
function checkPatterns(p: unknown): void {
  if (p === undefined) return;
  const list = Array.isArray(p) ? p : [p];
  const bad = list.find((x) => typeof x !== 'string' && !(x instanceof RegExp));
  if (bad !== undefined) {
    throw new ValueError(`sgdAgc: excludeFromAgc must be a name, a RegExp or a list of them, got ${describeValue(p)}`);
  }
}

interface SegmentState {
  /** Where the parameters live: the model state's region (stepped in place). */
  region: StateRegion;
  /** The per-tensor table (offsets, units, flags) the kernel reads. */
  info: GPUBuffer;
  grads: GPUBuffer;
  velocity: GPUBuffer;
  /** Tensor index of each sgd_step thread. */
  threadTensor: GPUBuffer;
  threads: number;
}

/**
 * Walked as vec4s by sgd_step: four neighbouring units per thread (inner = 1, units a
 * multiple of 4) or a whole one-unit tensor of a multiple of 4 elements.
 */
function walksVec4(e: FlatEntry): boolean {
  return e.offset % 4 === 0 && e.inner === 1 && (e.units === 1 ? e.size % 4 === 0 : e.units % 4 === 0);
}

function threadsOf(e: FlatEntry): number {
  return walksVec4(e) ? Math.max(1, e.units / 4) : e.units;
}

/** sgd_step's tables for a segment: its TensorInfo rows and the tensor of each thread. */
function uploadTables(seg: FlatSegment, flagsOf: (index: number) => number): Pick<SegmentState, 'info' | 'threadTensor' | 'threads'> {
  const words = new Uint32Array(Math.max(1, seg.entries.length) * INFO_WORDS);
  const owners: number[] = [];
  seg.entries.forEach((e, t) => {
    const flags = flagsOf(e.index) | (walksVec4(e) ? FLAG_VEC4 : 0);
    words.set([e.offset, e.size, e.units, e.inner, owners.length, flags, 0, 0], t * INFO_WORDS);
    for (let k = threadsOf(e); k > 0; k--) owners.push(t);
  });
  const b = backend();
  const upload = (data: Uint32Array) => {
    const buf = b.pool.acquire(data.byteLength);
    b.upload(buf, data);
    return buf;
  };
  return { info: upload(words), threadTensor: upload(new Uint32Array(owners.length ? owners : [0])), threads: owners.length };
}

function finiteAtLeastZero(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ValueError(`sgdAgc: ${name} must be a finite number >= 0, got ${describeValue(v)}`);
  return v;
}

function matches(name: string, patterns: readonly NamePattern[]): boolean {
  return patterns.some((p) => (typeof p === 'string' ? p === name : p.test(name)));
}

export class SgdAgc {
  /** Learning rate of the next step when `step` is given none. */
  lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly clipping: number;
  readonly eps: number;
  /** Steps taken so far. */
  steps = 0;
  /** Names of the parameters AGC clips (for checking `excludeFromAgc`). */
  readonly clippedNames: readonly string[];
  /** The non-finite guard of the last step (`report` writes its flag into a tensor). */
  readonly guard: FiniteGuard;
  /** SAM's radius ρ, or null when SAM is off. */
  readonly samRho: number | null;
  private readonly sam: SamAscent | null;
  /** `perturb` has moved the weights to w + e; the next `step` brings them back first. */
  private perturbed = false;
  private readonly guarded: boolean;
  private readonly target: Target;
  private readonly segments: SegmentState[];
  private disposed = false;

  /**
   * `params`: a model's state (`model.state`), stepped in place in its flat regions; or a
   * loose list of tensors / ParamSpecs, copied into the optimizer's own regions and back
   * around each step.
   */
  constructor(params: ModelState | readonly ParamLike[], o: SgdAgcOptions) {
    if (o === undefined) throw new ValueError('sgdAgc: options are required: at least { lr }');
    checkOptions('sgdAgc', o, SGD_OPTION_NAMES);
    if (o.nesterov !== undefined) checkBoolean('sgdAgc', 'nesterov', o.nesterov);
    if (o.guardNonFinite !== undefined) checkBoolean('sgdAgc', 'guardNonFinite', o.guardNonFinite);
    checkPatterns(o.excludeFromAgc);
    this.samRho = o.sam === undefined ? null : checkSamOptions('sgdAgc', o.sam).rho;
    this.lr = finiteAtLeastZero('lr', o.lr);
    this.momentum = finiteAtLeastZero('momentum', o.momentum === undefined ? 0.9 : o.momentum); // null is a value (refused), not 'absent'
    if (this.momentum > 1) throw new ValueError(`sgdAgc: momentum must be in [0, 1], got ${this.momentum}`);
    if (o.maxSegmentBytes !== undefined) checkNumber('sgdAgc', 'maxSegmentBytes', o.maxSegmentBytes, { min: 16, integer: true });
    this.nesterov = o.nesterov ?? true;
    this.weightDecay = finiteAtLeastZero('weightDecay', o.weightDecay === undefined ? 2e-5 : o.weightDecay);
    this.clipping = finiteAtLeastZero('clipping', o.clipping === undefined ? 0.01 : o.clipping);
    this.eps = finiteAtLeastZero('eps', o.eps === undefined ? 1e-3 : o.eps);
    this.guarded = o.guardNonFinite ?? false;
    this.target = targetOf(params, 'sgdAgc', o.maxSegmentBytes);
    const { state } = this.target;
    const excluded = o.excludeFromAgc === undefined ? [] : Array.isArray(o.excludeFromAgc) ? o.excludeFromAgc : [o.excludeFromAgc as NamePattern];
    const kinds = state.layout.specs.filter((s) => s.trainable).map((s) => s.kind);
    const flagsOf = (i: number) =>
      (this.clipping > 0 && !matches(state.paramNames[i]!, excluded) ? FLAG_AGC : 0) | (kinds[i] === 'weight' ? FLAG_DECAY : 0);
    this.segments = state.regions.map((region) => {
      const velocity = flatBuffer(region.segment);
      zeroFill(velocity, region.segment);
      // Zero once: the alignment gaps between tensors are never written, and the guard reads them.
      const grads = flatBuffer(region.segment);
      zeroFill(grads, region.segment);
      return { region, velocity, grads, ...uploadTables(region.segment, flagsOf) };
    });
    this.guard = new FiniteGuard();
    this.sam = this.samRho === null ? null : new SamAscent(state.regions, this.samRho);
    this.clippedNames = state.paramNames.filter((_, i) => flagsOf(i) & FLAG_AGC);
  }

  /** Kernel dispatches one `step` records (copies not counted): one per region, two with the guard (plus one for a `loss`). */
  get dispatchesPerStep(): number {
    return this.segments.length * (this.guarded ? 2 : 1);
  }

  /** Kernel dispatches one `perturb` records (copies not counted), 0 without SAM. */
  get dispatchesPerPerturb(): number {
    return this.sam ? this.sam.dispatches + (this.guarded ? this.segments.length : 0) : 0;
  }

  /** True between `perturb` and the `step` that restores the weights. */
  get isPerturbed(): boolean {
    return this.perturbed;
  }

  /**
   * SAM's ascent (needs `sam: { rho }`): with `grads` the gradient g at the current weights
   * w, keep a copy of w and move to w + ρ·g/‖g‖₂ (‖g‖ over every parameter; g = 0 moves
   * nothing). Evaluate the gradient there and pass it to `step`, which restores w before
   * updating it. With the guard on, a non-finite g (or `loss`) moves nothing and flags the
   * step, which then leaves everything untouched. Validated before anything is recorded;
   * the grads stay owned by the caller.
   */
  perturb(grads: readonly Tensor[] | Record<string, Tensor>, options: { loss?: Tensor } = {}): void {
    if (this.disposed) throw new DisposedError('sgdAgc: perturb() after dispose()');
    if (!this.sam) throw new ValueError('sgdAgc.perturb: SAM is off; create the optimizer with sam: { rho }');
    if (this.perturbed) throw new ValueError('sgdAgc.perturb: the weights are already perturbed; call step(grads) with the gradient at the perturbed weights first');
    checkOptions('sgdAgc.perturb', options, ['loss']);
    const list = this.gradList('sgdAgc.perturb', grads, options.loss);
    const { state, loose } = this.target;
    if (loose) copyIn(state, loose);
    if (this.guarded) this.guard.reset();
    this.gatherChecked(list, options.loss);
    this.sam.ascend(this.segments.map((s) => s.grads), this.guard.status);
    if (loose) for (const s of this.segments) scatter(s.region.segment, s.region.storage.buffer, loose);
    this.perturbed = true;
  }

  /**
   * Undo a `perturb` without an update: w back to the bit, as if the step had not begun
   * (e.g. when the second pass failed). Nothing when the weights are not perturbed.
   */
  unperturb(): void {
    if (this.disposed) throw new DisposedError('sgdAgc: unperturb() after dispose()');
    if (!this.perturbed) return;
    this.sam!.restore();
    const { loose } = this.target;
    if (loose) for (const s of this.segments) scatter(s.region.segment, s.region.storage.buffer, loose);
    this.perturbed = false;
  }

  /**
   * Apply one update. `grads` lines up with the parameters (an array, as valueAndGrad
   * returns it, or a record by name). Everything is validated before anything is recorded,
   * so a bad call leaves every weight untouched. The grads stay owned by the caller.
   * With the guard on, a step whose grads (or `loss`) are not all finite changes nothing.
   * With SAM, `grads` is the gradient at the perturbed weights (after `perturb`): the
   * weights are restored first, and the guard's verdict covers both gradients.
   */
  step(grads: readonly Tensor[] | Record<string, Tensor>, options: { lr?: number; loss?: Tensor } = {}): void {
    if (this.disposed) throw new DisposedError('sgdAgc: step() after dispose()');
    checkOptions('sgdAgc.step', options, ['lr', 'loss']);
    if (this.sam && !this.perturbed) throw new ValueError('sgdAgc.step: SAM is on: call perturb(grads) with the gradient at the weights first, then step with the gradient at the perturbed weights');
    const list = this.gradList('sgdAgc.step', grads, options.loss);
    const lr = options.lr === undefined ? this.lr : finiteAtLeastZero('lr', options.lr);
    const { state, loose } = this.target;
    if (loose) copyIn(state, loose);
    // SAM: the flag set by perturb's checks stays set (no reset), so a bad g skips this step.
    if (this.guarded && !this.perturbed) this.guard.reset();
    this.gatherChecked(list, options.loss);
    if (this.perturbed) this.sam!.restore(); // w + e → w, whatever the guard says
    this.perturbed = false;
    for (const s of this.segments) this.stepSegment(s, lr);
    if (loose) for (const s of this.segments) scatter(s.region.segment, s.region.storage.buffer, loose);
    this.steps++;
  }

  /** `grads` (a list or a record by name) and `loss` checked against the parameters, before anything is recorded. */
  private gradList(what: string, grads: readonly Tensor[] | Record<string, Tensor>, loss: Tensor | undefined): readonly Tensor[] {
    if (loss !== undefined) checkTensor(what, 'loss', loss);
    if (grads === null || typeof grads !== 'object') throw new ValueError(`${what}: grads must be an array of tensors or a record by name, got ${describeValue(grads)}`);
    const { state, loose } = this.target;
    const list = Array.isArray(grads) ? (grads as readonly Tensor[]) : state.paramNames.map((n) => (grads as Record<string, Tensor>)[n]!);
    checkAligned(what, state, list);
    if (loose) checkAligned(`${what} (parameters)`, state, loose);
    return list;
  }

  /** Gather `list` into the regions' gradient buffers, flagging non-finite values (and `loss`) when guarded. */
  private gatherChecked(list: readonly Tensor[], loss: Tensor | undefined): void {
    if (this.guarded && loss) this.guard.checkTensor(loss);
    for (const s of this.segments) {
      gather(s.region.segment, list, s.grads);
      if (this.guarded) this.guard.checkRegion(s.grads, s.region.segment);
    }
  }

  private stepSegment(s: SegmentState, lr: number): void {
    const seg = s.region.segment;
    backend().dispatch({
      kernel: SGD_STEP,
      bindings: { tensor_info: s.info, thread_tensor: s.threadTensor, grad: s.grads, weight: s.region.storage.buffer, velocity: s.velocity, step_status: this.guard.status },
      params: {
        length: seg.length, threads: s.threads, nesterov: this.nesterov ? 1 : 0, pad: 0,
        lr, momentum: this.momentum, weight_decay: this.weightDecay, clipping: this.clipping, eps: this.eps, decay: 0,
      },
      overrides: { WG: STEP_WG },
      workgroups: Math.ceil(s.threads / STEP_WG),
    });
  }

  /** The momentum buffers, one array per parameter (for checkpoints and tests). */
  async readMomentum(): Promise<Float32Array[]> {
    const { state } = this.target;
    const out = state.params.map((p) => new Float32Array(p.size));
    for (const s of this.segments) {
      const seg = s.region.segment;
      const flat = new Float32Array(await backend().read(s.velocity, seg.length * 4));
      for (const e of seg.entries) out[e.index] = flat.slice(e.offset, e.offset + e.size);
    }
    return out;
  }

  /** Restore momentum buffers saved by `readMomentum` (all checked before any is written). */
  loadMomentum(values: readonly Float32Array[]): void {
    const { state } = this.target;
    if (values.length !== state.params.length) {
      throw new ShapeError(`sgdAgc.loadMomentum: expected ${state.params.length} momentum arrays, got ${values.length}`);
    }
    state.params.forEach((p, i) => {
      if (values[i]!.length !== p.size) {
        throw new ShapeError(`sgdAgc.loadMomentum: '${state.paramNames[i]}' has ${p.size} values, the saved momentum has ${values[i]!.length}`);
      }
    });
    for (const s of this.segments) {
      const flat = new Float32Array(paddedLength(s.region.segment));
      for (const e of s.region.segment.entries) flat.set(values[e.index]!, e.offset);
      backend().upload(s.velocity, flat);
    }
  }

  /** Release the optimizer's buffers (the model state stays the caller's). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const pool = backend().pool;
    for (const s of this.segments) for (const buf of [s.grads, s.velocity, s.threadTensor, s.info]) pool.release(buf);
    this.guard.dispose();
    this.sam?.dispose();
    if (this.target.loose) this.target.state.dispose();
  }
}

/** `optim.sgdAgc(model.state, { lr: 0.1, clipping: 0.01, excludeFromAgc: 'head.fc.weight' })` */
export function sgdAgc(params: ModelState | readonly ParamLike[], options: SgdAgcOptions): SgdAgc {
  return new SgdAgc(params, options);
}
