/**
 * Batches for training and evaluation: seeded shuffling, random-crop (zero-pad then crop)
 * and horizontal-flip augmentation on the CPU (cheap at these image sizes), normalisation
 * to zero mean / unit variance, and one upload per batch.
 */
import { ValueError } from '../runtime/errors.js';
import { checkBoolean, checkNumber, checkOptions, describeValue } from '../runtime/validate.js';
import { checkImageSet, type ImageSet } from './formats.js';

export interface Batch {
  /** Normalised pixels, NHWC float32. */
  images: Float32Array;
  labels: Int32Array;
  shape: [number, number, number, number];
}

export interface LoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  /** Zero-pad by this many pixels and crop back at a random offset (0 = off). */
  cropPadding?: number;
  /**
   * Random square crops of this size (default: the full image). Training below the test
   * resolution, as the NFNet recipe does (F0: 192 px train, 256 px test): a step costs
   * fewer pixels, and the globally pooled model evaluates on the full image.
   */
  cropSize?: number;
  /**
   * Flip left-right with probability 1/2 (off for digits/text; on for clothes and CIFAR).
   * 'alternate': each image at random in its first epoch, then the other way round each
   * epoch after, so two epochs show every image both ways (random flips leave a quarter of
   * the images one way only); the difference matters in runs of a few epochs.
   */
  flip?: boolean | 'alternate';
  /** Keep the last partial batch (default: true for evaluation, false for training). */
  keepLast?: boolean;
  /** Per-channel mean and std in [0, 1] pixel units (default: computed from the set). */
  mean?: readonly number[];
  std?: readonly number[];
}

/** A small, fast, seedable PRNG (mulberry32) whose whole state is one integer (checkpointable). */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

export function mulberry32(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** Where a loader stands: enough to replay the current epoch from a given batch. */
export interface LoaderState {
  /** RNG state when the current epoch started. */
  epochStartRng: number;
  epochs: number;
}

export function channelStats(set: ImageSet): { mean: number[]; std: number[] } {
  checkImageSet(set, 'channelStats');
  const c = set.channels;
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let i = 0; i < set.images.length; i++) {
    const v = set.images[i]! / 255;
    sum[i % c] += v;
    sq[i % c] += v * v;
  }
  const n = set.images.length / c;
  const mean = Array.from(sum, (s) => s / n);
  return { mean, std: Array.from(sq, (s, k) => Math.sqrt(Math.max(s / n - mean[k]! ** 2, 1e-12))) };
}

const LOADER_OPTIONS = ['batchSize', 'shuffle', 'seed', 'cropPadding', 'cropSize', 'flip', 'keepLast', 'mean', 'std'] as const;

/** Every loader option checked: types, ranges, per-channel statistics that give finite pixels. */
function checkLoaderOptions(o: LoaderOptions, set: ImageSet): void {
  const fn = 'DataLoader';
  checkOptions(fn, o, LOADER_OPTIONS);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new ValueError(`batchSize must be a positive integer, got ${describeValue(o.batchSize)}`);
  for (const k of ['shuffle', 'keepLast'] as const) if (o[k] !== undefined) checkBoolean(fn, k, o[k]);
  if (o.flip !== undefined && typeof o.flip !== 'boolean' && o.flip !== 'alternate') throw new ValueError(`${fn}: flip must be true, false or 'alternate', got ${describeValue(o.flip)}`);
  if (o.seed !== undefined) checkNumber(fn, 'seed', o.seed, { min: 0, max: 0xffffffff, integer: true });
  if (o.cropPadding !== undefined) checkNumber(fn, 'cropPadding', o.cropPadding, { min: 0, max: Math.max(set.height, set.width), integer: true });
  if ((o.mean === undefined) !== (o.std === undefined)) throw new ValueError(`${fn}: give both mean and std (or neither: computed from the set), got only ${o.mean === undefined ? 'std' : 'mean'}`);
  for (const k of ['mean', 'std'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length !== set.channels) throw new ValueError(`${fn}: ${k} must be an array of ${set.channels} numbers (one per channel), got ${describeValue(v)}`);
    v.forEach((x, c) => checkNumber(fn, `${k}[${c}]`, x, k === 'std' ? { min: 0, exclusiveMin: true } : {}));
  }
}

export class DataLoader {
  private readonly rng: Rng;
  private epochStartRng: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  private epochCount = 0;

  constructor(readonly set: ImageSet, readonly options: LoaderOptions) {
    checkImageSet(set, 'DataLoader');
    checkLoaderOptions(options ?? null, set);
    const cs = options.cropSize;
    if (cs !== undefined && (!Number.isInteger(cs) || cs < 1 || cs > set.height || cs > set.width)) {
      throw new ValueError(`cropSize must be an integer in 1..${Math.min(set.height, set.width)} (the image is ${set.height}×${set.width}), got ${cs}`);
    }
    this.rng = new Rng(options.seed ?? 0);
    this.epochStartRng = this.rng.state;
    const stats = options.mean && options.std ? { mean: [...options.mean], std: [...options.std] } : channelStats(set);
    this.mean = stats.mean;
    this.std = stats.std;
  }

