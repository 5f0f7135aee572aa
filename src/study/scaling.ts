/**
 * Scaling law (Smith et al. 2023, "ConvNets match vision transformers at scale"): a grid
 * of small NFNets (depth × width) trained for several epoch budgets, each at a sweep of
 * learning rates. Per (model, epochs) the best learning rate's held-out loss, plotted
 * against training compute on log-log axes; a power law fitted to the compute-efficient
 * frontier; the compute-optimal model size and epoch budget along it; the best learning
 * rate per epoch budget. The same for a small ViT family, and the two laws compared at
 * matched compute.
 */
import { lineChart, powerLawChart } from './charts.js';
import { fitPowerLaw, powerLawAt, type PowerLaw } from './power-law.js';
import { DATA, blewUp, claimsHeader, clippingFor, count, epochSteps, table, warmupFor } from './recipe.js';
import type { Budget, ReportContext, ModelRef, RunResult, RunSpec, Study } from './types.js';

/** The study's models (registry names; the lead fixes them at merge). The grids below override their sizes. */
export const MODELS = {
  nfnet: { name: 'pico' },
  vit: { name: 'vit_pico_patch7_28' },
} satisfies Record<string, ModelRef>;

/** Each family's size grid as config overrides (field names are the family's; resolution: the study's image size). */
export const GRID = {
  nfnet: (depth: number, width: number, _resolution: number) => ({ depths: [depth, depth], widths: [width, 2 * width] }),
  vit: (depth: number, width: number, resolution: number) => ({ depth, embedDim: width, numHeads: 2, imageSize: resolution, patchSize: 4 }),
};

/**
 * `trainImages`: epochs are passes over the first n training images (a small set, so that
 * more epochs can overfit). `lrs`: each family's sweep of peak learning rates (SGD with
 * Nesterov momentum for both; the ViT without AGC diverged at 0.4–1.6 on the full budget's
 * first run, so its sweep sits lower).
 */
const SIZES: Record<Budget, { batch: number; trainImages?: number; depths: number[]; widths: Record<Family, number[]>; epochs: number[]; lrs: Record<Family, number[]> }> = {
  quick: { batch: 32, depths: [1, 2], widths: { nfnet: [16], vit: [16] }, epochs: [1, 2], lrs: { nfnet: [0.4, 1.6], vit: [0.4, 1.6] } },
  full: { batch: 128, trainImages: 3000, depths: [1, 2], widths: { nfnet: [16, 32], vit: [32, 64] }, epochs: [1, 2, 4], lrs: { nfnet: [0.4, 0.8, 1.6], vit: [0.05, 0.1, 0.2] } },
  long: { batch: 256, depths: [1, 2, 3], widths: { nfnet: [16, 32, 64], vit: [32, 64, 128] }, epochs: [1, 2, 4], lrs: { nfnet: [0.4, 0.8, 1.6, 3.2], vit: [0.05, 0.1, 0.2, 0.4] } },
};

const FAMILIES = ['nfnet', 'vit'] as const;
type Family = (typeof FAMILIES)[number];

function plan(budget: Budget, models: Record<string, ModelRef>) {
  const s = SIZES[budget];
  const data = { ...DATA[budget], train: s.trainImages ?? DATA[budget].train };
  const runs: RunSpec[] = [];
  for (const family of FAMILIES) {
    for (const depth of s.depths) {
      for (const width of s.widths[family]) {
        const base = models[family]!;
        const model = { name: base.name, overrides: { ...base.overrides, ...GRID[family](depth, width, data.resolution) } };
        for (const epochs of s.epochs) {
          const steps = epochSteps(data, s.batch, epochs);
          for (const lr of s.lrs[family]) {
            runs.push({
              id: `${family}-d${depth}-w${width}-e${epochs}-lr${lr}`, part: family, model, batch: s.batch, lr, steps, warmupSteps: warmupFor(steps),
              clipping: family === 'nfnet' ? clippingFor(s.batch) : 0, evalEvery: 0, seed: 0, tags: { family, depth, width, epochs, lr },
            });
          }
        }
      }
    }
  }
  return { data, runs };
}

