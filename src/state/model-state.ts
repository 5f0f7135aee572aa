/**
 * Model state: every named tensor a model owns, declared once by the model in a
 * `StateLayout` (names, shapes, kinds, AGC unit axes, initialisers; no GPU needed) and
 * allocated once as a `ModelState`. Trainable parameters and non-trainable state (running
 * statistics) are told apart.
 *
 * The parameters live, from birth, in the flat regions the multi-tensor optimizer and EMA
 * kernels walk (one region per segment, see flat.ts): each parameter is a slice of its
 * region. Optimizer steps and EMA updates run on the regions in place, with no copies,
 * and a model runs on any state of its layout (`model.forward(x, { state })`): the EMA's
 * averages, a checkpoint's weights, perturbed weights.
 */
import { Storage, Tensor } from '../tensor/tensor.js';
import { empty, sizeOf } from '../tensor/creation.js';
import { keep } from '../tensor/scope.js';
import { backend } from '../runtime/init.js';
import { DisposedError, ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { CheckpointError } from '../io/safetensors.js';
import { flatBuffer, paddedLength, planSegments, type FlatItem, type FlatSegment } from './flat.js';

/** 'weight' gets weight decay; gains, biases and skip gains do not; 'running' is never trained. */
export type StateKind = 'weight' | 'gain' | 'bias' | 'skipGain' | 'running';

export interface StateSpec extends FlatItem {
  readonly kind: StateKind;
  readonly trainable: boolean;
  /** The initial values (`size` of them). */
  readonly init: (size: number) => Float32Array;
}

/** A layer's handle on one of its tensors: look it up in whichever state the model runs on. */
export interface StateRef {
  readonly index: number;
  readonly name: string;
  readonly shape: readonly number[];
}


/** The declaration of a model's state, in the order the model declares it. */
export class StateLayout {
  private readonly list: StateSpec[] = [];
  private readonly byName = new Map<string, number>();

  get specs(): readonly StateSpec[] {
    return this.list;
  }

  /**
   * A trainable parameter. Its AGC units are indexed by `unitAxis`: by default the last
   * axis for rank >= 2 (HWIO conv: output channel; (in, out) linear: output column), and
   * the whole tensor for vectors and scalars.
   */
  param(name: string, kind: Exclude<StateKind, 'running'>, shape: readonly number[], init: (size: number) => Float32Array, unitAxis?: number | null): StateRef {
    const axis = unitAxis === undefined ? (shape.length >= 2 ? shape.length - 1 : null) : unitAxis;
    if (axis !== null && !(Number.isInteger(axis) && axis >= 0 && axis < shape.length)) {
      throw new ValueError(`state '${name}': unitAxis ${axis} is out of range for rank ${shape.length}`);
    }
    return this.add({ name, kind, shape: [...shape], unitAxis: axis, trainable: true, init });
  }

  /** Non-trainable state (e.g. running statistics): saved and loaded with the model, never stepped. */
  running(name: string, shape: readonly number[], init: (size: number) => Float32Array): StateRef {
    return this.add({ name, kind: 'running', shape: [...shape], unitAxis: null, trainable: false, init });
  }

  private add(spec: StateSpec): StateRef {
    if (this.byName.has(spec.name)) throw new ValueError(`state '${spec.name}' is declared twice`);
    if (spec.shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`state '${spec.name}': bad shape ${describeShape(spec.shape)}`);
    const index = this.list.length;
    this.list.push(spec);
    this.byName.set(spec.name, index);
    return { index, name: spec.name, shape: spec.shape };
  }

  indexOf(name: string): number | undefined {
    return this.byName.get(name);
  }

  /** Trainable elements (the model's parameter count). */
  get parameterCount(): number {
    return this.list.reduce((s, p) => s + (p.trainable ? sizeOf(p.shape) : 0), 0);
  }
}

/** A copy of a state's running regions (`ModelState.holdRunning`). */
export interface RunningHold {
  readonly held: readonly { region: StateRegion; copy: GPUBuffer; bytes: number }[];
  restore(): void;
  release(): void;
}

/** One flat region: where a segment's tensors live. `entries[k].index` indexes `ModelState.params` (or `.running`). */
export interface StateRegion {
  readonly segment: FlatSegment;
  readonly storage: Storage;
}

export class ModelState {
  /** Every tensor, in declaration order (aligned with `layout.specs`). */
  readonly tensors: readonly Tensor<'f32'>[];
  /** Trainable parameters, in declaration order: what `valueAndGrad` differentiates and the optimizer steps. */
  readonly params: readonly Tensor<'f32'>[];
  /** Names of `params`, aligned. */
  readonly paramNames: readonly string[];
  /** The regions of `params`. */
  readonly regions: readonly StateRegion[];
  /** The regions of the non-trainable state (running statistics), e.g. for the EMA to average them too. */
  readonly runningRegions: readonly StateRegion[];
  private disposed = false;
  private readonly maxSegmentBytes: number | undefined;

  private constructor(readonly layout: StateLayout, init: boolean, maxSegmentBytes?: number) {
    this.maxSegmentBytes = maxSegmentBytes;
    const specs = layout.specs;
    const trainable = specs.filter((s) => s.trainable);
    const running = specs.filter((s) => !s.trainable);
    const tensors: Tensor<'f32'>[] = new Array(specs.length);
    const place = (list: readonly StateSpec[]): StateRegion[] =>
      planSegments(list, maxSegmentBytes).map((segment) => {
        const storage = new Storage(flatBuffer(segment), paddedLength(segment) * 4);
        const host = init ? new Float32Array(paddedLength(segment)) : null;
        for (const e of segment.entries) {
          const spec = list[e.index]!;
          tensors[layout.indexOf(spec.name)!] = keep(new Tensor(storage.slice(e.offset * 4, e.size * 4), spec.shape, 'f32'));
          host?.set(initialValues(spec), e.offset);
        }
        if (host) backend().upload(storage.buffer, host);
        return { segment, storage };
      });
    this.regions = place(trainable);
    this.runningRegions = place(running);
    // Zero-size tensors take no place in a region.
    specs.forEach((s, i) => (tensors[i] ??= keep(empty(s.shape))));
    this.tensors = tensors;
    this.params = trainable.map((s) => tensors[layout.indexOf(s.name)!]!);
    this.paramNames = trainable.map((s) => s.name);
  }

  /**
   * A new state with the layout's initial values. `maxSegmentBytes` bounds one region
   * (default: the device's maxStorageBufferBindingSize; smaller values exercise
   * multi-region steps in tests). `initialise: false` skips the initialisers for a state
   * that is loaded at once (`load`/`loadEach`): drawing F0's 71.5M initial values costs
   * ~7 s on the CPU, a third of a full-size import. Its values are undefined until loaded.
   */
  static create(layout: StateLayout, options: { maxSegmentBytes?: number; initialise?: boolean } = {}): ModelState {
    return new ModelState(layout, options.initialise ?? true, options.maxSegmentBytes);
  }

  /** A new state of the same layout holding a copy of `other`'s values (buffer copies, no host round trip). */
  static copyOf(other: ModelState): ModelState {
    const s = new ModelState(other.layout, false, other.maxSegmentBytes);
    s.copyFrom(other);
    return s;
  }

  get(ref: StateRef | string): Tensor<'f32'> {
    const index = typeof ref === 'string' ? this.layout.indexOf(ref) : ref.index;
    const t = index === undefined ? undefined : this.tensors[index];
    if (!t) throw new ValueError(`state has no tensor '${typeof ref === 'string' ? ref : ref.name}'`);
    return t;
  }

  /** [spec, tensor] pairs in declaration order. */
  entries(): [StateSpec, Tensor<'f32'>][] {
    return this.layout.specs.map((s, i) => [s, this.tensors[i]!]);
  }

  get parameterCount(): number {
    return this.layout.parameterCount;
  }

  /** Every tensor's values by name (one readback per region). */
  async read(): Promise<Map<string, Float32Array>> {
    this.checkAlive('read');
    const out = new Map<string, Float32Array>();
    for (const [regions, list] of [[this.regions, this.trainableSpecs()], [this.runningRegions, this.runningSpecs()]] as const) {
      for (const r of regions) {
        const flat = new Float32Array(await backend().read(r.storage.buffer, r.segment.length * 4));
        for (const e of r.segment.entries) out.set(list[e.index]!.name, flat.slice(e.offset, e.offset + e.size));
      }
    }
    for (const [s] of this.entries()) if (!out.has(s.name)) out.set(s.name, new Float32Array(0));
    return out;
  }

  /**
   * Check that `values` holds exactly this layout's tensors with their shapes (`shapes`
   * when given, else by size); throws naming the first mismatch. `group` names the set in
   * messages (e.g. 'param', 'ema').
   */
  check(values: ReadonlyMap<string, Float32Array>, shapes: ReadonlyMap<string, readonly number[]> | null, group: string, options: { trainableOnly?: boolean } = {}): void {
    const specs = options.trainableOnly ? this.trainableSpecs() : this.layout.specs;
    for (const s of specs) {
      const v = values.get(s.name);
      if (!v) throw new CheckpointError(`checkpoint has no ${group} tensor '${s.name}' (expected shape [${s.shape}])`);
      const shape = shapes?.get(s.name);
      if (shape ? shape.length !== s.shape.length || shape.some((d, i) => d !== s.shape[i]) : v.length !== sizeOf(s.shape)) {
        throw new ShapeError(`checkpoint ${group} tensor '${s.name}': expected shape [${s.shape}], found [${shape ?? [v.length]}]`);
      }
    }
    const known = new Set(specs.map((s) => s.name));
    for (const name of values.keys()) {
      if (!known.has(name)) throw new CheckpointError(`checkpoint has ${group} tensor '${name}', which this model does not ${options.trainableOnly ? 'train' : 'have'}`);
    }
  }

  /** Overwrite every tensor from `values`, after checking all of them (see `check`): nothing is half-loaded. */
  load(values: ReadonlyMap<string, Float32Array>, shapes: ReadonlyMap<string, readonly number[]> | null = null, group = 'state'): void {
    this.checkAlive('load');
    this.check(values, shapes, group);
    this.write((name, into) => into.set(values.get(name)!));
  }

  /**
   * Overwrite every tensor after checking `shapes` (every tensor of the layout, no other,
   * each its shape), so a wrong file changes nothing: `fill(name, into)` writes the
   * tensor's values into `into` (its place in a host copy of its region). A converter (e.g.
   * timm's OIHW → HWIO) writes straight there: no second copy of the weights is made
   * (allocating one cost more than the transposes at full size). `onProgress` gets the
   * elements written so far and the total after each tensor.
   */
  loadEach(shapes: ReadonlyMap<string, readonly number[]>, fill: (name: string, into: Float32Array) => void, group = 'state', onProgress?: (done: number, total: number) => void): void {
    this.checkAlive('loadEach');
    this.check(new Map([...shapes.keys()].map((name) => [name, new Float32Array(0)])), shapes, group);
    this.write(fill, onProgress);
  }

  /** Region by region through one host buffer (the largest region's size), each uploaded whole. */
  private write(fill: (name: string, into: Float32Array) => void, onProgress?: (done: number, total: number) => void): void {
    const all = [[this.regions, this.trainableSpecs()], [this.runningRegions, this.runningSpecs()]] as const;
    const total = this.layout.specs.reduce((n, s) => n + sizeOf(s.shape), 0);
    const largest = Math.max(0, ...all.flatMap(([regions]) => regions.map((r) => paddedLength(r.segment))));
    const host = new Float32Array(largest);
    let done = 0;
    for (const [regions, list] of all) {
      for (const r of regions) {
        const region = host.subarray(0, paddedLength(r.segment));
        region.fill(0); // the gaps between tensors
        for (const e of r.segment.entries) {
          fill(list[e.index]!.name, region.subarray(e.offset, e.offset + e.size));
          done += e.size;
          onProgress?.(done, total);
        }
        backend().upload(r.storage.buffer, region);
      }
    }
  }

  /** Copy `other`'s values into this state (same layout): one buffer copy per region. */
  copyFrom(other: ModelState): void {
    this.checkAlive('copyFrom');
    other.checkAlive('copyFrom');
    if (other.layout !== this.layout) throw new ValueError('ModelState.copyFrom: the states have different layouts');
    const pairs = [...this.regions.map((r, i) => [other.regions[i]!, r]), ...this.runningRegions.map((r, i) => [other.runningRegions[i]!, r])];
    for (const [src, dst] of pairs) backend().copy(src!.storage.buffer, 0, dst!.storage.buffer, 0, paddedLength(dst!.segment) * 4);
  }

  private trainableSpecs(): StateSpec[] {
    return this.layout.specs.filter((s) => s.trainable);
  }

  private runningSpecs(): StateSpec[] {
    return this.layout.specs.filter((s) => !s.trainable);
  }

  private checkAlive(what: string): void {
    if (this.disposed) throw new DisposedError(`ModelState.${what}() after dispose()`);
  }

  /**
   * Copy the non-trainable regions (batch norm's running statistics) aside, in GPU order:
   * `restore()` copies them back, `release()` frees the copy (after a restore or instead of
   * it); the optimizer's guard can also put them back only when a step is skipped
   * (FiniteGuard.restoreIfSkipped). Nothing is copied for a state without any.
   */
  holdRunning(): RunningHold {
    const b = backend();
    const held = this.runningRegions.map((region) => {
      const bytes = paddedLength(region.segment) * 4;
      const copy = b.pool.acquire(bytes);
      b.copy(region.storage.buffer, 0, copy, 0, bytes);
      return { region, copy, bytes };
    });
    return {
      held,
      restore: () => {
        for (const h of held) b.copy(h.copy, 0, h.region.storage.buffer, 0, h.bytes);
      },
      release: () => {
        for (const { copy } of held.splice(0)) b.pool.release(copy);
      },
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.tensors) t.dispose();
    for (const r of [...this.regions, ...this.runningRegions]) r.storage.release();
  }
}

function initialValues(spec: StateSpec): Float32Array {
  const n = sizeOf(spec.shape);
  const v = spec.init(n);
  if (v.length !== n) throw new ShapeError(`state '${spec.name}': its initialiser gave ${v.length} values for shape ${describeShape(spec.shape)}`);
  return v;
}
