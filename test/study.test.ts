// `nfnet study`: the power-law fit against exact synthetic laws, the typed errors (before any
// training), the quick budget of the studies whose models are registered, on ~100
// Fashion-MNIST images at 12 px, and resuming after a run that throws and after an abort.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useGpu } from './setup.js';
import { modelNames } from '../src/models/registry.js';
import { ValueError } from '../src/runtime/errors.js';
import { fitPowerLaw, powerLawAt } from '../src/study/power-law.js';
import { planStudy, runStudy } from '../src/study/runner.js';
import { getStudy } from '../src/study/studies.js';
import { MissingModelError, StudyError, type RunResult, type RunSpec } from '../src/study/types.js';
import { timeToTarget } from '../src/study/speed.js';
import { smoothedLoss } from '../src/study/sam.js';
import { bestPoints, frontier } from '../src/study/scaling.js';
import { MODELS as NORMALIZATION_MODELS, primitiveCost } from '../src/study/normalization.js';
import { MODELS as SPEED_MODELS } from '../src/study/speed.js';
import { MODELS as BATCH_MODELS } from '../src/study/batch-size.js';
import { MODELS as SCALING_MODELS } from '../src/study/scaling.js';
import { study as studyCli } from '../src/cli/study.js';
import { modelOverrides } from '../src/study/train-run.js';
import { blewUp, outcome } from '../src/study/recipe.js';
import type { StudyData } from '../src/study/data.js';

