// `nfnet train` end to end on a slice of Fashion-MNIST (Debian's dataset-fashion-mnist,
// installed by the pretest script): the pipelined loop books every step once, in order,
// and writes the curve and the checkpoint.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { checkTrainArgs, learningCurveChart, train, type TrainArgs, type TrainResult } from '../src/cli/train.js';
import { renderSvg } from '../src/report/plot.js';
import { loadCheckpoint } from '../src/nfnet/checkpoint-node.js';
import { parseSetting } from '../src/cli/settings.js';
import { TRAIN_DEFAULTS } from '../src/nfnet/defaults.js';

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
    await expect(train(args('sam-bad', { maxSteps: 1, epochs: 1, samRho: Number.NaN }))).rejects.toThrow(/--sam-rho must be a number > 0, got NaN/);
    expect(existsSync(path.join(dir, 'sam-bad'))).toBe(false);
  }, 120_000);
  it('every numeric flag out of range is refused by its name before the data, the GPU or the out dir', async () => {
    const bad: [Partial<TrainArgs>, RegExp][] = [
      [{ epochs: 0 }, /--epochs must be an integer >= 1, got 0/],
      [{ batch: 2.5 }, /--batch must be an integer >= 1, got 2\.5/],
      [{ maxSteps: 0 }, /--max-steps must be an integer >= 1, got 0/],
      [{ subset: -3 }, /--subset must be an integer >= 1, got -3/],
      [{ seed: Number.NaN }, /--seed must be an integer >= 0, got NaN/],
      [{ crop: -1 }, /--crop must be an integer >= 0, got -1/],
      [{ lr: 0 }, /--lr must be a number > 0, got 0/],
      [{ warmup: -0.1 }, /--warmup must be a number >= 0, got -0\.1/],
      [{ clipping: Number.POSITIVE_INFINITY }, /--clipping must be a number >= 0, got Infinity/],
      [{ dropout: 1 }, /--dropout must be a number >= 0 and < 1, got 1/],
      [{ stochasticDepth: -0.5 }, /--stochastic-depth must be a number >= 0 and < 1, got -0\.5/],
      [{ labelSmoothing: 1 }, /--label-smoothing must be a number >= 0 and < 1, got 1/],
      [{ weightDecay: -1e-4 }, /--weight-decay must be a number >= 0, got -0\.0001/],
      [{ momentum: 1 }, /--momentum must be a number >= 0 and < 1, got 1/],
      [{ schedule: 'step' as never }, /--schedule must be one of cosine, linear, got step/],
    ];
    for (const [over, message] of bad) {
      // A data folder that does not exist: reading it would fail with another error.
      expect(() => checkTrainArgs(args('bad-flag', { data: 'folder', dataDir: '/nonexistent', ...over }))).toThrow(message);
      await expect(train(args('bad-flag', { data: 'folder', dataDir: '/nonexistent', ...over }))).rejects.toThrow(message);
    }
    expect(existsSync(path.join(dir, 'bad-flag'))).toBe(false);
    expect(() => checkTrainArgs(args('good', { maxSteps: 1, evalEvery: 2, lr: 0.1, warmup: 0, clipping: 0, dropout: 0, logEvery: 0 }))).not.toThrow();
  });
  it('--label-smoothing, --weight-decay, --momentum and --schedule reach the Trainer and the checkpoint; absent, the defaults', async () => {
    await train(args('ls0', { maxSteps: 1, epochs: 1, labelSmoothing: 0, weightDecay: 5e-4, momentum: 0.8, schedule: 'linear' }));
    const set = loadCheckpoint(path.join(dir, 'ls0', 'checkpoint.safetensors')).trainOptions;
    expect([set?.labelSmoothing, set?.weightDecay, set?.momentum, set?.schedule]).toEqual([0, 5e-4, 0.8, 'linear']);
    await train(args('ls-default', { maxSteps: 1, epochs: 1 }));
    const unset = loadCheckpoint(path.join(dir, 'ls-default', 'checkpoint.safetensors')).trainOptions;
    expect([unset?.labelSmoothing, unset?.weightDecay, unset?.momentum, unset?.schedule]).toEqual([TRAIN_DEFAULTS.labelSmoothing, TRAIN_DEFAULTS.weightDecay, TRAIN_DEFAULTS.momentum, TRAIN_DEFAULTS.schedule]);
  }, 120_000);
  it('--resume with other flags names each option that changes the course, and only those', async () => {
    await train(args('resume-from', { maxSteps: 1, epochs: 1, weightDecay: 5e-4 }));
    const from = path.join(dir, 'resume-from', 'checkpoint.safetensors');
    const warned: string[] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation((line: string) => void warned.push(line));
    try {
      await train(args('resumed-same', { maxSteps: 2, epochs: 1, weightDecay: 5e-4, resume: from }));
      expect(warned).toEqual([]);
      await train(args('resumed-other', { maxSteps: 2, epochs: 1, weightDecay: 1e-3, schedule: 'linear', resume: from }));
    } finally {
      spy.mockRestore();
    }
    expect(warned).toEqual(['--resume: schedule was "cosine" in the checkpoint, is "linear" now', '--resume: weightDecay was 0.0005 in the checkpoint, is 0.001 now']);
  }, 120_000);
  it('--eval-every 2 over three epochs evaluates after epochs 2 and 3 (the last), not 1', async () => {
    const r = await train(args('eval-every', { epochs: 3, subset: 32, evalEvery: 2 }));
    expect(r.epochs.map((e) => [e.testAccuracy === null, e.testAccuracyEma === null])).toEqual([[true, true], [false, false], [false, false]]);
    await expect(train(args('eval-every-bad', { epochs: 1, evalEvery: 0 }))).rejects.toThrow(/--eval-every must be an integer >= 1, got 0/);
    expect(existsSync(path.join(dir, 'eval-every-bad'))).toBe(false);
  }, 120_000);

  it('--set key=value: JSON, comma lists and strings; anything without a key is refused', () => {
    expect(parseSetting('widths=48,96')).toEqual({ key: 'widths', value: [48, 96] });
    expect(parseSetting('depths=[1,2]')).toEqual({ key: 'depths', value: [1, 2] });
    expect(parseSetting(' alpha = 0.25')).toEqual({ key: 'alpha', value: 0.25 });
    expect(parseSetting('stemPool=false')).toEqual({ key: 'stemPool', value: false });
    expect(parseSetting('activation=silu')).toEqual({ key: 'activation', value: 'silu' });
    expect(parseSetting('stem=[{"channels":8,"stride":2,"kernel":3}]')).toEqual({ key: 'stem', value: [{ channels: 8, stride: 2, kernel: 3 }] });
    expect(parseSetting('widths')).toBeNull();
    expect(parseSetting('=4')).toBeNull();
  });

  it('--set overrides reach the model and its checkpoint; a misspelt field is refused before anything is written', async () => {
    const r = await train(args('set', { maxSteps: 1, epochs: 1, set: { widths: [8, 16], depths: [1, 2], groupWidth: 16 }, tta: true }));
    expect(r.epochs[0]!.testAccuracy).toBeGreaterThanOrEqual(0);
    const ck = loadCheckpoint(path.join(dir, 'set', 'checkpoint.safetensors'));
    expect(ck.config).toMatchObject({ variant: 'pico', widths: [8, 16], depths: [1, 2], groupWidth: 16 });
    await expect(train(args('set-bad', { maxSteps: 1, epochs: 1, set: { widht: [8, 16] } }))).rejects.toThrow(/unknown option 'widht' \(did you mean 'widths'\?\)/);
    expect(existsSync(path.join(dir, 'set-bad'))).toBe(false);
  }, 120_000);

  it('the curve with one evaluation (--eval-every = epochs): every epoch keeps a point (its training accuracy), steps span the run, axes in percent', async () => {
    const epoch = (e: number, tested: boolean) => ({
      epoch: e, step: 100 * e, trainLoss: 1 / e, trainAccuracy: [0.75, 0.8, 0.85][e - 1]!, testLoss: tested ? 0.3 : null,
      testAccuracy: tested ? 0.9258 : null, testAccuracyEma: tested ? 0.9257 : null, imagesPerSecond: 300, minutes: 3 * e,
    });
    const result: TrainResult = {
      args: args('unused'), adapter: 'test', params: 1, epochs: [epoch(1, false), epoch(2, false), epoch(3, true)],
      steps: Array.from({ length: 300 }, (_, i) => ({ step: i + 1, loss: 2 / (i + 1), lr: 0.1 })), minutes: 9, diverged: false, skippedSteps: 0,
    };
    const chart = learningCurveChart(result);
    const accuracy = chart.hconcat[1]!.data.values;
    expect(accuracy.filter((p) => p.series === 'train accuracy (epoch mean)').map((p) => p.value)).toEqual([0.75, 0.8, 0.85]);
    expect(accuracy.filter((p) => p.series.startsWith('test accuracy')).map((p) => [p.step, p.value])).toEqual([[300, 0.9258], [300, 0.9257]]);
    expect(chart.hconcat[1]!.encoding.x.scale.domain).toEqual([0, 300]);
    const svg = await renderSvg(chart);
    expect(svg).toMatch(/>\d\d\.\d%</); // accuracy ticks in percent
    expect(svg).not.toMatch(/\.0{4,}/); // no step or accuracy tick printed with six decimals
  });
});
