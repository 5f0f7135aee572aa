/**
 * Training speed to a target accuracy ("8.7× faster than EfficientNet-B7", small): wall
 * time until the held-out accuracy first reaches a fixed target, for a small NFNet and a
 * small EfficientNet on the same adapter, with the same recipe.
 */
import { lineChart } from './charts.js';
import { DATA, claimsHeader, clippingFor, count, lrFor, stepsFor, pct, table, warmupFor } from './recipe.js';
import type { Budget, ReportContext, CurvePoint, ModelRef, RunResult, RunSpec, Study } from './types.js';

/** The study's models (registry names; the lead fixes them at merge). */
export const MODELS = {
  nfnet: { name: 'nano', overrides: { widths: [64, 128] } },
  effnet: { name: 'efficientnet_nano' },
} satisfies Record<string, ModelRef>;

/** `target`: the accuracy the claim is judged at; `targets`: the times to each are reported too (a curve's shape, not one point). */
const SIZES: Record<Budget, { batch: number; examples: number; evals: number; target: number; targets: number[] }> = {
  quick: { batch: 16, examples: 256, evals: 4, target: 0.25, targets: [0.2, 0.25] },
  full: { batch: 32, examples: 25_600, evals: 20, target: 0.8, targets: [0.7, 0.75, 0.8, 0.85] },
  long: { batch: 32, examples: 480_000, evals: 80, target: 0.9, targets: [0.8, 0.85, 0.88, 0.9] },
};

/** Seconds until `target` is first reached, linearly interpolated between evaluations; null if never. */
export function timeToTarget(curve: readonly CurvePoint[], target: number): number | null {
  let prev: CurvePoint | null = null;
  for (const c of curve) {
    if (c.testAccuracy >= target) {
      if (!prev) return c.seconds;
      const f = (target - prev.testAccuracy) / (c.testAccuracy - prev.testAccuracy);
      return prev.seconds + f * (c.seconds - prev.seconds);
    }
    prev = c;
  }
  return null;
}

function plan(budget: Budget, models: Record<string, ModelRef>) {
  const s = SIZES[budget];
  const data = DATA[budget];
  const steps = stepsFor(s.examples, s.batch);
  const runs: RunSpec[] = (['nfnet', 'effnet'] as const).map((role) => ({
    id: role, part: 'speed', model: models[role]!, batch: s.batch, lr: lrFor(s.batch), steps, warmupSteps: warmupFor(steps),
    clipping: role === 'nfnet' ? clippingFor(s.batch) : 0, evalEvery: Math.max(1, Math.floor(steps / s.evals)), seed: 0, tags: { role },
  }));
  return { data, runs };
}

function report(results: RunResult[], ctx: ReportContext) {
  const { target, targets } = SIZES[ctx.budget];
  const rows = results.map((r) => ({
    role: r.spec.tags.role as string, model: r.model.name, params: r.model.params, finalAccuracy: r.final.testAccuracy,
    secondsToTarget: timeToTarget(r.curve, target), imagesPerSecond: r.imagesPerSecond, trainSeconds: r.trainSeconds,
    secondsTo: Object.fromEntries(targets.map((t) => [t, timeToTarget(r.curve, t)])),
  }));
  const nf = rows.find((r) => r.role === 'nfnet');
  const eff = rows.find((r) => r.role === 'effnet');
  const speedup = nf?.secondsToTarget && eff?.secondsToTarget ? eff.secondsToTarget / nf.secondsToTarget : null;
  const curves = results.flatMap((r) => r.curve.map((c) => ({ model: r.model.name, seconds: c.seconds, testAccuracy: c.testAccuracy })));
  const secs = (v: number | null) => (v === null ? 'not reached' : `${v.toFixed(1)} s`);
  const claims = [
    claimsHeader(`Training speed to ${pct(target)} held-out accuracy: small NFNet vs small EfficientNet`, ctx),
    table(
      ['model', 'params', ...targets.map((t) => `time to ${pct(t)}`), 'final accuracy', 'img/s'],
      rows.map((r) => [r.model, count(r.params), ...targets.map((t) => secs(r.secondsTo[t] ?? null)), pct(r.finalAccuracy), r.imagesPerSecond.toFixed(0)]),
    ),
    '',
    `NFNet speed-up over EfficientNet to the target: ${speedup === null ? 'not measured (a run did not reach it)' : `${speedup.toFixed(2)}×`}.`,
    '',
  ].join('\n');
  return {
    summary: { target, rows, speedup },
    figures: [{ name: 'time-to-accuracy', spec: lineChart(`Held-out accuracy against training wall time, target ${pct(target)} (${ctx.budget} budget)`, curves, { field: 'seconds', title: 'training seconds' }, { field: 'testAccuracy', title: 'held-out accuracy' }, 'model') }],
    claims,
  };
}

export const speedStudy: Study = {
  name: 'speed',
  title: 'Training speed to a target accuracy: small NFNet vs small EfficientNet',
  claim: 'NFNet-F1 matches EfficientNet-B7\'s accuracy while being up to 8.7× faster to train (Brock et al. 2021, NFNet paper, abstract and Fig. 1).',
  models: MODELS,
  parts: { speed: ['nfnet', 'effnet'] },
  timed: true,
  plan,
  report,
  atScale: 'The 8.7× is F1 vs B7 on ImageNet at 224–600 px, measured as TPU-v3 training step time; B7 alone is ~66M parameters and ~37 GMACs per image. Replaying it needs ImageNet, a multi-device engine with mixed precision and days of accelerator time; on this adapter it would take years.',
};
