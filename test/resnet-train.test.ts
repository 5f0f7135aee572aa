// A tiny BN-ResNet learns real data through the generic Trainer: 256 Fashion-MNIST training
// images (Debian's dataset-fashion-mnist), downsampled to 14×14, a few epochs; loss falls,
// held-out accuracy is far above chance (10%), BN's running statistics move in training
// and not in evaluation, the EMA (which averages them too) evaluates soundly, and
// checkpoints carry them (restored models give the same logits).
import { describe, expect, it } from 'vitest';
import { data, models, nfnet } from '../src/index.js';
import type { Model } from '../src/models/model.js';
import { readFashionMnist } from '../src/data/node-files.js';
import { decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from '../src/nfnet/checkpoint.js';
import { tensor } from '../src/tensor/creation.js';
import { noGrad } from '../src/autodiff/tape.js';
import { useGpu } from './setup.js';

useGpu();

/** The first `n` images of a split (classes balanced by the set's own order), 2×2-averaged to 14×14. */
function subset(split: 'train' | 'test', n: number, from = 0): data.ImageSet {
  const set = readFashionMnist(split);
  const images = new Uint8Array(n * 14 * 14);
  for (let i = 0; i < n; i++) {
    const src = (from + i) * 784;
    for (let y = 0; y < 14; y++) for (let x = 0; x < 14; x++) {
      const p = src + 2 * y * 28 + 2 * x;
      images[i * 196 + y * 14 + x] = Math.round((set.images[p]! + set.images[p + 1]! + set.images[p + 28]! + set.images[p + 29]!) / 4);
    }
  }
  return { images, labels: set.labels.slice(from, from + n), count: n, height: 14, width: 14, channels: 1, classes: 10 };
}

async function runningStats(model: Model): Promise<Float32Array> {
  const values = await model.state.read();
  return Float32Array.from(model.layout.specs.filter((s) => s.kind === 'running').flatMap((s) => [...values.get(s.name)!]));
}

describe('BN-ResNet training', () => {
  it('resnet_tiny (8/16/32 wide) learns 256 Fashion-MNIST images at 14 px: loss falls, test accuracy well above chance', async () => {
    const model = models.create('resnet_tiny', { channels: [8, 16, 32], stemWidth: 8, trainResolution: 14, testResolution: 14, seed: 1 });
    const epochs = 6;
    const loader = new data.DataLoader(subset('train', 256), { batchSize: 32, shuffle: true, seed: 2 });
    // BN-ResNets train with plain SGD: AGC's bound λ·max(‖W‖, 1e-3) would hold the zero-initialised last BN weights near 0.
    const trainer = new nfnet.Trainer(model, { totalSteps: epochs * loader.batchesPerEpoch, lr: 0.2, warmupSteps: 2, clipping: 0, labelSmoothing: 0, seed: 3 });
    const initialStats = await runningStats(model);
    const epochLoss: number[] = [];
    for (let e = 0; e < epochs; e++) {
      let sum = 0;
      for (const batch of loader.epoch()) sum += (await trainer.trainStep(batch)).loss;
      epochLoss.push(sum / loader.batchesPerEpoch);
    }
    const trainedStats = await runningStats(model);
    expect(trainedStats.some((v, i) => Math.abs(v - initialStats[i]!) > 1e-3), 'training updates the running statistics').toBe(true);
    expect(epochLoss[epochs - 1]!).toBeLessThan(0.75 * epochLoss[0]!);
    const test = new data.DataLoader(subset('test', 100), { batchSize: 50, keepLast: true, mean: loader.mean, std: loader.std });
    const live = await trainer.evaluate(test);
    expect(live.count).toBe(100);
    expect(live.accuracy).toBeGreaterThan(0.35); // chance is 0.1
    expect(Array.from(await runningStats(model)), 'evaluation leaves the running statistics alone').toEqual(Array.from(trainedStats));
    const ema = await trainer.evaluate(test, { useEma: true });
    expect(ema.accuracy).toBeGreaterThan(0.25);
    // Checkpoints carry the running statistics, the EMA's included: a restored model evaluates as the trained one.
    const ck = decodeCheckpoint(await encodeCheckpoint(model, trainer));
    expect(ck.params.get('layer2.0.bn1.running_var')).toEqual(Float32Array.from((await model.state.read()).get('layer2.0.bn1.running_var')!));
    const emaRunning = (await trainer.ema!.state.read()).get('bn1.running_mean')!;
    expect(emaRunning.some((v) => v !== 0), "the EMA's running mean has moved off its initial 0").toBe(true);
    expect(ck.ema.get('bn1.running_mean')).toEqual(emaRunning);
    const restored = modelFromCheckpoint(ck);
    const again = modelFromCheckpoint(ck, { useEma: true });
    const x = tensor(subset('test', 4).images.reduce((a, v, i) => ((a[i] = (v / 255 - loader.mean[0]!) / loader.std[0]!), a), new Float32Array(4 * 196)), [4, 14, 14, 1]);
    const logits = async (m: Model, state = m.state) => Array.from(await noGrad(() => m.forward(x, { state })).data());
    expect(await logits(restored)).toEqual(await logits(model));
    expect(await logits(again)).toEqual(await logits(model, trainer.ema!.state));
    for (const m of [restored, again]) m.dispose();
    console.log(`resnet_tiny 14 px: epoch losses ${epochLoss.map((l) => l.toFixed(3)).join(' ')}; test accuracy ${live.accuracy} (EMA ${ema.accuracy})`);
    trainer.dispose();
    model.dispose();
  });
});