  get batchesPerEpoch(): number {
    const n = this.set.count / this.options.batchSize;
    return this.options.keepLast ? Math.ceil(n) : Math.floor(n);
  }

  /** Epochs started so far. */
  get epochsDrawn(): number {
    return this.epochCount;
  }

  /** The state to checkpoint: replaying it with `restore` then `epoch(batchIndex)` resumes exactly. */
  get state(): LoaderState {
    return { epochStartRng: this.epochStartRng, epochs: this.epochCount };
  }

  /** Rewind to the start of the epoch recorded in `state` (the next `epoch()` replays it). */
  restore(state: LoaderState): void {
    if (state === null || typeof state !== 'object') throw new ValueError(`DataLoader.restore: state must be an object {epochStartRng, epochs}, got ${describeValue(state)}`);
    checkNumber('DataLoader.restore', 'state.epochStartRng', state.epochStartRng, { min: 0, max: 0xffffffff, integer: true });
    checkNumber('DataLoader.restore', 'state.epochs', state.epochs, { min: 0, integer: true });
    this.rng.state = state.epochStartRng >>> 0;
    this.epochCount = Math.max(0, state.epochs - 1);
  }

  private order(): Uint32Array {
    const idx = Uint32Array.from({ length: this.set.count }, (_, i) => i);
    if (this.options.shuffle) {
      for (let i = idx.length - 1; i > 0; i--) {
        const j = Math.floor(this.rng.next() * (i + 1));
        [idx[i], idx[j]] = [idx[j]!, idx[i]!];
      }
    }
    return idx;
  }

  /**
   * One epoch of batches. `from` skips the first batches (resuming mid-epoch): they are
   * still assembled, so the augmentation RNG advances exactly as in an unbroken run.
   */
  *epoch(from = 0): Generator<Batch> {
    checkNumber('DataLoader.epoch', 'from', from, { min: 0, integer: true });
    this.epochCount++;
    this.epochStartRng = this.rng.state;
    const order = this.order();
    const bs = this.options.batchSize;
    for (let b = 0; b < this.batchesPerEpoch; b++) {
      const batch = this.assemble(order.subarray(b * bs, Math.min((b + 1) * bs, order.length)));
      if (b >= from) yield batch;
    }
  }

  private assemble(indices: Uint32Array): Batch {
    const { height: h, width: w, channels: c } = this.set;
    const [oh, ow] = [this.options.cropSize ?? h, this.options.cropSize ?? w];
    const px = oh * ow * c;
    const images = new Float32Array(indices.length * px);
    const labels = new Int32Array(indices.length);
    const pad = this.options.cropPadding ?? 0;
    // Crop offsets range over [-pad, extent - crop + pad]; without a crop size that is the
    // shift of a pad-and-crop, and with neither the image itself.
    const [spanY, spanX] = [h - oh + 2 * pad, w - ow + 2 * pad];
    indices.forEach((src, k) => {
      labels[k] = this.set.labels[src]!;
      const dy = spanY ? Math.floor(this.rng.next() * (spanY + 1)) - pad : -pad;
      const dx = spanX ? Math.floor(this.rng.next() * (spanX + 1)) - pad : -pad;
      const flip = this.options.flip === 'alternate' ? this.alternateFlip(src) : this.options.flip ? this.rng.next() < 0.5 : false;
      this.copyImage(src, images.subarray(k * px, (k + 1) * px), oh, ow, dy, dx, flip);
    });
    return { images, labels, shape: [indices.length, oh, ow, c] };
  }

  /** Image `src`'s flip this epoch under 'alternate': its own fair coin (seeded), inverted every other epoch. */
  private alternateFlip(src: number): boolean {
    const first = new Rng(Math.imul((this.options.seed ?? 0) + 1, 0x9e3779b1) ^ src).next() < 0.5;
    return first !== ((this.epochCount & 1) === 0);
  }

  /** Copy an oh×ow window of one image at offset (dy, dx) (zeros where it leaves the frame), optionally mirrored. */
  private copyImage(src: number, out: Float32Array, oh: number, ow: number, dy: number, dx: number, flip: boolean): void {
    const { height: h, width: w, channels: c, images } = this.set;
    const base = src * h * w * c;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const sy = y + dy;
        const sx0 = x + dx;
        const sx = flip ? w - 1 - sx0 : sx0;
        const inside = sy >= 0 && sy < h && sx0 >= 0 && sx0 < w;
        for (let ch = 0; ch < c; ch++) {
          const v = inside ? images[base + (sy * w + sx) * c + ch]! / 255 : 0;
          // Padding is black in pixel space, like zero-padding the raw image.
          out[(y * ow + x) * c + ch] = (v - this.mean[ch]!) / this.std[ch]!;
        }
      }
    }
  }
}

/** A batch's NHWC images mirrored left-right (flip test-time augmentation; the loader's training flips mirror as they copy). */
export function mirrored(images: Float32Array, [n, h, w, c]: readonly number[]): Float32Array {
  const out = new Float32Array(images.length);
  for (let row = 0; row < n! * h!; row++) {
    for (let x = 0; x < w!; x++) {
      const from = (row * w! + x) * c!;
      out.set(images.subarray(from, from + c!), (row * w! + (w! - 1 - x)) * c!);
    }
  }
  return out;
}
