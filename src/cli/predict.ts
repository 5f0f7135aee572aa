/**
 * `nfnet predict`: classify image files with a timm state dict (safetensors) or a checkpoint
 * written by `nfnet train`, printing the top-k classes per image.
 *
 * Preprocessing follows the weights: a timm file gets timm's eval transform for its model
 * (src/data/preprocess.ts: Pillow-exact bicubic resize, center crop by crop_pct, ImageNet
 * mean/std); a checkpoint of `nfnet train` gets what its training data got (the folder
 * reader's resize to the training size, the training mean/std), saved in the checkpoint.
 * Images: PNG (pngjs; the browser demo decodes any format the browser does).
 */
import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { PNG } from 'pngjs';
import { init } from '../runtime/init.js';
import { ShapeError, ValueError } from '../runtime/errors.js';
import { noGrad } from '../autodiff/tape.js';
import { tidy } from '../tensor/scope.js';
import { tensor } from '../tensor/creation.js';
import { CheckpointError, decodeSafetensors, type DecodedTensor } from '../io/safetensors.js';
import { CHECKPOINT_FORMAT, decodeCheckpoint, modelFromCheckpoint } from '../nfnet/checkpoint.js';
import { importTimm } from '../models/timm.js';
import type { Model } from '../models/model.js';
import { preprocessImage, timmEvalTransform, type EvalTransform, type Image8 } from '../data/preprocess.js';
import { resizeInto } from '../data/node-files.js';

export interface PredictArgs {
  checkpoint: string;
  images: string[];
  /** A timm name for a timm file (default: read from its keys). */
  variant?: string;
  /** A text file of class names, one per line. */
  labels?: string;
  /** How many classes to list per image (default 5). */
  top?: number;
  /** Input resolution for timm weights (default: timm's test_input_size for the model). */
  res?: number;
  /** For checkpoints: use the EMA weights when saved (default true). */
  ema?: boolean;
  /** A progress bar while a large file loads (default: off). */
  progress?: boolean;
}

/** How a checkpoint of `nfnet train` preprocessed its data (saved as extra.preprocess). */
export interface TrainPreprocess {
  size: number;
  channels: 1 | 3;
  mean: number[];
  std: number[];
  classNames?: string[];
}

export interface Prediction {
  file: string;
  top: { rank: number; id: number; name: string | null; probability: number; logit: number }[];
}

export interface PredictResult {
  variant: string;
  source: 'timm' | 'checkpoint';
  /** What the images went through, in words. */
  preprocessing: string;
  predictions: Prediction[];
}

type Preparer = (img: Image8) => { data: Float32Array; shape: [number, number, number, number] };

export async function predict(a: PredictArgs): Promise<PredictResult> {
  const k = a.top ?? 5;
  if (!(Number.isInteger(k) && k > 0)) throw new ValueError(`--top must be a positive integer, got ${a.top}`);
  if (!a.images.length) throw new ValueError('nfnet predict: give at least one image file');
  const images = a.images.map((f) => ({ file: f, image: readPng(f) })); // every image decoded before GPU work
  const raw = readFileSync(a.checkpoint);
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const { tensors, metadata } = decodeSafetensors(bytes, a.checkpoint);
  const own = metadata.format === CHECKPOINT_FORMAT;
  const gpu = await init();
  let model: Model | undefined;
  try {
    let prepare: Preparer;
    let preprocessing: string;
    let names: readonly string[] | null = null;
    if (own) {
      const ck = decodeCheckpoint(bytes, a.checkpoint);
      model = modelFromCheckpoint(ck, { useEma: a.ema !== false });
      const pre = (ck.extra as { preprocess?: TrainPreprocess } | undefined)?.preprocess;
      if (pre) {
        prepare = trainPreparer(pre, model.config.inChannels);
        preprocessing = `as in training: ${pre.size}×${pre.size} bilinear, ${pre.channels === 1 ? 'luminance' : 'RGB'}, mean [${pre.mean.map(fmt)}], std [${pre.std.map(fmt)}]`;
        names = pre.classNames ?? null;
      } else {
        ({ prepare, preprocessing } = timmPreparer(model, a.res));
      }
    } else {
      model = importTimmWithProgress(tensors, a);
      ({ prepare, preprocessing } = timmPreparer(model, a.res));
    }
    if (a.labels) names = readLabels(a.labels, model.config.numClasses);
    const predictions: Prediction[] = [];
    for (const { file, image } of images) {
      const x = prepare(image);
      const input = tensor(x.data, x.shape);
      const y = noGrad(() => tidy(() => model!.forward(input)));
      const logits = Float32Array.from(await y.data());
      y.dispose();
      input.dispose();
      predictions.push({ file, top: topK(logits, k, names) });
    }
    return { variant: model.config.variant, source: own ? 'checkpoint' : 'timm', preprocessing, predictions };
  } finally {
    model?.dispose();
    await gpu.dispose();
  }
}

