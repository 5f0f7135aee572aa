// The training step: schedule, one small readback per step, and that it learns.
import { describe, expect, it } from 'vitest';
import { data, nfnet, ValueError } from '../src/index.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

function stripes(n: number): data.ImageSet {
  // Four textures a globally pooled network can tell apart: horizontal stripes, vertical
  // stripes, a checkerboard, and flat grey (position alone would be pooled away).
  const images = new Uint8Array(n * 28 * 28);
  const labels = new Int32Array(n);
  const texture = [(y: number) => y % 4 < 2, (_: number, x: number) => x % 4 < 2, (y: number, x: number) => (y + x) % 4 < 2, () => false];
  for (let i = 0; i < n; i++) {
    labels[i] = i % 4;
    const phase = (i >> 2) % 4;
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) images[i * 784 + y * 28 + x] = texture[labels[i]!]!(y + phase, x + phase) ? 230 : labels[i] === 3 ? 120 : 25;
  }
  return { images, labels, count: n, height: 28, width: 28, channels: 1, classes: 4 };
}

describe('training', () => {
  it('learning rate: linear warm-up to the peak, cosine to zero', () => {
    const lr = (s: number) => nfnet.learningRate(s, 0.4, 10, 110);
    expect(lr(0)).toBeCloseTo(0.04, 12);
    expect(lr(9)).toBeCloseTo(0.4, 12);
    expect(lr(10)).toBeCloseTo(0.4, 12);
    expect(lr(60)).toBeCloseTo(0.2, 12);
    expect(lr(110)).toBeCloseTo(0, 12);
  });

  it('a step reads back one 2-element tensor, and the model learns a separable task', async () => {
    const model = nfnet.create('pico', { seed: 2, numClasses: 4 });
    const trainer = new nfnet.Trainer(model, { totalSteps: 20, lr: 0.2, warmupSteps: 2, seed: 1 });
    const loader = new data.DataLoader(stripes(32), { batchSize: 16, shuffle: true, seed: 3 });
    const losses: number[] = [];
    let accuracy = 0;
    for (let epoch = 0; epoch < 10; epoch++) {
      for (const batch of loader.epoch()) {
        const before = gpu().counters();
        const r = await trainer.trainStep(batch);
        const after = gpu().counters();
        expect(after.readbacks - before.readbacks).toBe(1);
        expect(after.submits - before.submits).toBeLessThanOrEqual(2);
        losses.push(r.loss);
        accuracy = r.correct / r.count;
      }
    }
    expect(losses[losses.length - 1]!).toBeLessThan(0.5 * losses[0]!);
    expect(accuracy).toBeGreaterThan(0.4);
    const evalLoader = new data.DataLoader(stripes(16), { batchSize: 8, keepLast: true, mean: loader.mean, std: loader.std });
    const live = await trainer.evaluate(evalLoader);
    expect(live.accuracy).toBeGreaterThan(0.5); // chance is 0.25
    const ema = await trainer.evaluate(evalLoader, { useEma: true });
    expect(ema.count).toBe(16);
    // Evaluating with the EMA swaps the live weights back afterwards.
    expect((await trainer.evaluate(evalLoader)).accuracy).toBe(live.accuracy);
    trainer.dispose();
    model.dispose();
  });

  it('submitted steps, recorded before earlier results are awaited, match one-at-a-time steps exactly', async () => {
    const run = async (pipelined: boolean) => {
      const model = nfnet.create('pico', { seed: 4, numClasses: 4 });
      const trainer = new nfnet.Trainer(model, { totalSteps: 6, lr: 0.2, warmupSteps: 1, seed: 5 });
      const loader = new data.DataLoader(stripes(48), { batchSize: 16, shuffle: true, seed: 6 });
      const results: nfnet.StepResult[] = [];
      if (pipelined) {
        const pending: nfnet.PendingStep[] = [];
        for (const batch of loader.epoch()) pending.push(await trainer.submitStep(batch)); // all three before any result
        for (const p of pending) results.push(await p.result);
      } else {
        for (const batch of loader.epoch()) results.push(await trainer.trainStep(batch));
      }
      const weights = await model.state.params[0]!.data();
      trainer.dispose();
      model.dispose();
      return { results, weights };
    };
    const one = await run(false);
    const piped = await run(true);
    expect(piped.results.map((r) => r.step)).toEqual([1, 2, 3]);
    expect(piped.results).toEqual(one.results);
    expect(Array.from(piped.weights)).toEqual(Array.from(one.weights));
  });

  it('rejects a bad schedule before any GPU work', () => {
    const model = nfnet.create('pico');
    expect(() => new nfnet.Trainer(model, { totalSteps: 0 })).toThrow(ValueError);
    expect(() => new nfnet.Trainer(model, { totalSteps: 5, lr: -1 })).toThrow(/lr must be > 0, got -1/);
    model.dispose();
  });
});
