/**
 * Batch size: held-out accuracy after a fixed number of training examples at batch sizes
 * from 4 to 1024. Arms: NF with AGC, NF without AGC (both at the linearly scaled learning
 * rate, and from batch 256 also at twice that: 2.4 at 256, beyond docs/results/agc-ablation's 1.6),
 * and a batch-normalised ResNet (which needs batch statistics, so suffers at tiny batches).
 */
import { lineChart } from './charts.js';
import { DATA, blewUp, claimsHeader, stepsFor, clippingFor, lrFor, outcome, table, warmupFor } from './recipe.js';
import type { Budget, ReportContext, ModelRef, RunResult, RunSpec, Study } from './types.js';

/** The study's models (registry names; the lead fixes them at merge). */
export const MODELS = {
  nf: { name: 'nano' },
  bn: { name: 'resnet_tiny' },
} satisfies Record<string, ModelRef>;

/** From batch `highFrom` the NF arms also run at `highLr` × the scaled learning rate. */
const SIZES: Record<Budget, { batches: number[]; examples: number; highLr: number; highFrom: number }> = {
  quick: { batches: [8, 64], examples: 128, highLr: 2, highFrom: 64 },
  full: { batches: [4, 16, 64, 256, 1024], examples: 8192, highLr: 2, highFrom: 256 },
  long: { batches: [4, 8, 16, 32, 64, 128, 256, 512, 1024], examples: 120_000, highLr: 2, highFrom: 256 },
};

interface Arm {
  arm: string;
  part: 'nf' | 'bn';
  role: keyof typeof MODELS;
  agc: boolean;
  high: boolean;
}

const ARMS: Arm[] = [
  { arm: 'NF + AGC', part: 'nf', role: 'nf', agc: true, high: false },
  { arm: 'NF, no AGC', part: 'nf', role: 'nf', agc: false, high: false },
  { arm: 'NF + AGC, 2× lr', part: 'nf', role: 'nf', agc: true, high: true },
  { arm: 'NF, no AGC, 2× lr', part: 'nf', role: 'nf', agc: false, high: true },
  { arm: 'BN', part: 'bn', role: 'bn', agc: false, high: false },
];

function plan(budget: Budget, models: Record<string, ModelRef>) {
  const s = SIZES[budget];
  const runs: RunSpec[] = [];
  for (const batch of s.batches) {
    for (const a of ARMS) {
      if (a.high && batch < s.highFrom) continue;
      const steps = stepsFor(s.examples, batch);
      runs.push({
        id: `${a.role}-${a.agc ? 'agc' : 'noagc'}${a.high ? '-highlr' : ''}-b${batch}`, part: a.part, model: models[a.role]!,
        batch, lr: (a.high ? s.highLr : 1) * lrFor(batch), steps, warmupSteps: warmupFor(steps), clipping: a.agc ? clippingFor(batch) : 0,
        evalEvery: 0, seed: 0, tags: { arm: a.arm, batch },
      });
    }
  }
  return { data: DATA[budget], runs };
}

function report(results: RunResult[], ctx: ReportContext) {
  const rows = results.map((r) => ({
    arm: r.spec.tags.arm as string, batch: r.spec.batch, lr: r.spec.lr, clipping: r.spec.clipping, steps: r.stepsDone,
    testAccuracy: blewUp(r) ? null : r.final.testAccuracy, testLoss: blewUp(r) ? null : r.final.testLoss, diverged: blewUp(r),
    skippedSteps: r.skippedSteps, imagesPerSecond: r.imagesPerSecond,
  }));
  const arms = [...new Set(rows.map((r) => r.arm))];
  const batches = [...new Set(rows.map((r) => r.batch))].sort((a, b) => a - b);
  const cell = (arm: string, b: number) => {
    const r = results.find((x) => x.spec.tags.arm === arm && x.spec.batch === b);
    return r ? outcome(r) : '';
  };
  const examples = SIZES[ctx.budget].examples;
  const claims = [
    claimsHeader('Batch size: NF with and without AGC, and BN, at batch 4…1024', ctx),
    `Held-out accuracy after ${examples.toLocaleString('en-US')} training examples (AGC λ 0.1 below batch 256, 0.01 from 256; peak lr 0.15·batch/32, or twice that where noted):\n`,
    table(['arm', ...batches.map((b) => `batch ${b}`)], arms.map((a) => [a, ...batches.map((b) => cell(a, b))])),
    '',
  ].join('\n');
  return {
    summary: { examples, rows },
    figures: [{ name: 'accuracy-vs-batch', spec: lineChart(`Held-out accuracy after ${examples} examples (${ctx.budget} budget)`, rows.filter((r) => !r.diverged), { field: 'batch', title: 'batch size', log: true }, { field: 'testAccuracy', title: 'held-out accuracy' }, 'arm') }],
    claims,
  };
}

export const batchSizeStudy: Study = {
  name: 'batch-size',
  title: 'Batch size: BN at tiny batches, NF ± AGC at large batches and high learning rates',
  claim: 'NFNets with AGC train stably at large batch sizes and high learning rates where unclipped NF networks diverge (Brock et al. 2021, NFNet paper, Fig. 2/Sec. 4); batch norm degrades at tiny batches.',
  models: MODELS,
  parts: { nf: ['nf'], bn: ['bn'] },
  timed: false,
  plan,
  report,
  atScale: 'The paper sweeps batch 256…4096 on ImageNet (1.28M images, 90 epochs of NF-ResNet-50): ~10^19 FLOPs per point, TPU-v3 pods. Here: 120k Fashion-MNIST examples at 28 px per point; at the paper\'s scale the engine would need multi-GPU data parallelism (gradient all-reduce) and mixed precision.',
};