useGpu();
const dir = mkdtempSync(path.join(tmpdir(), 'nfnet-study-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const registered = (table: Record<string, { name: string }>) => Object.values(table).every((m) => modelNames().includes(m.name));
const isPng = (file: string) => readFileSync(file).subarray(1, 4).toString('latin1') === 'PNG';
const readRun = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;

describe('fitPowerLaw', () => {
  it('recovers an exact law y = a·x^b, and its predictions', () => {
    const xs = [1e6, 3e6, 1e7, 4e7, 2e8, 1e9];
    const ys = xs.map((x) => 3.2 * x ** -0.37);
    const f = fitPowerLaw(xs, ys);
    expect(f.a / 3.2).toBeCloseTo(1, 10);
    expect(f.b).toBeCloseTo(-0.37, 12);
    expect(f.r2).toBeCloseTo(1, 12);
    expect(powerLawAt(f, 5e7) / (3.2 * 5e7 ** -0.37)).toBeCloseTo(1, 10);
  });

  it('is the least-squares line in log space when the points scatter (against the closed form by hand)', () => {
    // log-log points (0, 0), (1, 1), (2, 3): slope 1.5, intercept −1/6; residuals 1/6, −1/3, 1/6.
    const f = fitPowerLaw([1, Math.E, Math.E ** 2], [1, Math.E, Math.E ** 3]);
    expect(f.b).toBeCloseTo(1.5, 12);
    expect(Math.log(f.a)).toBeCloseTo(-1 / 6, 12);
    // SSE = 1/36 + 1/9 + 1/36 = 1/6; total = 16/9 + 1/9 + 25/9 = 14/3; R² = 1 − (1/6)/(14/3) = 27/28.
    expect(f.r2).toBeCloseTo(27 / 28, 12);
  });

  it('refuses fewer than two points, non-positive values and a single x, with typed errors', () => {
    expect(() => fitPowerLaw([1], [1])).toThrow(ValueError);
    expect(() => fitPowerLaw([1, 2], [1, 0])).toThrow(/> 0/);
    expect(() => fitPowerLaw([1, 2], [1])).toThrow(ValueError);
    expect(() => fitPowerLaw([3, 3], [1, 2])).toThrow(/same/);
  });
});

describe('study helpers', () => {
  it('timeToTarget interpolates between evaluations and says null when never reached', () => {
    const curve = [
      { step: 1, examples: 16, seconds: 1, testAccuracy: 0.2, testLoss: 2 },
      { step: 2, examples: 32, seconds: 3, testAccuracy: 0.6, testLoss: 1 },
    ];
    expect(timeToTarget(curve, 0.5)).toBeCloseTo(2.5, 12);
    expect(timeToTarget(curve, 0.1)).toBe(1);
    expect(timeToTarget(curve, 0.7)).toBeNull();
  });

  it('normalization: the share of a profiled step each primitive\'s kernels take, from the kernel names', () => {
    const profile = { mode: 'wall', steps: 2, totalMs: 100, kernels: [
      { kernel: 'batch-norm/apply_fwd', calls: 4, totalMs: 10 }, { kernel: 'batch-norm/grad_final', calls: 4, totalMs: 15 },
      { kernel: 'weight-standardize/stats_fwd', calls: 6, totalMs: 5 }, { kernel: 'conv2d/fwd', calls: 6, totalMs: 70 },
    ] };
    expect(primitiveCost(profile)).toEqual({ batchNorm: { share: 0.25, msPerStep: 12.5 }, weightStandardization: { share: 0.05, msPerStep: 2.5 } });
    expect(primitiveCost(null)).toBeNull();
  });

  it('scaling: best lr per (model, epochs) ignoring diverged runs; the frontier keeps only points no cheaper point beats', () => {
    const run = (depth: number, epochs: number, lr: number, loss: number, flops: number, diverged = false) =>
      ({ spec: { tags: { family: 'nfnet', depth, width: 16, epochs, lr }, lr }, model: { params: depth * 100 }, flops, final: { testLoss: loss, testAccuracy: 0.5 }, diverged }) as unknown as RunResult;
    const pts = bestPoints([run(1, 1, 0.4, 2.0, 10), run(1, 1, 1.6, 1.8, 10), run(1, 1, 3.2, 0.1, 10, true), run(2, 1, 0.4, 1.9, 20), run(1, 2, 0.4, 1.5, 20), run(2, 2, 1.6, 1.2, 40)]);
    expect(pts.find((p) => p.size === 'd1-w16' && p.epochs === 1)).toMatchObject({ loss: 1.8, bestLr: 1.6 });
    expect(frontier(pts).map((p) => p.loss)).toEqual([1.8, 1.5, 1.2]);
  });
});

describe('nfnet study: typed errors before any training', () => {
  it('an unknown study, with did-you-mean; a bad budget; an unknown part or model role', async () => {
    expect(() => getStudy('batchsize')).toThrow(/unknown study 'batchsize' \(did you mean 'batch-size'\?\)/);
    await expect(runStudy('scalling')).rejects.toThrow(/did you mean 'scaling'/);
    await expect(runStudy('sam', { budget: 'medium' as 'quick' })).rejects.toThrow(/budget must be one of 'quick', 'full', 'long'/);
    await expect(runStudy('batch-size', { only: ['agc'] })).rejects.toThrow(/no part 'agc'.*parts: nf, bn/);
    await expect(runStudy('batch-size', { models: { resnet: 'resnet_tiny' } })).rejects.toThrow(/no model role 'resnet'/);
    await expect(studyCli('nope', { budget: 'quick', out: dir, data: 'fashion-mnist', fast: true, progress: false })).rejects.toThrow(ValueError);
    await expect(studyCli('sam', { budget: 'huge' as 'quick', out: dir, data: 'fashion-mnist', fast: true, progress: false })).rejects.toThrow(/--budget/);
  });

  it('a model the registry does not have: MissingModelError naming it and its role, nothing trained or written', async () => {
    const out = path.join(dir, 'missing');
    const started: string[] = [];
    const err = await runStudy('batch-size', { out, models: { bn: 'resnet_not_here' }, beforeRun: (s) => void started.push(s.id) }).catch((e) => e);
    expect(err).toBeInstanceOf(MissingModelError);
    expect(err.message).toMatch(/bn = 'resnet_not_here'/);
    expect(err.message).toMatch(/parts that do not need it \(nf\)/);
    expect(started).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });

  it('a bad override in a study model is refused before training (the registry\'s own check)', async () => {
    const out = path.join(dir, 'bad-override');
    await expect(runStudy('sam', { out, models: { nfnet: { name: 'nano', overrides: { widths: [64, 'wide'] } } } })).rejects.toThrow(ValueError);
    expect(existsSync(out)).toBe(false);
  });
});

describe('nfnet study --plan', () => {
  it('counts runs, steps and images without a GPU; full and long budgets are Fashion-MNIST at 28 px', () => {
    const quick = planStudy('batch-size', { only: ['nf'] });
    // Batch 8 and 64 over 128 examples, AGC on and off, plus lr 1.6 at batch 64 with and without AGC.
    expect(quick).toMatchObject({ runs: 6, steps: 2 * 16 + 4 * 2, examples: 6 * 128, data: { train: 128, resolution: 12 } });
    const full = planStudy('sam', { budget: 'full' });
    // Plain and SAM for 800 steps of 32 images; the equal-time arm planned at twice that until measured.
    expect(full).toMatchObject({ runs: 3, steps: 3200, data: { train: 60000, test: 2000, resolution: 28 } });
    expect(planStudy('scaling', { budget: 'full' }).data).toEqual({ train: 3000, test: 2000, resolution: 28 });
    const long = planStudy('batch-size', { budget: 'long' });
    expect(long).toMatchObject({ runs: 33, data: { train: 60000, test: 10000, resolution: 28 } });
    expect(() => planStudy('sam', { budget: 'full', only: ['nope'] })).toThrow(ValueError);
  });
});

describe('nfnet study, quick budget (NFNet-only parts)', () => {
  it('batch-size --only nf: NF ± AGC at batch 8 and 64 (and twice the lr at 64) after the same 128 examples; JSON, PNG, claims', async () => {
    const out = path.join(dir, 'quick');
    let last = { done: 0, total: 0 };
    const o = await runStudy('batch-size', { out, only: ['nf'], onProgress: (p) => (last = p) });
    expect(o.complete).toBe(true);
    const ids = o.results.map((r) => r.id).sort();
    expect(ids).toEqual(['nf-agc-b64', 'nf-agc-b8', 'nf-agc-highlr-b64', 'nf-noagc-b64', 'nf-noagc-b8', 'nf-noagc-highlr-b64']);
    for (const r of o.results) {
      expect(r.examples).toBe(128);
      expect(r.stepsDone * r.spec.batch).toBe(128);
      expect(r.spec.clipping > 0).toBe(r.id.includes('-agc'));
      expect(r.spec.lr).toBeCloseTo((r.id.includes('highlr') ? 2 : 1) * 0.15 * r.spec.batch / 32, 12);
      expect(r.losses).toHaveLength(r.stepsDone);
      expect(r.model.params).toBe(29164); // nano, 10 classes, 1 channel
      expect(r.final.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.flops).toBe(6 * r.model.macsPerImage * 128);
      expect(readRun(path.join(out, 'batch-size', 'runs', `quick-${r.id}.json`)).losses).toEqual(r.losses);
    }
    // One bar over the whole study: it ends at the study's total steps.
    expect(last.done).toBe(last.total);
    expect(last.total).toBe(2 * 16 + 4 * 2);
    const summary = JSON.parse(readFileSync(path.join(out, 'batch-size', 'summary-quick.json'), 'utf8'));
    expect(summary.rows).toHaveLength(6);
    expect(isPng(path.join(out, 'batch-size', 'quick-accuracy-vs-batch.png'))).toBe(true);
    const md = readFileSync(path.join(out, 'batch-size', 'claims-quick.md'), 'utf8');
    expect(md).toMatch(/Quick budget, not the replay/);
    expect(md).toMatch(/\| NF \+ AGC \| \d+\.\d% \| \d+\.\d% \|/);
  });

  it('scaling --only nfnet: a depth grid × 2 epoch budgets × 2 lrs; best lr per point, a power law on log-log axes', async () => {
    const out = path.join(dir, 'quick');
    const o = await runStudy('scaling', { out, only: ['nfnet'] });
    expect(o.results).toHaveLength(8);
    const s = o.summary as { points: { size: string; epochs: number; flops: number; loss: number; bestLr: number }[]; families: { family: string; fit: { b: number; points: number } | null; computeOptimal: unknown[]; bestLr: unknown[] }[] };
    expect(s.points).toHaveLength(4);
    for (const p of s.points) {
      const runs = o.results.filter((r) => `d${r.spec.tags.depth}-w${r.spec.tags.width}` === p.size && r.spec.tags.epochs === p.epochs && !r.diverged);
      expect(p.loss).toBe(Math.min(...runs.map((r) => r.final.testLoss)));
    }
    // Twice the epochs, twice the compute.
    const [d1e1, d1e2] = [1, 2].map((e) => s.points.find((p) => p.size === 'd1-w16' && p.epochs === e)!);
    expect(d1e2.flops / d1e1.flops).toBeCloseTo(2, 12);
    const nf = s.families.find((f) => f.family === 'nfnet')!;
    expect(nf.fit).not.toBeNull();
    expect(Number.isFinite(nf.fit!.b)).toBe(true);
    expect(nf.bestLr).toHaveLength(2);
    expect(isPng(path.join(out, 'scaling', 'quick-loss-vs-compute.png'))).toBe(true);
    expect(isPng(path.join(out, 'scaling', 'quick-best-lr.png'))).toBe(true);
  });

  it('normalization\'s machinery with NF models in both roles of a pair: held-out curves and a per-kernel profile', async () => {
    const o = await runStudy('normalization', { out: path.join(dir, 'quick-nf-only'), only: ['resnet'], models: { bnResnet: 'nano' } });
    expect(o.results.map((r) => r.model.name)).toEqual(['nf-resnet-26', 'nano']);
    for (const r of o.results) {
      // Evaluated every 4 of the 8 steps and at the end; the clock never runs backwards.
      expect(r.curve.map((c) => c.step)).toEqual([4, 8]);
      expect(r.curve[1]!.seconds).toBeGreaterThanOrEqual(r.curve[0]!.seconds);
      expect(r.profile!.steps).toBe(2);
      const cost = primitiveCost(r.profile)!;
      expect(cost.weightStandardization.share).toBeGreaterThan(0);
      expect(cost.weightStandardization.share).toBeLessThan(1);
      expect(cost.batchNorm.share).toBe(0);
    }
    expect(readFileSync(path.join(o.dir, 'claims-quick.md'), 'utf8')).toMatch(/weight-standardization kernels/);
  });

  it('sam, resumable: a run that throws, then an abort mid-run, then a rerun that trains only what is missing', async () => {
    const out = path.join(dir, 'resume');
    const runs = path.join(out, 'sam', 'runs');
    // 1. The hook after the first saved run throws (a crash): that run's result is on disk.
    await expect(runStudy('sam', { out, afterRun: (r) => { if (r.id === 'plain') throw new Error('killed'); } })).rejects.toThrow('killed');
    expect(readdirSync(runs).sort()).toEqual(['quick-plain.json']);
    const plainFirst = readFileSync(path.join(runs, 'quick-plain.json'), 'utf8');
    // 2. Abort in the middle of the SAM run: it is not saved; the plain run is read back, not trained.
    const controller = new AbortController();
    const started2: string[] = [];
    const o2 = await runStudy('sam', {
      out, signal: controller.signal, beforeRun: (s) => void started2.push(s.id),
      onProgress: (p) => { if (p.run === 'sam' && p.done >= 10) controller.abort(); },
    });
    expect(o2.complete).toBe(false);
    expect(o2.reused).toEqual(['plain']);
    expect(started2).toEqual(['sam']);
    expect(readdirSync(runs).sort()).toEqual(['quick-plain.json']);
    // 3. The rerun trains the two missing runs only and finishes the study.
    const started3: RunSpec[] = [];
    const o3 = await runStudy('sam', { out, beforeRun: (s) => void started3.push(s) });
    expect(o3.complete).toBe(true);
    expect(o3.reused).toEqual(['plain']);
    expect(started3.map((s) => s.id)).toEqual(['sam', 'plain-equal-time']);
    expect(readFileSync(path.join(runs, 'quick-plain.json'), 'utf8')).toBe(plainFirst);
    const [plain, sam, equalTime] = o3.results;
    // SAM: equal steps, two passes per step; the equal-time arm gets the steps that fit in SAM's time at the plain pace.
    expect(sam!.stepsDone).toBe(plain!.stepsDone);
    expect(sam!.flops).toBe(2 * plain!.flops);
    expect(equalTime!.stepsDone).toBe(Math.max(1, Math.round(sam!.trainSeconds / (plain!.trainSeconds / plain!.stepsDone))));
    expect(existsSync(path.join(out, 'sam', 'summary-quick.json'))).toBe(true);
    expect(isPng(path.join(out, 'sam', 'quick-loss.png'))).toBe(true);
    expect(isPng(path.join(out, 'sam', 'quick-loss-vs-time.png'))).toBe(true);
    // 4. A stored result made with other settings is refused, not silently reused or overwritten.
    const edited = { ...JSON.parse(plainFirst), spec: { ...JSON.parse(plainFirst).spec, lr: 0.2 } };
    writeFileSync(path.join(runs, 'quick-plain.json'), JSON.stringify(edited));
    await expect(runStudy('sam', { out })).rejects.toThrow(StudyError);
    // 5. So is one whose model was built with other overrides (the shared recipe is not in the spec).
    writeFileSync(path.join(runs, 'quick-plain.json'), JSON.stringify({ ...JSON.parse(plainFirst), model: { ...JSON.parse(plainFirst).model, overrides: { dropout: 0.1 } } }));
    await expect(runStudy('sam', { out })).rejects.toThrow(/other settings/);
  });
});

describe('sam: smoothed loss curves', () => {
  it('means over 50 windows of the finite losses, at each window\'s last step and its time at the mean pace', () => {
    const losses = Array.from({ length: 100 }, (_, i) => (i === 3 ? Number.NaN : i));
    const pts = smoothedLoss({ losses, msPerStep: 20 });
    expect(pts).toHaveLength(50);
    expect(pts[0]).toEqual({ step: 2, seconds: 0.04, loss: 0.5 });
    expect(pts[1]).toEqual({ step: 4, seconds: 0.08, loss: 2 }); // the NaN left out of its window
    expect(pts[49]).toEqual({ step: 100, seconds: 2, loss: 98.5 });
    // Shorter than 50 steps: one point per step.
    expect(smoothedLoss({ losses: [3, 1], msPerStep: 10 })).toEqual([{ step: 1, seconds: 0.01, loss: 3 }, { step: 2, seconds: 0.02, loss: 1 }]);
  });
});

describe('the shared recipe', () => {
  it('a run that ends with a non-finite held-out loss is reported diverged, from its first non-finite step, even when the Trainer did not stop it', () => {
    const run = (losses: (number | null)[], testLoss: number | null, diverged = false) =>
      ({ losses, diverged, stepsDone: losses.length, final: { testLoss, testAccuracy: 0 } }) as unknown as RunResult;
    // Read back from JSON, NaN is null.
    expect(outcome(run([2.3, 2.2, null, null], null))).toBe('diverged (step 3)');
    expect(outcome(run([2.3, Number.NaN], Number.NaN))).toBe('diverged (step 2)');
    expect(outcome(run([2.3, 2.1, 2.0], 1.9, true))).toBe('diverged (step 3)');
    expect(blewUp(run([2.3, 2.1], 1.9))).toBe(false);
    expect(outcome({ ...run([2.3, 2.1], 1.9), final: { testLoss: 1.9, testAccuracy: 0.4567 } } as RunResult)).toBe('45.7%');
  });

  const data = { train: { classes: 10, channels: 1 } } as unknown as StudyData;
  const spec = (name: string, overrides?: Record<string, unknown>) => ({ model: { name, overrides } }) as RunSpec;
  it('no dropout and no stochastic depth for every family (only the fields it has); a study override wins', () => {
    expect(modelOverrides(spec('nf-resnet-26'), data)).toEqual({ numClasses: 10, inChannels: 1, dropout: 0, stochDepthRate: 0 });
    expect(modelOverrides(spec('efficientnet_nano'), data)).toMatchObject({ dropout: 0, stochDepthRate: 0 });
    expect(modelOverrides(spec('vit_pico_patch7_28'), data)).toMatchObject({ dropout: 0, stochDepthRate: 0 });
    // The BN-ResNets have no stochastic depth: passing the field would be refused as unknown.
    expect(modelOverrides(spec('resnet_tiny'), data)).toEqual({ numClasses: 10, inChannels: 1, dropout: 0 });
    expect(modelOverrides(spec('nano', { dropout: 0.2 }), data)).toMatchObject({ dropout: 0.2, stochDepthRate: 0 });
  });
});

describe('nfnet study, quick budget (parts that need the other families)', () => {
  it.skipIf(!registered(BATCH_MODELS))('batch-size --only bn: the BN ResNet at batch 8 and 64', async () => {
    const o = await runStudy('batch-size', { out: path.join(dir, 'quick'), only: ['bn'] });
    expect(o.results.map((r) => r.id).sort()).toEqual(['bn-noagc-b64', 'bn-noagc-b8']);
    expect(o.results.every((r) => r.spec.clipping === 0 && r.examples === 128)).toBe(true);
  });

  it.skipIf(!registered(NORMALIZATION_MODELS))('normalization: both pairs, curves and the measured step cost of BN', async () => {
    const o = await runStudy('normalization', { out: path.join(dir, 'quick') });
    expect(o.results).toHaveLength(4);
    for (const r of o.results) expect(r.curve.length).toBeGreaterThanOrEqual(2);
    const s = o.summary as { bnCost: { stepTimeRatio: number }[] };
    expect(s.bnCost).toHaveLength(2);
    expect(s.bnCost.every((c) => c.stepTimeRatio > 0)).toBe(true);
  });

  it.skipIf(!registered(SPEED_MODELS))('speed: time to the target for both models', async () => {
    const o = await runStudy('speed', { out: path.join(dir, 'quick') });
    expect(o.results).toHaveLength(2);
    expect(o.results.every((r) => r.curve.length >= 2 && r.curve.every((c, i) => i === 0 || c.seconds >= r.curve[i - 1]!.seconds))).toBe(true);
  });

  it.skipIf(!registered(SCALING_MODELS))('scaling: NFNets and ViTs compared at matched compute', async () => {
    const o = await runStudy('scaling', { out: path.join(dir, 'quick') });
    const s = o.summary as { comparison: { ratio: number } | null };
    expect(s.comparison).not.toBeNull();
    expect(Number.isFinite(s.comparison!.ratio)).toBe(true);
  });
});
