/**
 * No normalization needed: NF-ResNet vs a batch-normalised ResNet, and NFNet vs
 * EfficientNet, each pair at matched parameter counts with the same recipe; held-out
 * accuracy over training (time-to-accuracy curves in wall time) and the measured cost of a
 * training step per image and per multiply-add (the papers' argument that BN is expensive).
 */
import { lineChart } from './charts.js';
import { DATA, claimsHeader, stepsFor, clippingFor, count, lrFor, pct, table, warmupFor } from './recipe.js';
import type { Budget, ReportContext, ModelRef, RunResult, RunSpec, Study } from './types.js';

/** The study's models (registry names; the lead fixes them at merge). Pairs at ~matched parameters. */
export const MODELS = {
  /** NF-ResNet with the small ResNet's layout: 3 stages of one block, a 3×3 stride-1 stem (~73k parameters). */
  nfResnet: { name: 'nf-resnet-26', overrides: { depths: [1, 1, 1], widths: [48, 96, 192], strides: [1, 2, 2], stem: [{ channels: 16, stride: 1, kernel: 3 }], stemPool: false } },
  bnResnet: { name: 'resnet_tiny' },
  /** nano widened to EfficientNet-nano's size (96k vs ~98k parameters). */
  nfnet: { name: 'nano', overrides: { widths: [64, 128] } },
  effnet: { name: 'efficientnet_nano' },
} satisfies Record<string, ModelRef>;

const PAIRS = [
  { part: 'resnet', roles: ['nfResnet', 'bnResnet'] as const, nf: 'nfResnet' },
  { part: 'nfnet-effnet', roles: ['nfnet', 'effnet'] as const, nf: 'nfnet' },
];

/** Training images per run (all runs see the same ones in the same order), evaluations along the way. */
const SIZES: Record<Budget, { batch: number; examples: number; evals: number; profileSteps: number }> = {
  quick: { batch: 16, examples: 128, evals: 2, profileSteps: 2 },
  full: { batch: 32, examples: 12_800, evals: 8, profileSteps: 20 },
  long: { batch: 32, examples: 300_000, evals: 40, profileSteps: 20 },
};

/** The kernels of each normalisation-like primitive, by kernel family (shaders/<family>.wgsl). */
const PRIMITIVES = { batchNorm: 'batch-norm/', weightStandardization: 'weight-standardize/' } as const;

/** The share of a profiled step each primitive's kernels take, and its milliseconds per step. */
export function primitiveCost(profile: RunResult['profile']): Record<keyof typeof PRIMITIVES, { share: number; msPerStep: number }> | null {
  if (!profile || profile.totalMs <= 0) return null;
  const cost = (prefix: string) => {
    const ms = profile.kernels.filter((k) => k.kernel.startsWith(prefix)).reduce((t, k) => t + k.totalMs, 0);
    return { share: ms / profile.totalMs, msPerStep: ms / Math.max(1, profile.steps) };
  };
  return { batchNorm: cost(PRIMITIVES.batchNorm), weightStandardization: cost(PRIMITIVES.weightStandardization) };
}

function plan(budget: Budget, models: Record<string, ModelRef>) {
  const s = SIZES[budget];
  const data = DATA[budget];
  const steps = stepsFor(s.examples, s.batch);
  const runs: RunSpec[] = PAIRS.flatMap((p) =>
    p.roles.map((role) => ({
      id: role, part: p.part, model: models[role]!, batch: s.batch, lr: lrFor(s.batch), steps, warmupSteps: warmupFor(steps),
      // AGC belongs to the NF recipe; the normalised networks train without it, as in their papers.
      clipping: role === p.nf ? clippingFor(s.batch) : 0, evalEvery: Math.max(1, Math.floor(steps / s.evals)), profileSteps: s.profileSteps, seed: 0,
      tags: { pair: p.part, role, normalized: role !== p.nf },
    })),
  );
  return { data, runs };
}

