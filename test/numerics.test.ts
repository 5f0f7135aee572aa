// The opt-in numerics check: init({ checkNumerics: true }) names the op that made the first
// NaN or ±∞, at the next readback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { data, init, nfnet, ops, tensor, NumericsError, type Gpu } from '../src/index.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await init({ verbose: false, checkNumerics: true });
});
afterAll(async () => {
  await gpu.dispose();
});

describe('checkNumerics', () => {
  it('names the first op whose output is not finite, not the ops that carried the NaN on', async () => {
    const a = tensor(Float32Array.of(1, 2, 3));
    const b = ops.mulScalar(a, 2); // 2, 4, 6
    const c = ops.log(ops.addScalar(b, -3)); // log(-1) = NaN
    const d = ops.exp(ops.mulScalar(c, 2)); // NaN carried on
    const err = await d.data().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NumericsError);
    expect(String(err)).toMatch(/op 'log' produced the first non-finite value/);
    expect(String(err)).toMatch(new RegExp(`output #${c.id} \\[3\\] f32`));
    // Verified and reset: a finite computation afterwards reads back normally.
    expect(Array.from(await ops.mulScalar(a, 3).data())).toEqual([3, 6, 9]);
    const inf = ops.exp(tensor(Float32Array.of(100))); // overflows to +∞
    await expect(ops.add(inf, 1).data()).rejects.toThrow(/op 'exp' produced the first non-finite value/);
    for (const t of [a, b, c, d, inf]) t.dispose();
  });

  it('in a training step with a NaN pixel, the error names an op of the forward pass', async () => {
    const model = nfnet.create('pico', { seed: 1, numClasses: 4 });
    const trainer = new nfnet.Trainer(model, { totalSteps: 5 });
    const set: data.ImageSet = {
      images: Uint8Array.from({ length: 4 * 784 }, (_, i) => i % 200), labels: Int32Array.of(0, 1, 2, 3), count: 4, height: 28, width: 28, channels: 1, classes: 4,
    };
    const [batch] = [...new data.DataLoader(set, { batchSize: 4 }).epoch()];
    batch!.images[100] = NaN;
    await expect(trainer.trainStep(batch!)).rejects.toThrow(NumericsError);
    trainer.dispose();
    model.dispose();
  });
});
