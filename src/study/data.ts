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

/** The last few subsets made, so that rerunning a study in one process (tests, resuming) reads the files once. */
const cache = new Map<string, StudyData>();

export function loadStudyData(spec: DataSpec, source: { data: string; dataDir?: string }): StudyData {
  const key = JSON.stringify([source.data, source.dataDir ?? null, spec.train, spec.test, spec.resolution]);
  const hit = cache.get(key);
  if (hit) return hit;
  const { train, test, flip } = loadSplits({ data: source.data, dataDir: source.dataDir, subset: spec.train, testSubset: spec.test });
  // Copies: a subset must not keep the whole dataset's buffer alive.
  const own = (set: typeof train) => ({ ...set, images: set.images.slice(), labels: set.labels.slice() });
  const data = { train: own(resizeSet(train, spec.resolution)), test: own(resizeSet(test, spec.resolution)), flip };
  if (cache.size >= 4) cache.delete(cache.keys().next().value!);
  cache.set(key, data);
  return data;
}
