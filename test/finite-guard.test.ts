// The non-finite guard: a step whose loss or gradients hold a NaN or ±∞ leaves weights,
// momentum and EMA untouched, is counted, and a run of them stops training with a message.
import { describe, expect, it } from 'vitest';
import { data, models, nfnet, optim, tensor, ValueError, type Tensor } from '../src/index.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

const f32 = (a: ArrayLike<number>, shape: number[]) => tensor(Float32Array.from(a), shape);
const read = async (ts: readonly Tensor[]) => Promise.all(ts.map(async (t) => Array.from(await t.data())));

function tinySet(n: number, classes = 4): data.ImageSet {
  const images = Uint8Array.from({ length: n * 28 * 28 }, (_, i) => (i * 2654435761) >>> 24);
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % classes), count: n, height: 28, width: 28, channels: 1, classes };
}

describe('sgdAgc non-finite guard', () => {
  const opts = { lr: 0.1, momentum: 0.9, weightDecay: 0.01, clipping: 0.01, guardNonFinite: true };

  it('a NaN or ∞ in any gradient, or a non-finite loss, leaves weights and momentum untouched', async () => {
    const w = f32([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = f32([0.5, -0.5, 0.25], [3]);
    const opt = optim.sgdAgc([w, b], opts);
    opt.step([f32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3]), f32([0.1, 0.1, 0.1], [3])]);
    const [w1, b1] = await read([w, b]);
    const m1 = (await opt.readMomentum()).map((m) => Array.from(m));
    for (const bad of [NaN, Infinity, -Infinity]) {
      opt.step([f32([0.1, 0.2, bad, 0.4, 0.5, 0.6], [2, 3]), f32([0.1, 0.1, 0.1], [3])]);
      opt.step([f32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3]), f32([0.1, bad, 0.1], [3])]);
      opt.step([f32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3]), f32([0.1, 0.1, 0.1], [3])], { loss: f32([bad], []) });
    }
    expect(await read([w, b])).toEqual([w1, b1]);
    expect((await opt.readMomentum()).map((m) => Array.from(m))).toEqual(m1);
    // A clean step after them moves the weights again.
    opt.step([f32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3]), f32([0.1, 0.1, 0.1], [3])], { loss: f32([1.5], []) });
    expect((await read([w]))[0]).not.toEqual(w1);
    expect((await read([w]))[0]!.every(Number.isFinite)).toBe(true);
    opt.dispose();
  });

  it('without the guard (the default for a bare optimizer) a NaN gradient does poison the weights: the guard is what stops it', async () => {
    const w = f32([1, 2, 3, 4], [2, 2]);
    const opt = optim.sgdAgc([w], { lr: 0.1, clipping: 0 });
    opt.step([f32([0.1, NaN, 0.3, 0.4], [2, 2])]);
    expect((await w.data()).some(Number.isNaN)).toBe(true);
    opt.dispose();
  });
});

