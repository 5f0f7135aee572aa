/**
 * Dataset file formats, parsed from bytes (so the same code runs in Node and the browser):
 * IDX (MNIST / Fashion-MNIST) and the CIFAR-10 binary format. Images come out as
 * uint8 NHWC; normalisation happens per batch.
 */
import { ShapeError, ValueError } from '../runtime/errors.js';
import { describeValue } from '../runtime/validate.js';

export interface ImageSet {
  /** uint8 pixels, NHWC. */
  images: Uint8Array;
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  classes: number;
  classNames?: readonly string[];
}

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

/** IDX: big-endian magic (0x0000 type dims), dims as u32, then the data (type 0x08 = u8). */
export function parseIdx(bytes: Uint8Array, what = 'idx file'): { dims: number[]; data: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`${what}: expected the file's bytes as a Uint8Array, got ${describeValue(bytes)}`);
  if (bytes.length < 4) throw new ShapeError(`${what}: ${bytes.length} bytes is too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== 0 || bytes[2] !== 0x08) {
    throw new ValueError(`${what}: not an unsigned-byte IDX file (magic ${view.getUint32(0).toString(16).padStart(8, '0')}, expected 0x0000080N)`);
  }
  const rank = bytes[3]!;
  if (rank < 1 || rank > 4) throw new ValueError(`${what}: IDX rank ${rank}; expected 1 (labels) to 4 dimensions`);
  const offset = 4 + 4 * rank;
  if (bytes.length < offset) throw new ShapeError(`${what}: ${bytes.length} bytes is too short for an IDX header of rank ${rank} (${offset} bytes)`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const n = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - offset !== n) {
    throw new ShapeError(`${what}: header says ${dims.join('×')} = ${n} bytes of data, file has ${bytes.length - offset}`);
  }
  return { dims, data: bytes.subarray(offset) };
}

/** Combine an IDX image file ([N, H, W]) and label file ([N]) into an ImageSet. */
export function idxImageSet(imageBytes: Uint8Array, labelBytes: Uint8Array, classNames?: readonly string[]): ImageSet {
  const img = parseIdx(imageBytes, 'IDX images');
  const lab = parseIdx(labelBytes, 'IDX labels');
  if (img.dims.length !== 3 || lab.dims.length !== 1 || img.dims[0] !== lab.dims[0]) {
    throw new ShapeError(`IDX: images ${img.dims.join('×')} and labels ${lab.dims.join('×')} do not pair up (need [N,H,W] and [N])`);
  }
  const labels = Int32Array.from(lab.data);
  if (!classNames && !labels.length) throw new ValueError('IDX: no examples, so the number of classes is unknown (pass classNames)');
  const set: ImageSet = {
    images: img.data, labels, count: img.dims[0]!, height: img.dims[1]!, width: img.dims[2]!, channels: 1,
    classes: classNames?.length ?? labels.reduce((m, l) => Math.max(m, l), 0) + 1, classNames,
  };
  checkImageSet(set, 'IDX');
  return set;
}

/**
 * An ImageSet whose parts agree: positive image size, images.length = count·H·W·C,
 * one label per image, every label in [0, classes), classNames (if any) one per class.
 */
export function checkImageSet(set: ImageSet, what = 'image set'): void {
  if (!set || typeof set !== 'object') throw new ValueError(`${what}: expected an ImageSet, got ${describeValue(set)}`);
  const { count, height, width, channels, classes } = set;
  for (const [name, v] of [['count', count], ['height', height], ['width', width], ['channels', channels], ['classes', classes]] as const) {
    if (!Number.isSafeInteger(v) || v < (name === 'count' ? 0 : 1)) throw new ValueError(`${what}: ${name} must be a ${name === 'count' ? 'non-negative' : 'positive'} integer, got ${describeValue(v)}`);
  }
  if (!(set.images instanceof Uint8Array) || set.images.length !== count * height * width * channels) {
    throw new ShapeError(`${what}: images must be a Uint8Array of count·H·W·C = ${count}·${height}·${width}·${channels} bytes, got ${describeValue(set.images)}${set.images?.length !== undefined ? ` of ${set.images.length}` : ''}`);
  }
  if (!(set.labels instanceof Int32Array) || set.labels.length !== count) {
    throw new ShapeError(`${what}: labels must be an Int32Array of ${count} labels, got ${describeValue(set.labels)}${set.labels?.length !== undefined ? ` of ${set.labels.length}` : ''}`);
  }
  const bad = set.labels.findIndex((l) => l < 0 || l >= classes);
  if (bad >= 0) throw new ValueError(`${what}: label ${set.labels[bad]} of example ${bad} is outside 0…${classes - 1} (${classes} classes)`);
  if (set.classNames !== undefined && set.classNames.length !== classes) {
    throw new ValueError(`${what}: ${set.classNames.length} class names for ${classes} classes`);
  }
}

/** CIFAR-10 binary: records of 1 label byte + 3072 bytes (R, G, B planes of 32×32). */
export function parseCifar10(bytes: Uint8Array): ImageSet {
  const record = 1 + 3 * 32 * 32;
  if (bytes.length === 0 || bytes.length % record !== 0) {
    throw new ShapeError(`CIFAR-10 binary: ${bytes.length} bytes is not a whole number of ${record}-byte records`);
  }
  const count = bytes.length / record;
  const images = new Uint8Array(count * 3072);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const r = i * record;
    labels[i] = bytes[r]!;
    if (labels[i]! > 9) throw new ValueError(`CIFAR-10 binary: record ${i} has label ${labels[i]}, expected 0…9`);
    // planar CHW → interleaved HWC
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) images[i * 3072 + p * 3 + c] = bytes[r + 1 + c * 1024 + p]!;
    }
  }
  return { images, labels, count, height: 32, width: 32, channels: 3, classes: 10, classNames: CIFAR10_CLASSES };
}

export function concatSets(sets: ImageSet[]): ImageSet {
  if (!Array.isArray(sets as unknown)) throw new ValueError(`concatSets: sets must be an array of image sets, got ${describeValue(sets)}`);
  sets.forEach((s, i) => checkImageSet(s, `concatSets: sets[${i}]`));
  const [first] = sets;
  if (!first) throw new ValueError('concatSets: no image sets given');
  for (const s of sets) {
    if (s.height !== first.height || s.width !== first.width || s.channels !== first.channels || s.classes !== first.classes) {
      throw new ShapeError(`concatSets: a ${s.height}×${s.width}×${s.channels} set of ${s.classes} classes does not match ${first.height}×${first.width}×${first.channels} of ${first.classes}`);
    }
  }
  const images = new Uint8Array(sets.reduce((n, s) => n + s.images.length, 0));
  const labels = new Int32Array(sets.reduce((n, s) => n + s.count, 0));
  let io = 0;
  let lo = 0;
  for (const s of sets) {
    images.set(s.images, io);
    labels.set(s.labels, lo);
    io += s.images.length;
    lo += s.count;
  }
  return { ...first, images, labels, count: labels.length };
}

/** The first `n` examples (for quick runs and demos). */
export function take(set: ImageSet, n: number): ImageSet {
  checkImageSet(set, 'take');
  if (!Number.isSafeInteger(n) || n < 0) throw new ValueError(`take: n must be a non-negative integer, got ${describeValue(n)}`);
  const k = Math.min(n, set.count);
  const px = set.height * set.width * set.channels;
  return { ...set, images: set.images.subarray(0, k * px), labels: set.labels.subarray(0, k), count: k };
}
