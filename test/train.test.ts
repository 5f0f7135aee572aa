// The training step: schedule, one small readback per step, and that it learns.
import { describe, expect, it } from 'vitest';
import { data, nfnet, noGrad, tensor, ValueError } from '../src/index.js';
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

  it("learning rate, schedule 'linear': the same warm-up, then a straight line to zero", () => {
    const lr = (s: number) => nfnet.learningRate(s, 0.4, 10, 110, 'linear');
    expect(lr(9)).toBeCloseTo(0.4, 12);
    expect(lr(35)).toBeCloseTo(0.3, 12);
    expect(lr(60)).toBeCloseTo(0.2, 12);
    expect(lr(85)).toBeCloseTo(0.1, 12);
    expect(lr(110)).toBeCloseTo(0, 12);
    expect(nfnet.resolveTrainOptions({ totalSteps: 10 }).schedule).toBe('cosine');
    expect(() => nfnet.resolveTrainOptions({ totalSteps: 10, schedule: 'step' as never })).toThrow(/schedule must be one of 'cosine', 'linear', got "step"/);
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

  it('mirrored: each row of an NHWC batch reversed along W, channels kept together', () => {
    // 2 images of 1×3 pixels, 2 channels: pixel (n, x) holds [10n + x, -(10n + x)].
    const images = Float32Array.from([0, -0, 1, -1, 2, -2, 10, -10, 11, -11, 12, -12]);
    expect([...data.mirrored(images, [2, 1, 3, 2])]).toEqual([2, -2, 1, -1, 0, -0, 12, -12, 11, -11, 10, -10]);
  });

  it('flip test-time augmentation scores the mean of the logits of each image and its mirror (float64 reference)', async () => {
    const model = nfnet.create('pico', { seed: 4, numClasses: 4 });
    const set = stripes(12);
    // Stripes are mirror-symmetric up to a shift; a ramp makes each image differ from its mirror.
    for (let i = 0; i < set.count; i++) for (let p = 0; p < 784; p++) set.images[i * 784 + p] = (set.images[i * 784 + p]! + 8 * (p % 28)) % 256;
    const loader = new data.DataLoader(set, { batchSize: 5, keepLast: true });
    let loss = 0;
    let correct = 0;
    for (const batch of loader.epoch()) {
      const [n, h, w] = batch.shape as [number, number, number, number];
      const flipped = new Float32Array(batch.images.length);
      for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) flipped[(i * h + y) * w + x] = batch.images[(i * h + y) * w + (w - 1 - x)]!;
      const logitsOf = async (images: Float32Array) => {
        const out = noGrad(() => model.forward(tensor(images, batch.shape)));
        const values = await out.data();
        out.dispose();
        return values;
      };
      const [own, mirror] = [await logitsOf(batch.images), await logitsOf(flipped)];
      for (let i = 0; i < n; i++) {
        const z = [0, 1, 2, 3].map((k) => (own[i * 4 + k]! + mirror[i * 4 + k]!) / 2);
        const top = Math.max(...z);
        loss += top + Math.log(z.reduce((t, v) => t + Math.exp(v - top), 0)) - z[batch.labels[i]!]!;
        correct += z[batch.labels[i]!]! >= top ? 1 : 0;
      }
    }
    const tta = await nfnet.evaluate(model, loader, { flip: true });
    expect(tta.count).toBe(12);
    expect(tta.loss).toBeCloseTo(loss / 12, 4);
    expect(tta.accuracy).toBe(correct / 12);
    const plain = await nfnet.evaluate(model, loader);
    expect(Math.abs(plain.loss - tta.loss)).toBeGreaterThan(1e-4); // the mirror changed something
    await expect(nfnet.evaluate(model, loader, { flip: 1 as unknown as boolean })).rejects.toThrow(ValueError);
    model.dispose();
  });

  it('rejects a bad schedule before any GPU work', () => {
    const model = nfnet.create('pico');
    expect(() => new nfnet.Trainer(model, { totalSteps: 0 })).toThrow(ValueError);
    expect(() => new nfnet.Trainer(model, { totalSteps: 5, lr: -1 })).toThrow(/lr must be > 0, got -1/);
    model.dispose();
  });
});