function report(results: RunResult[], ctx: ReportContext) {
  const rows = results.map((r) => ({
    pair: r.spec.tags.pair as string, role: r.spec.tags.role as string, model: r.model.name, params: r.model.params, macsPerImage: r.model.macsPerImage,
    testAccuracy: r.final.testAccuracy, trainSeconds: r.trainSeconds, msPerStep: r.msPerStep, imagesPerSecond: r.imagesPerSecond,
    // Cost per unit of arithmetic: how much slower a step is than its multiply-adds alone would say.
    nsPerMac: (1e9 * r.trainSeconds) / (3 * r.model.macsPerImage * r.examples),
    // Measured, not assumed: what the normalising primitives' kernels take of a profiled step.
    primitives: primitiveCost(r.profile),
  }));
  const curves = results.flatMap((r) => r.curve.map((c) => ({ model: `${r.spec.tags.role} (${r.model.name})`, seconds: c.seconds, testAccuracy: c.testAccuracy })));
  const bnCost = PAIRS.map((p) => {
    const [nf, bn] = p.roles.map((role) => rows.find((r) => r.role === role));
    return nf && bn ? { pair: p.part, stepTimeRatio: bn.msPerStep / nf.msPerStep, perMacRatio: bn.nsPerMac / nf.nsPerMac } : null;
  }).filter((x) => x !== null);
  const claims = [
    claimsHeader('No normalization needed: NF vs BN at matched size', ctx),
    table(
      ['model', 'params', 'held-out accuracy', 'train time', 'img/s', 'ns per multiply-add (fwd+bwd)'],
      rows.map((r) => [`${r.role} (${r.model})`, count(r.params), pct(r.testAccuracy), `${r.trainSeconds.toFixed(1)} s`, r.imagesPerSecond.toFixed(0), r.nsPerMac.toFixed(2)]),
    ),
    '',
    `Profiled training steps (per-kernel time${results[0]?.profile?.mode === 'wall' ? ', each dispatch timed alone: shares, not absolute times' : ''}):`,
    '',
    table(
      ['model', 'batch-norm kernels', 'weight-standardization kernels'],
      rows.map((r) => [`${r.role} (${r.model})`, ...(['batchNorm', 'weightStandardization'] as const).map((k) => (r.primitives ? `${pct(r.primitives[k].share)} of the step (${r.primitives[k].msPerStep.toFixed(1)} ms)` : '—'))]),
    ),
    '',
    ...bnCost.map((c) => `- ${c.pair}: the normalised network's step takes ${c.stepTimeRatio.toFixed(2)}× the NF network's, ${c.perMacRatio.toFixed(2)}× per multiply-add (measured on ${results[0]?.adapter ?? 'this adapter'}).`),
    '',
  ].join('\n');
  return {
    summary: { rows, bnCost },
    figures: [{ name: 'time-to-accuracy', spec: lineChart(`Held-out accuracy against training wall time (${ctx.budget} budget)`, curves, { field: 'seconds', title: 'training seconds' }, { field: 'testAccuracy', title: 'held-out accuracy' }, 'model') }],
    claims,
  };
}

export const normalizationStudy: Study = {
  name: 'normalization',
  title: 'No normalization needed: NF-ResNet vs BN-ResNet, NFNet vs EfficientNet',
  claim: 'Normalizer-free ResNets match batch-normalised ResNets (Brock et al. 2021, "Characterizing signal propagation…", Table 1/2) and NFNets beat EfficientNets in accuracy for training cost (NFNet paper, Fig. 1); batch norm costs memory and time per step (NFNet paper, Sec. 1).',
  models: MODELS,
  parts: { resnet: ['nfResnet', 'bnResnet'], 'nfnet-effnet': ['nfnet', 'effnet'] },
  timed: true,
  plan,
  report,
  atScale: 'The papers compare ResNet-50-sized and F0…F7 vs B0…B7 networks on ImageNet (1.28M images at 224–608 px, 90–360 epochs; ~10^20–10^22 FLOPs per model on TPU-v3/v4 pods). At that scale the engine would need fp16/bf16 kernels, multi-device data parallelism and an ImageNet input pipeline; a BN-cost measurement would also need cross-device batch statistics.',
};
