/**
 * Reading datasets from disk (Node only; not part of the browser bundle): Fashion-MNIST
 * from Debian's dataset-fashion-mnist package or any folder of (gzipped) IDX files, and
 * CIFAR-10 binary batches.
 */
import { existsSync, readdirSync } from 'node:fs';
import { PNG } from 'pngjs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FileError, ValueError } from '../runtime/errors.js';
import { readFileBytes } from '../io/files.js';
import { checkNumber, checkOneOf, checkOptions, describeValue } from '../runtime/validate.js';
import { FASHION_MNIST_CLASSES, concatSets, idxImageSet, parseCifar10, type ImageSet } from './formats.js';

export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

function readMaybeGz(file: string): Uint8Array {
  const candidates = [file, `${file}.gz`];
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new FileError(`dataset file not found: ${candidates.join(' or ')}`);
  const raw = readFileBytes(found, 'dataset file');
  if (!found.endsWith('.gz')) return raw;
  try {
    return gunzipSync(raw);
  } catch (e) {
    throw new FileError(`dataset file ${found} is not valid gzip (${(e as Error).message})`);
  }
}

/** Fashion-MNIST (or MNIST) from a folder of `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`. */
export function readFashionMnist(split: 'train' | 'test', dir = DEBIAN_FASHION_MNIST): ImageSet {
  checkOneOf('readFashionMnist', 'split', split, ['train', 'test']);
  if (typeof dir !== 'string') throw new ValueError(`readFashionMnist: dir must be a path, got ${describeValue(dir)}`);
  if (!existsSync(dir)) {
    throw new ValueError(`Fashion-MNIST folder ${dir} does not exist: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --data-dir`);
  }
  const prefix = split === 'train' ? 'train' : 't10k';
  return idxImageSet(
    readMaybeGz(path.join(dir, `${prefix}-images-idx3-ubyte`)),
    readMaybeGz(path.join(dir, `${prefix}-labels-idx1-ubyte`)),
    FASHION_MNIST_CLASSES,
  );
}

/** CIFAR-10 binary version: data_batch_1…5.bin (train) or test_batch.bin (test). */
export function readCifar10(split: 'train' | 'test', dir: string): ImageSet {
  checkOneOf('readCifar10', 'split', split, ['train', 'test']);
  if (typeof dir !== 'string') throw new ValueError(`readCifar10: dir must be a path, got ${describeValue(dir)}`);
  const files = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const present = files.filter((f) => existsSync(path.join(dir, f)));
  if (!present.length) throw new ValueError(`no CIFAR-10 binary files (${files.join(', ')}) in ${dir}`);
  return concatSets(present.map((f) => parseCifar10(readMaybeGz(path.join(dir, f)))));
}

/**
 * An image folder: `dir/<class name>/*.png`, classes sorted by name. Images are converted
 * to `channels` (1 = luminance, 3 = RGB) and resized bilinearly to size×size.
 */
export function readImageFolder(dir: string, options: { size: number; channels?: 1 | 3 }): ImageSet {
  if (typeof dir !== 'string') throw new ValueError(`readImageFolder: dir must be a path, got ${describeValue(dir)}`);
  checkOptions('readImageFolder', options ?? null, ['size', 'channels']);
  checkNumber('readImageFolder', 'size', options.size, { min: 1, max: 4096, integer: true });
  if (options.channels !== undefined && options.channels !== 1 && options.channels !== 3) {
    throw new ValueError(`readImageFolder: channels must be 1 or 3, got ${describeValue(options.channels)}`);
  }
  const { size, channels = 3 } = options;
  if (!existsSync(dir)) throw new ValueError(`image folder ${dir} does not exist`);
  const classNames = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  if (!classNames.length) throw new ValueError(`image folder ${dir} has no class sub-folders (expected ${dir}/<class>/*.png)`);
  const files = classNames.flatMap((name, label) =>
    readdirSync(path.join(dir, name)).filter((f) => /\.png$/i.test(f)).sort().map((f) => ({ file: path.join(dir, name, f), label })),
  );
  if (!files.length) throw new ValueError(`image folder ${dir} has no .png files`);
  const px = size * size * channels;
  const images = new Uint8Array(files.length * px);
  const labels = new Int32Array(files.length);
  files.forEach(({ file, label }, i) => {
    let png: PNG;
    try {
      png = PNG.sync.read(Buffer.from(readFileBytes(file, 'image')));
    } catch (e) {
      throw new ValueError(`cannot decode ${file}: ${(e as Error).message}`);
    }
    resizeInto(png, images.subarray(i * px, (i + 1) * px), size, channels);
    labels[i] = label;
  });
  return { images, labels, count: files.length, height: size, width: size, channels, classes: classNames.length, classNames };
}

/** Bilinear resize of an RGBA PNG into `out` (size×size×channels, uint8): how the folder reader sizes images (and `nfnet predict` for models trained on them). */
export function resizeInto(png: { width: number; height: number; data: Uint8Array }, out: Uint8Array, size: number, channels: 1 | 3): void {
  const { width: w, height: h, data } = png;
  const sample = (x: number, y: number, c: number) => data[(Math.min(h - 1, y) * w + Math.min(w - 1, x)) * 4 + c]!;
  for (let y = 0; y < size; y++) {
    const fy = Math.max(0, ((y + 0.5) * h) / size - 0.5);
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.max(0, ((x + 0.5) * w) / size - 0.5);
      const x0 = Math.floor(fx);
      const tx = fx - x0;
      const rgb = [0, 1, 2].map((c) => {
        const top = sample(x0, y0, c) * (1 - tx) + sample(x0 + 1, y0, c) * tx;
        const bottom = sample(x0, y0 + 1, c) * (1 - tx) + sample(x0 + 1, y0 + 1, c) * tx;
        return top * (1 - ty) + bottom * ty;
      });
      const o = (y * size + x) * channels;
      if (channels === 1) out[o] = Math.round(0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!);
      else for (let c = 0; c < 3; c++) out[o + c] = Math.round(rgb[c]!);
    }
  }
}
