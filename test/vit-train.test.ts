// A tiny ViT learns real data through the common Trainer: vit_pico_patch7_28 (28k
// parameters, 17 tokens) on 192 Fashion-MNIST images (Debian's dataset-fashion-mnist) for
// 4 epochs; the loss falls, test accuracy is well above chance (10 classes), and a
// checkpoint restores the same network.
import { describe, expect, it } from 'vitest';
import { data, models, nfnet, noGrad, ShapeError, tensor, zeros } from '../src/index.js';
import type { Model } from '../src/models/model.js';
import { decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from '../src/nfnet/checkpoint.js';
import { take } from '../src/data/formats.js';
import { readFashionMnist } from '../src/data/node-files.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

describe('ViT training', () => {
  it('vit_pico_patch7_28 learns a Fashion-MNIST subset: loss falls, test accuracy far above chance', async () => {
    const train = take(readFashionMnist('train'), 192);
    const test = take(readFashionMnist('test'), 100);
    const model = models.create('vit_pico_patch7_28', { seed: 1 });
    const loader = new data.DataLoader(train, { batchSize: 32, shuffle: true, seed: 2 });
    // The Trainer's default AGC (λ 0.01, the head unclipped): unclipped, this peak rate diverges (measured: loss 5,888 in epoch 4).
    const trainer = new nfnet.Trainer(model, { totalSteps: 24, lr: 0.5, warmupSteps: 2, seed: 3 });
    const epochLoss: number[] = [];
    for (let e = 0; e < 4; e++) {
      let sum = 0;
      let n = 0;
      for (const batch of loader.epoch()) {
        const before = gpu().counters();
        sum += (await trainer.trainStep(batch)).loss;
        expect(gpu().counters().readbacks - before.readbacks).toBe(1);
        n++;
      }
      epochLoss.push(sum / n);
    }
    expect(epochLoss[3]!).toBeLessThan(0.9 * epochLoss[0]!);
    const result = await trainer.evaluate(new data.DataLoader(test, { batchSize: 50, keepLast: true, mean: loader.mean, std: loader.std }));
    expect(result.count).toBe(100);
    expect(result.accuracy).toBeGreaterThan(0.3); // chance is 0.1; measured 0.43
    // A checkpoint rebuilds the ViT through the registry (its config checked by the family) with the trained weights.
    const ck = decodeCheckpoint(await encodeCheckpoint(model, trainer));
    expect(ck.config).toEqual(model.config);
    const restored = modelFromCheckpoint(ck);
    const x = tensor(Float32Array.from({ length: 2 * 784 }, (_, i) => Math.sin(i)), [2, 28, 28, 1]);
    const logits = async (m: Model) => Array.from(await noGrad(() => m.forward(x)).data());
    expect(await logits(restored)).toEqual(await logits(model));
    restored.dispose();
    trainer.dispose();
    model.dispose();
  });

  it('refuses an image of another size or not a multiple of the patch, with a ShapeError before GPU work', () => {
    const model = models.create('vit_pico_patch7_28');
    const [tall, big, rgb] = [zeros([1, 30, 28, 1]), zeros([1, 35, 35, 1]), tensor(new Float32Array(28 * 28 * 3), [1, 28, 28, 3])];
    const before = gpu().counters();
    expect(() => model.forward(tall)).toThrow(ShapeError);
    expect(() => model.forward(tall)).toThrow(/not a multiple of the patch size 7/);
    expect(() => model.forward(big)).toThrow(/position embedding is learned for 28×28 inputs/);
    expect(() => model.forward(rgb)).toThrow(/expected NHWC images \[N, H, W, 1\]/);
    expect(gpu().counters().dispatches).toBe(before.dispatches);
    model.dispose();
  });
});
