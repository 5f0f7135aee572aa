// `nfnet train` end to end on a slice of Fashion-MNIST (Debian's dataset-fashion-mnist,
// installed by the pretest script): the pipelined loop books every step once, in order,
// and writes the curve and the checkpoint.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { train, type TrainArgs } from '../src/cli/train.js';
import { loadCheckpoint } from '../src/nfnet/checkpoint-node.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nfnet-cli-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function args(out: string, extra: Partial<TrainArgs> = {}): TrainArgs {
  return {
    data: 'fashion-mnist', subset: 64, testSubset: 32, variant: 'pico', epochs: 2, batch: 16, lr: 0.1, warmup: 0.5,
    clipping: 0.01, agc: true, seed: 0, out: path.join(dir, out), fast: true, progress: false, evalEma: true,
    logEvery: 0, crop: 2, agcSkipGains: false, ...extra,
  };
}

describe('nfnet train', () => {
  it('two epochs: every step booked once and in order, per-epoch test accuracy, curve and checkpoint written', async () => {
    const r = await train(args('two-epochs'));
    expect(r.diverged).toBe(false);
    expect(r.steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(r.steps.every((s) => Number.isFinite(s.loss))).toBe(true);
    expect(r.epochs.map((e) => e.step)).toEqual([4, 8]);
    for (const e of r.epochs) {
      expect(e.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(e.testAccuracyEma).toBeLessThanOrEqual(1);
      expect(e.trainLoss).toBeGreaterThan(0);
    }
    const curve = JSON.parse(readFileSync(path.join(dir, 'two-epochs', 'curve.json'), 'utf8'));
    expect(curve.steps).toHaveLength(8);
    expect(existsSync(path.join(dir, 'two-epochs', 'curve.png'))).toBe(true);
    expect(existsSync(path.join(dir, 'two-epochs', 'checkpoint.safetensors'))).toBe(true);
  }, 120_000);

  it('--max-steps stops after that many steps, with the step in flight booked', async () => {
    const r = await train(args('max-steps', { maxSteps: 3, epochs: 1 }));
    expect(r.steps.map((s) => s.step)).toEqual([1, 2, 3]);
    expect(r.epochs).toHaveLength(1);
    expect(r.epochs[0]!.step).toBe(3);
  }, 120_000);

  it('--sam-rho trains with SAM, recorded in the checkpoint\'s options; a bad ρ is refused before training', async () => {
    const r = await train(args('sam', { maxSteps: 2, epochs: 1, samRho: 0.05 }));
    expect(r.steps.map((s) => s.step)).toEqual([1, 2]);
    expect(r.steps.every((s) => Number.isFinite(s.loss))).toBe(true);
    expect(loadCheckpoint(path.join(dir, 'sam', 'checkpoint.safetensors')).trainOptions?.sam).toEqual({ rho: 0.05 });
    await expect(train(args('sam-bad', { maxSteps: 1, epochs: 1, samRho: Number.NaN }))).rejects.toThrow(/sam\.rho must be a finite number > 0, got NaN/);
    expect(existsSync(path.join(dir, 'sam-bad'))).toBe(false);
  }, 120_000);
});
