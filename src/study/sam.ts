/**
 * SAM: the same small NFNet with and without sharpness-aware minimisation, at equal steps
 * (SAM then costs about twice the compute) and at equal wall time (the plain run gets as
 * many steps as fit in the SAM run's training time, at the plain run's measured pace).
 */
import { lineChart } from './charts.js';
import { DATA, claimsHeader, stepsFor, clippingFor, lrFor, pct, table, warmupFor } from './recipe.js';
import type { Budget, ReportContext, ModelRef, RunResult, RunSpec, Study } from './types.js';

/** The study's models (registry names; the lead fixes them at merge). */
export const MODELS = {
  nfnet: { name: 'nano' },
} satisfies Record<string, ModelRef>;

const SIZES: Record<Budget, { batch: number; examples: number; rho: number }> = {
  quick: { batch: 16, examples: 128, rho: 0.05 },
  full: { batch: 32, examples: 25_600, rho: 0.05 },
  long: { batch: 32, examples: 240_000, rho: 0.05 },
};

function plan(budget: Budget, models: Record<string, ModelRef>) {
  const s = SIZES[budget];
  const data = DATA[budget];
  const steps = stepsFor(s.examples, s.batch);
  const base = { part: 'sam', model: models.nfnet!, batch: s.batch, lr: lrFor(s.batch), clipping: clippingFor(s.batch), evalEvery: 0, seed: 0 };
  const runs: RunSpec[] = [
    { ...base, id: 'plain', steps, warmupSteps: warmupFor(steps), tags: { arm: 'no SAM, equal steps' } },
    { ...base, id: 'sam', steps, warmupSteps: warmupFor(steps), sam: { rho: s.rho }, tags: { arm: `SAM ρ=${s.rho}` } },
    // Warm-up as a tenth of the estimate, so the schedule's shape does not depend on the measured pace.
    { ...base, id: 'plain-equal-time', steps: { matchTimeOf: 'sam', perStepFrom: 'plain', estimate: 2 * steps }, warmupSteps: warmupFor(steps), tags: { arm: 'no SAM, equal wall time' } },
  ];
  return { data, runs };
}

/**
 * A run's step losses as means over 50 windows (one point per window, at its last step and
 * at the time that step ends at the run's mean pace): per-step losses of a batch of 32 are
 * too noisy to compare arms by.
 */
export function smoothedLoss(r: Pick<RunResult, 'losses' | 'msPerStep'>): { step: number; seconds: number; loss: number }[] {
  const width = Math.max(1, Math.round(r.losses.length / 50));
  const out = [];
  for (let start = 0; start < r.losses.length; start += width) {
    const window = r.losses.slice(start, start + width).filter(Number.isFinite);
    if (!window.length) continue;
    const step = Math.min(start + width, r.losses.length);
    out.push({ step, seconds: (step * r.msPerStep) / 1000, loss: window.reduce((a, b) => a + b, 0) / window.length });
  }
  return out;
}

function report(results: RunResult[], ctx: ReportContext) {
  const rows = results.map((r) => ({ arm: r.spec.tags.arm as string, steps: r.stepsDone, trainSeconds: r.trainSeconds, testAccuracy: r.final.testAccuracy, testLoss: r.final.testLoss, diverged: r.diverged }));
  const curve = results.flatMap((r) => smoothedLoss(r).map((p) => ({ arm: r.spec.tags.arm as string, ...p })));
  const samRun = results.find((r) => r.id === 'sam');
  const plain = results.find((r) => r.id === 'plain');
  const cost = samRun && plain ? samRun.msPerStep / plain.msPerStep : null;
  const claims = [
    claimsHeader('SAM at equal steps and equal wall time', ctx),
    table(['arm', 'steps', 'train time', 'held-out accuracy', 'held-out loss'], rows.map((r) => [r.arm, r.steps, `${r.trainSeconds.toFixed(1)} s`, pct(r.testAccuracy), r.testLoss.toFixed(4)])),
    '',
    `A SAM step costs ${cost === null ? '—' : `${cost.toFixed(2)}×`} a plain one (two forward-backward passes).`,
    '',
  ].join('\n');
  return {
    summary: { rows, samStepCost: cost },
    figures: [
      { name: 'loss', spec: lineChart(`Training loss, mean of each 1/50 of a run (${ctx.budget} budget)`, curve, { field: 'step', title: 'step' }, { field: 'loss', title: 'training loss' }, 'arm') },
      // Equal wall time is the comparison that charges SAM for its second pass.
      { name: 'loss-vs-time', spec: lineChart(`Training loss against training time (${ctx.budget} budget)`, curve, { field: 'seconds', title: 'training seconds (at the run\'s mean pace)' }, { field: 'loss', title: 'training loss' }, 'arm') },
    ],
    claims,
  };
}

export const samStudy: Study = {
  name: 'sam',
  title: 'SAM: the same small NFNet with and without SAM, at equal steps and equal wall time',
  claim: 'SAM improves generalisation (Foret et al. 2021, "Sharpness-Aware Minimization…", Table 1) and NFNet-F6 + SAM reaches 86.5% ImageNet top-1 without extra data (Brock et al. 2021, NFNet paper, Table 2) — at about twice the cost per step.',
  models: MODELS,
  parts: { sam: ['nfnet'] },
  timed: true,
  plan,
  report,
  atScale: 'The paper\'s F6+SAM is ~438M parameters trained 360 epochs on ImageNet at 448 px (~10^22 FLOPs, doubled by SAM). At that scale the engine would need multi-device training with SAM\'s ascent step computed per device (the paper\'s m-sharpness) and mixed precision.',
};
