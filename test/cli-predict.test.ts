// `nfnet predict` and `nfnet train --init` end to end on the committed timm fixtures: the
// printed top-k is the model's own ranking (logits computed here, softmax in float64);
// finetuning starts from the timm weights with a fresh head, and its checkpoint predicts
// with the training preprocessing and class names.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { init, nfnet, noGrad, tensor, ValueError } from '../src/index.js';
import { CheckpointError } from '../src/io/safetensors.js';
import { formatPredictions, predict, readPng } from '../src/cli/predict.js';
import { train, type TrainArgs } from '../src/cli/train.js';
import { preprocessImage, timmEvalTransform } from '../src/data/preprocess.js';
import { loadCheckpoint } from '../src/nfnet/checkpoint-node.js';
import { maxRelErr } from './harness.js';
import { FIXTURE_DIR, stateDictBytes } from './timm-fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nfnet-predict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A w×h RGB PNG of seeded noise over a gradient. */
function writePng(file: string, w: number, h: number, seed: number): string {
  const png = new PNG({ width: w, height: h });
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = Math.floor(((i % w) * 255) / w * (c === seed % 3 ? 1 : 0.3) + 60 * rnd());
    png.data[i * 4 + 3] = 255;
  }
  writeFileSync(file, PNG.sync.write(png));
  return file;
}

const timmFile = path.join(FIXTURE_DIR, 'dm_nfnet_tiny.safetensors');

describe('nfnet predict', () => {
  it('timm weights: top-5 with names is the model\'s own ranking of its logits on the timm-preprocessed image', async () => {
    const img = writePng(path.join(dir, 'a.png'), 29, 21, 1);
    const img2 = writePng(path.join(dir, 'b.png'), 18, 30, 2);
    const labels = path.join(dir, 'labels.txt');
    writeFileSync(labels, 'apple\nbanana\ncherry\ndate\nelder\n');

    // The model's logits, computed here.
    const gpu = await init({ verbose: false });
    const { model } = nfnet.importTimm(stateDictBytes('dm_nfnet_tiny'));
    const want: Float32Array[] = [];
    for (const f of [img, img2]) {
      const x = preprocessImage(readPng(f), timmEvalTransform(model.config.variant, 24));
      want.push(Float32Array.from(await noGrad(() => model.forward(tensor(x.data, x.shape))).data()));
    }
    model.dispose();
    await gpu.dispose();

    const r = await predict({ checkpoint: timmFile, images: [img, img2], labels, res: 24 });
    expect(r.source).toBe('timm');
    expect(r.preprocessing).toMatch(/center crop 24×24/);
    const names = ['apple', 'banana', 'cherry', 'date', 'elder'];
    r.predictions.forEach((p, n) => {
      const logits = want[n]!;
      const order = Array.from(logits.keys()).sort((i, j) => logits[j]! - logits[i]!);
      expect(p.top.map((t) => t.id)).toEqual(order);
      expect(p.top.map((t) => t.name)).toEqual(order.map((i) => names[i]));
      const m = Math.max(...logits);
      const z = Array.from(logits).reduce((s, v) => s + Math.exp(v - m), 0);
      for (const t of p.top) expect(Math.abs(t.probability - Math.exp(logits[t.id]! - m) / z)).toBeLessThan(1e-6);
      expect(maxRelErr(p.top.map((t) => t.logit), order.map((i) => logits[i]!))).toBe(0);
    });
    const text = formatPredictions(r);
    const top1 = r.predictions[0]!.top[0]!;
    expect(text).toContain(`${img}:\n  1. ${(100 * top1.probability).toFixed(2).padStart(6)}%  ${top1.name} (${top1.id})`);
    expect(text.split('\n').filter((l) => /^ {2}\d\. /.test(l))).toHaveLength(10);
  }, 60_000);

  it('refuses a label file of the wrong length, non-PNG images and --top 0, before any GPU work', async () => {
    const img = writePng(path.join(dir, 'c.png'), 8, 8, 3);
    const labels = path.join(dir, 'three.txt');
    writeFileSync(labels, 'a\nb\nc\n');
    await expect(predict({ checkpoint: timmFile, images: [img], labels, res: 8 })).rejects.toThrow(CheckpointError);
    await expect(predict({ checkpoint: timmFile, images: [path.join(dir, 'x.jpg')] })).rejects.toThrow(/only PNG/);
    await expect(predict({ checkpoint: timmFile, images: [img], top: 0 })).rejects.toThrow(ValueError);
  }, 60_000);
});

describe('nfnet train --init', () => {
  /** dir/{train,test}/{cat,dog,fox}/*.png */
  function folderDataset(): string {
    const root = path.join(dir, 'data');
    for (const split of ['train', 'test']) {
      ['cat', 'dog', 'fox'].forEach((cls, c) => {
        mkdirSync(path.join(root, split, cls), { recursive: true });
        for (let i = 0; i < (split === 'train' ? 2 : 1); i++) writePng(path.join(root, split, cls, `${i}.png`), 20, 20, 10 * c + i + (split === 'test' ? 5 : 0));
      });
    }
    return root;
  }

  const args = (extra: Partial<TrainArgs>): TrainArgs => ({
    data: 'folder', dataDir: folderDataset(), size: 16, variant: 'auto', init: timmFile, classes: 3, epochs: 1, batch: 2, lr: 1e-9, warmup: 0,
    clipping: 0.01, agc: true, seed: 3, out: path.join(dir, 'run'), fast: true, progress: false, evalEma: true, logEvery: 0, crop: 0, agcSkipGains: false, ...extra,
  });

  it('finetunes from the timm weights with a fresh 3-class head; the checkpoint predicts with its training preprocessing and class names', async () => {
    const r = await train(args({}));
    expect(r.steps).toHaveLength(3);
    expect(r.steps.every((s) => Number.isFinite(s.loss))).toBe(true);
    const ck = loadCheckpoint(path.join(dir, 'run', 'checkpoint.safetensors'));
    expect(ck.config.numClasses).toBe(3);
    // At lr 1e-9 three steps leave the weights where they started: timm's, but for the head.
    const gpu = await init({ verbose: false });
    const { model } = nfnet.importTimm(stateDictBytes('dm_nfnet_tiny'));
    const timm = await model.state.read();
    model.dispose();
    await gpu.dispose();
    for (const [name, v] of ck.params) {
      if (name.startsWith('head.fc.')) continue;
      expect(maxRelErr(v, timm.get(name)!), name).toBeLessThan(1e-5);
    }
    expect(ck.shapes.get('param/head.fc.weight')).toEqual([64, 3]);
    expect(ck.extra?.preprocess).toMatchObject({ size: 16, channels: 3, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], classNames: ['cat', 'dog', 'fox'] });

    const p = await predict({ checkpoint: path.join(dir, 'run', 'checkpoint.safetensors'), images: [path.join(dir, 'data', 'test', 'dog', '0.png')], top: 3 });
    expect(p.source).toBe('checkpoint');
    expect(p.preprocessing).toMatch(/as in training: 16×16/);
    const top = p.predictions[0]!.top;
    expect(top.map((t) => t.id).sort()).toEqual([0, 1, 2]);
    expect(top.map((t) => t.name).sort()).toEqual(['cat', 'dog', 'fox']);
    expect(top.reduce((s, t) => s + t.probability, 0)).toBeCloseTo(1, 6);
  }, 120_000);

  it('refuses --classes other than the dataset\'s', async () => {
    await expect(train(args({ classes: 4, out: path.join(dir, 'bad') }))).rejects.toThrow(/--classes 4, but --data folder has 3 classes/);
  }, 60_000);
});
