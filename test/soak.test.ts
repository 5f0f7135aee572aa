// A leak soak: rounds of everything a training program does on a pico model — trainStep,
// predict, trainer.evaluate — mixed with calls that fail (a bad batch, a label out of range,
// bad op arguments, a predict of the wrong channels). After a warm-up round the pool's live
// bytes and live buffers must not move: every path, failing or not, gives back what it took.
import { expect, it } from 'vitest';
import { NfnetError, data, nfnet, ops, zeros } from '../src/index.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

const [HW, CLASSES, N] = [8, 3, 8];

function imageSet(): data.ImageSet {
  return {
    images: Uint8Array.from({ length: N * HW * HW }, (_, i) => (i * 37 + (i >> 6) * 11) % 256),
    labels: Int32Array.from({ length: N }, (_, i) => i % CLASSES),
    count: N, height: HW, width: HW, channels: 1, classes: CLASSES,
  };
}

/** `fn` (sync or async) throws one of our typed errors. */
async function expectTyped(fn: () => unknown): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(NfnetError);
}

it('40 rounds of trainStep, predict, evaluate and failed calls leave live bytes and buffers flat', async () => {
  await gpu().sync();
  const live0 = gpu().poolStats().liveBytes;
  const model = nfnet.create('pico', { numClasses: CLASSES, seed: 3 });
  const trainer = new nfnet.Trainer(model, { totalSteps: 100, lr: 0.05, batchSize: 4 });
  const loader = new data.DataLoader(imageSet(), { batchSize: 4, shuffle: true, seed: 1 });
  const evalLoader = new data.DataLoader(imageSet(), { batchSize: 4 });
  const x = zeros([1, 6, 6, 4]);
  const w = zeros([3, 3, 4, 8]);
  const wrongChannels = zeros([2, HW, HW, 3]);
  const images = zeros([2, HW, HW, 1]);

  const live: number[] = [];
  const buffers: number[] = [];
  const losses: number[] = [];
  const rounds = 40;
  for (let round = 0; round < rounds; round++) {
    for (const batch of loader.epoch()) {
      const r = await trainer.trainStep(batch);
      losses.push(r.loss);
      // The same batch with a label out of range, and with its pixels cut short: refused, nothing kept.
      await expectTyped(() => trainer.trainStep({ ...batch, labels: Int32Array.from(batch.labels, (l, i) => (i ? l : CLASSES)) }));
      await expectTyped(() => trainer.trainStep({ ...batch, images: batch.images.subarray(1) }));
    }
    const predicted = await model.predict(images);
    expect(predicted.length).toBe(2);
    await expectTyped(() => model.predict(wrongChannels));
    const ev = await trainer.evaluate(evalLoader);
    expect(ev.count).toBe(N);
    // Failed op calls between steps: bad options, a zero-tap filter, a shape that does not fit.
    await expectTyped(() => ops.conv2d(x, w, { stride: 0 }));
    await expectTyped(() => ops.conv2d(x, w, { strides: 1 } as never));
    await expectTyped(() => ops.matmul(x, w));
    await gpu().sync();
    const stats = gpu().poolStats();
    live.push(stats.liveBytes);
    buffers.push(stats.liveBuffers);
  }
  console.log(`[soak] ${losses.length} steps; live bytes at rounds 1/2/10/${rounds}: ${live[0]} ${live[1]} ${live[9]} ${live[rounds - 1]}; buffers ${buffers[1]} → ${buffers[rounds - 1]}`);
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(trainer.skippedSteps).toBe(0);
  // After the first round (pipelines built, EMA and momentum allocated) nothing grows.
  expect(live.slice(1), 'live bytes flat after round 1').toEqual(live.slice(1).map(() => live[1]));
  expect(buffers.slice(1), 'live buffers flat after round 1').toEqual(buffers.slice(1).map(() => buffers[1]));

  for (const t of [x, w, wrongChannels, images]) t.dispose();
  trainer.dispose();
  model.dispose();
  await gpu().sync();
  expect(gpu().poolStats().liveBytes, 'the model and trainer gave everything back').toBe(live0);
}, 120_000);
