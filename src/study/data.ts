/**
 * The images of a study: the first n training and test images of the dataset, resized to
 * the study's resolution (Pillow-style bilinear with antialiasing, as the eval
 * preprocessing does), so that tiny budgets train on 8–14 px images.
 */
import type { ImageSet } from '../data/formats.js';
import { resizeImage } from '../data/preprocess.js';
import { loadSplits } from '../cli/datasets.js';
import type { DataSpec } from './types.js';

export interface StudyData {
  train: ImageSet;
  test: ImageSet;
  /** Horizontal flips are an augmentation for this dataset (clothes, CIFAR; not digits). */
  flip: boolean;
}

/** Every image of a set resized to size × size. */
export function resizeSet(set: ImageSet, size: number): ImageSet {
  if (set.height === size && set.width === size) return set;
  const { height, width, channels } = set;
  const px = height * width * channels;
  const out = new Uint8Array(set.count * size * size * channels);
  for (let i = 0; i < set.count; i++) {
    const img = { width, height, channels, data: set.images.subarray(i * px, (i + 1) * px) };
    out.set(resizeImage(img, size, size, 'bilinear').data, i * size * size * channels);
  }
  return { ...set, images: out, height: size, width: size };
}

export function loadStudyData(spec: DataSpec, source: { data: string; dataDir?: string }): StudyData {
  const { train, test, flip } = loadSplits({ data: source.data, dataDir: source.dataDir, subset: spec.train, testSubset: spec.test });
  return { train: resizeSet(train, spec.resolution), test: resizeSet(test, spec.resolution), flip };
}