const fmt = (v: number) => v.toFixed(3);

function importTimmWithProgress(tensors: Map<string, DecodedTensor>, a: PredictArgs): Model {
  const bar = a.progress ? new cliProgress.SingleBar({ format: 'loading weights |{bar}| {percentage}% {value}/{total} M parameters', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : null;
  const M = (n: number) => +(n / 1e6).toFixed(1);
  let started = false;
  const onProgress = (done: number, total: number) => {
    if (!started) bar!.start(M(total), M(done));
    else bar!.update(M(done));
    started = true;
  };
  try {
    const { model } = importTimm(tensors, { ...(a.variant ? { variant: a.variant } : {}), ...(bar ? { onProgress } : {}) });
    return model;
  } finally {
    bar?.stop();
  }
}

/** timm's eval transform for the model's name (timm's defaults for other names). */
function timmPreparer(model: Model, res?: number): { prepare: Preparer; preprocessing: string } {
  if (model.config.inChannels !== 3) throw new ShapeError(`${model.config.variant} takes ${model.config.inChannels}-channel images; timm's eval transform makes RGB`);
  const t: EvalTransform = timmEvalTransform(model.config.variant, res);
  return {
    prepare: (img) => preprocessImage(img, t),
    preprocessing: `timm eval: ${t.cropMode} resize to ${Math.floor(t.size / t.cropPct)} (${t.interpolation}), center crop ${t.size}×${t.size} (crop_pct ${t.cropPct}), ImageNet mean/std`,
  };
}

/** What `nfnet train` did to its images: the folder reader's resize, then the training mean/std. */
function trainPreparer(p: TrainPreprocess, inChannels: number): Preparer {
  if (p.channels !== inChannels) throw new ShapeError(`checkpoint: preprocessing makes ${p.channels} channels, the model takes ${inChannels}`);
  return (img) => {
    const rgba = toRgba(img);
    const px = new Uint8Array(p.size * p.size * p.channels);
    resizeInto(rgba, px, p.size, p.channels);
    const data = Float32Array.from(px, (v, i) => (v / 255 - p.mean[i % p.channels]!) / p.std[i % p.channels]!);
    return { data, shape: [1, p.size, p.size, p.channels] };
  };
}

function toRgba(img: Image8): { width: number; height: number; data: Uint8Array } {
  if (img.channels === 4) return img;
  const out = new Uint8Array(img.width * img.height * 4);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++) out[p * 4 + c] = img.data[p * img.channels + (img.channels === 1 ? 0 : c)]!;
    out[p * 4 + 3] = 255;
  }
  return { width: img.width, height: img.height, data: out };
}

/** A PNG file as 8-bit RGBA (pngjs converts gray, palette and 16-bit images). */
export function readPng(file: string): Image8 {
  if (!/\.png$/i.test(file)) throw new ValueError(`${file}: only PNG images are read here (convert others, e.g. \`convert in.jpg out.png\`; the browser demo reads any format)`);
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(file));
  } catch (e) {
    throw new ValueError(`cannot decode ${file}: ${(e as Error).message}`);
  }
  return { width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
}

/** Class names, one per line (blank lines at the end ignored); as many as the model has classes. */
export function readLabels(file: string, classes: number): string[] {
  const names = readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim());
  while (names.length && names[names.length - 1] === '') names.pop();
  if (names.length !== classes) throw new CheckpointError(`${file}: ${names.length} class names for a model with ${classes} classes`);
  return names;
}

/** The k largest logits with softmax probabilities (float64), best first; ties keep the lower id first. */
export function topK(logits: Float32Array, k: number, names: readonly string[] | null): Prediction['top'] {
  const max = Math.max(...logits);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const ids = Array.from(logits.keys()).sort((i, j) => logits[j]! - logits[i]! || i - j).slice(0, k);
  return ids.map((id, r) => ({ rank: r + 1, id, name: names?.[id] ?? null, probability: Math.exp(logits[id]! - max) / sum, logit: logits[id]! }));
}

/** The lines `nfnet predict` prints. */
export function formatPredictions(r: PredictResult): string {
  const lines = [`${r.variant} (${r.source} weights); ${r.preprocessing}`];
  for (const p of r.predictions) {
    lines.push(`${p.file}:`);
    for (const t of p.top) lines.push(`  ${t.rank}. ${(100 * t.probability).toFixed(2).padStart(6)}%  ${t.name === null ? `class ${t.id}` : `${t.name} (${t.id})`}`);
  }
  return lines.join('\n');
}