describe('Trainer with non-finite data', () => {
  it('a batch-normalized model: a skipped step leaves the running statistics as they were (its forward had updated them with the bad batch)', async () => {
    const model = models.create('resnet_tiny', { seed: 1, numClasses: 4, channels: [4, 8, 8] });
    const trainer = new nfnet.Trainer(model, { totalSteps: 20, lr: 0.1, seed: 2 });
    const loader = new data.DataLoader(tinySet(8), { batchSize: 4, seed: 3, cropSize: 12 });
    const [clean] = [...loader.epoch()];
    const runningOf = async () => [...(await model.state.read())].filter(([name]) => /running_(mean|var)$/.test(name));
    const initial = await runningOf();
    expect(initial.length).toBeGreaterThan(0);
    expect((await trainer.trainStep(clean!)).skipped).toBe(false);
    const before = await runningOf();
    expect(before).not.toEqual(initial); // a clean step moves them
    const images = clean!.images.slice();
    images[5] = NaN;
    expect((await trainer.trainStep({ ...clean!, images })).skipped).toBe(true);
    expect(await runningOf()).toEqual(before);
    expect((await trainer.trainStep(clean!)).skipped).toBe(false);
    expect(await runningOf()).not.toEqual(before);
    trainer.dispose();
    model.dispose();
  });

  it('a NaN, +∞ or 1e30 pixel: the step is skipped and reported, weights/momentum/EMA unchanged, the next clean step trains', async () => {
    const model = nfnet.create('pico', { seed: 1, numClasses: 4 });
    const trainer = new nfnet.Trainer(model, { totalSteps: 20, lr: 0.1, seed: 2 });
    const loader = new data.DataLoader(tinySet(8), { batchSize: 4, seed: 3 });
    const [clean] = [...loader.epoch()];
    expect((await trainer.trainStep(clean!)).skipped).toBe(false);
    const before = { w: await model.state.read(), m: await trainer.optimizer.readMomentum(), e: await trainer.ema!.state.read() };
    for (const poison of [NaN, Infinity, 1e30]) {
      const images = clean!.images.slice();
      images[17] = poison;
      const r = await trainer.trainStep({ ...clean!, images });
      expect(r.skipped, `pixel ${poison}`).toBe(true);
    }
    expect(trainer.skippedSteps).toBe(3);
    expect(await model.state.read()).toEqual(before.w);
    expect(await trainer.optimizer.readMomentum()).toEqual(before.m);
    expect(await trainer.ema!.state.read()).toEqual(before.e);
    const after = await trainer.trainStep(clean!);
    expect(after.skipped).toBe(false);
    expect(Number.isFinite(after.loss)).toBe(true);
    for (const v of (await model.state.read()).values()) expect(v.every(Number.isFinite)).toBe(true);
    trainer.dispose();
    model.dispose();
  });

  it('a label outside [0, classes) or a batch of the wrong shape is a typed error before any GPU work', async () => {
    const model = nfnet.create('pico', { seed: 1, numClasses: 4 });
    const trainer = new nfnet.Trainer(model, { totalSteps: 5 });
    const loader = new data.DataLoader(tinySet(4), { batchSize: 4 });
    const [clean] = [...loader.epoch()];
    const before = gpu().counters().dispatches;
    await expect(trainer.trainStep({ ...clean!, labels: Int32Array.of(0, 1, 200, 3) })).rejects.toThrow(/label 200 at index 2 is outside \[0, 4\)/);
    await expect(trainer.trainStep({ ...clean!, labels: Int32Array.of(0, 1, -1, 3) })).rejects.toThrow(ValueError);
    await expect(trainer.trainStep({ ...clean!, shape: [4, 28, 28, 3] })).rejects.toThrow(/takes 1 channels/);
    await expect(trainer.trainStep({ ...clean!, images: clean!.images.subarray(1) })).rejects.toThrow(/needs 3136 pixels/);
    expect(gpu().counters().dispatches).toBe(before);
    trainer.dispose();
    model.dispose();
  });

  it('fit stops after maxSkippedInARow non-finite steps in a row, with a message', async () => {
    const model = nfnet.create('pico', { seed: 1, numClasses: 4 });
    const trainer = new nfnet.Trainer(model, { totalSteps: 10, lr: 0.1 });
    // Every batch carries a NaN pixel.
    class Poisoned extends data.DataLoader {
      override *epoch(skip = 0): Generator<data.Batch> {
        for (const b of super.epoch(skip)) {
          b.images[5] = NaN;
          yield b;
        }
      }
    }
    const loader = new Poisoned(tinySet(16), { batchSize: 4 });
    const r = await trainer.fit(loader, { epochs: 1, maxSkippedInARow: 2, pipeline: false });
    expect(r.diverged).toBe(true);
    expect(r.skippedSteps).toBe(2);
    expect(r.message).toMatch(/last 2 steps had a non-finite loss or gradient and were skipped/);
    for (const v of (await model.state.read()).values()) expect(v.every(Number.isFinite)).toBe(true);
    trainer.dispose();
    model.dispose();
  });
});