/** One (model, epoch budget): the best learning rate's outcome. */
export interface ScalingPoint {
  family: string;
  size: string;
  params: number;
  epochs: number;
  flops: number;
  loss: number;
  accuracy: number;
  bestLr: number;
}

/** Per (family, size, epochs), the run with the lowest held-out loss over the lr sweep (diverged runs excluded). */
export function bestPoints(results: readonly RunResult[]): ScalingPoint[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of results) {
    const t = r.spec.tags;
    const key = `${t.family}|d${t.depth}-w${t.width}|${t.epochs}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const points: ScalingPoint[] = [];
  for (const [key, runs] of groups) {
    const ok = runs.filter((r) => !blewUp(r));
    if (!ok.length) continue;
    const best = ok.reduce((a, b) => (b.final.testLoss < a.final.testLoss ? b : a));
    const [family, size] = key.split('|') as [string, string];
    points.push({ family, size, params: best.model.params, epochs: best.spec.tags.epochs as number, flops: best.flops, loss: best.final.testLoss, accuracy: best.final.testAccuracy, bestLr: best.spec.lr });
  }
  return points;
}

/** The points no cheaper point beats: sorted by compute, each with a lower loss than every cheaper one. */
export function frontier(points: readonly ScalingPoint[]): ScalingPoint[] {
  const out: ScalingPoint[] = [];
  for (const p of [...points].sort((a, b) => a.flops - b.flops)) {
    if (!out.length || p.loss < out[out.length - 1]!.loss) out.push(p);
  }
  return out;
}

/** The power law through the frontier (all points when the frontier is one point); null when the compute does not vary. */
function fitFamily(points: readonly ScalingPoint[]): { fit: PowerLaw; on: 'frontier' | 'all' } | null {
  const front = frontier(points);
  for (const [set, on] of [[front, 'frontier'], [points, 'all']] as const) {
    if (new Set(set.map((p) => p.flops)).size >= 2) return { fit: fitPowerLaw(set.map((p) => p.flops), set.map((p) => p.loss)), on };
  }
  return null;
}

function report(results: RunResult[], ctx: ReportContext) {
  const points = bestPoints(results);
  const families = FAMILIES.filter((f) => points.some((p) => p.family === f));
  const perFamily = families.map((family) => {
    const pts = points.filter((p) => p.family === family);
    const law = fitFamily(pts);
    const epochs = [...new Set(pts.map((p) => p.epochs))].sort((a, b) => a - b);
    // The best lr per epoch budget, per model size (the paper: ~1.6 at small budgets, falling with budget and size).
    const bestLr = epochs.map((e) => ({ epochs: e, bySize: Object.fromEntries(pts.filter((p) => p.epochs === e).map((p) => [p.size, p.bestLr])) }));
    return { family, fit: law?.fit ?? null, fittedOn: law?.on ?? null, computeOptimal: frontier(pts), bestLr };
  });
  const nf = perFamily.find((f) => f.family === 'nfnet')?.fit;
  const vit = perFamily.find((f) => f.family === 'vit')?.fit;
  let comparison: { flops: number; nfnetLoss: number; vitLoss: number; ratio: number } | null = null;
  if (nf && vit) {
    // Matched compute: the geometric middle of the range both families cover.
    const range = (f: string) => points.filter((p) => p.family === f).map((p) => p.flops);
    const lo = Math.max(Math.min(...range('nfnet')), Math.min(...range('vit')));
    const hi = Math.min(Math.max(...range('nfnet')), Math.max(...range('vit')));
    const flops = Math.sqrt(lo * hi);
    comparison = { flops, nfnetLoss: powerLawAt(nf, flops), vitLoss: powerLawAt(vit, flops), ratio: powerLawAt(vit, flops) / powerLawAt(nf, flops) };
  }
  const values = points.map((p) => ({ ...p, label: `${p.family} ${p.size} ${p.epochs} ep` }));
  const fits = perFamily.filter((f) => f.fit).map((f) => {
    const xs = points.filter((p) => p.family === f.family).map((p) => p.flops);
    return { series: f.family, fit: f.fit!, from: Math.min(...xs), to: Math.max(...xs) };
  });
  const lrRows = perFamily.flatMap((f) => f.bestLr.flatMap((b) => Object.entries(b.bySize).map(([size, lr]) => ({ series: `${f.family} ${size}`, epochs: b.epochs, lr }))));
  const law = (f: PowerLaw | null | undefined) => (f ? `L = ${f.a.toPrecision(3)}·C^${f.b.toFixed(3)} (R² ${f.r2.toFixed(2)}, ${f.points} points)` : 'not fitted');
  const claims = [
    claimsHeader('Scaling law: held-out loss against compute, NFNets and ViTs', ctx),
    ...perFamily.map((f) => `- ${f.family}: ${law(f.fit)}, fitted on ${f.fittedOn === 'frontier' ? 'the compute-efficient frontier' : 'every point (the frontier has one)'}; compute-optimal along the frontier: ${f.computeOptimal.map((p) => `${p.size} × ${p.epochs} ep (${count(p.params)} params)`).join(' → ')}.`),
    '',
    table(['family', 'epochs', 'best lr by model size'], perFamily.flatMap((f) => f.bestLr.map((b) => [f.family, b.epochs, Object.entries(b.bySize).map(([s, lr]) => `${s}: ${lr}`).join(', ')]))),
    '',
    comparison ? `At matched compute (${comparison.flops.toExponential(2)} FLOPs) the fitted laws give held-out loss ${comparison.nfnetLoss.toFixed(3)} (NFNet) vs ${comparison.vitLoss.toFixed(3)} (ViT): ViT/NFNet = ${comparison.ratio.toFixed(3)}.` : 'ConvNet vs ViT at matched compute: needs both families\' runs.',
    '',
  ].join('\n');
  return {
    summary: { points, families: perFamily, comparison },
    figures: [
      { name: 'loss-vs-compute', spec: powerLawChart(`Held-out loss against training compute, best lr per point (${ctx.budget} budget)`, values, { field: 'flops', title: 'training FLOPs', format: '.1~e' }, { field: 'loss', title: 'held-out loss' }, 'family', fits) },
      { name: 'best-lr', spec: lineChart(`Best learning rate per epoch budget (${ctx.budget} budget)`, lrRows, { field: 'epochs', title: 'epochs', log: true }, { field: 'lr', title: 'best peak learning rate', log: true }, 'series') },
    ],
    claims,
  };
}

export const scalingStudy: Study = {
  name: 'scaling',
  title: 'Scaling law: NFNets and ViTs, held-out loss against compute',
  claim: 'Held-out loss of NFNets falls as a power law in compute; the compute-optimal model size and epoch budget grow together; the best learning rate is ~1.6 at small epoch budgets and falls with budget and model size; NFNets match ViTs at matched compute (Smith et al. 2023, "ConvNets match vision transformers at scale", Fig. 1–3).',
  models: MODELS,
  parts: { nfnet: ['nfnet'], vit: ['vit'] },
  timed: false,
  plan,
  report,
  atScale: 'The paper pre-trains F0…F7+ on JFT-4B (4 billion images) for 0.25–8 epochs, up to ~110k TPU-v4 core hours per model, then fine-tunes on ImageNet. The engine would need a streaming data pipeline for billions of images, multi-host data parallelism, bf16 kernels and a TPU/GPU cluster; on this adapter one F0 epoch of JFT alone would take centuries.',
};
