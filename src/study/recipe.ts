/**
 * The training recipe every study shares, so that runs differ only in what a study varies:
 * the NFNet paper's SGD + Nesterov + weight decay + label smoothing (the Trainer's
 * defaults, EMA off: studies evaluate the live weights), peak lr 0.15·batch/32 (the
 * recipe of docs/results' Fashion-MNIST run), a linear warm-up of 10% of the steps, cosine to 0.
 */
import type { Budget, DataSpec, RunResult } from './types.js';

/**
 * No dropout and no stochastic depth in any study run: the families' defaults differ (nano
 * and EfficientNet-nano 0.1/0.1, nf-resnet-26 0.25/0.1, the BN-ResNets none), the runs
 * are an epoch or less where regularisation only slows learning, and a comparison should
 * differ only in what the study varies. A study's model overrides may still set them.
 */
export const REGULARIZATION = { dropout: 0, stochDepthRate: 0 } as const;

/** The peak learning rate for a batch: 0.15 at batch 32, scaled linearly (docs/results' Fashion-MNIST recipe, 90.7% with nano). */
export const lrFor = (batch: number): number => +((0.15 * batch) / 32).toPrecision(6);

/** AGC's λ: 0.1 at the small batches of short runs (docs/results), 0.01 from batch 256 (the reference's at 4096). */
export const clippingFor = (batch: number): number => (batch >= 256 ? 0.01 : 0.1);

export const warmupFor = (steps: number): number => Math.floor(steps / 10);

/**
 * Quick: ~100 training images at 12 px, what the test suite runs. Full: all training images
 * at 28 px, held-out figures on the first 2,000 test images (±0.9% at 80%, one standard
 * error; evaluating 10,000 would take a fifth of the full budget's time). Long: all of it.
 */
export const DATA: Record<Budget, DataSpec> = {
  quick: { train: 128, test: 100, resolution: 12 },
  full: { train: 60000, test: 2000, resolution: 28 },
  long: { train: 60000, test: 10000, resolution: 28 },
};

/** Steps for a number of training examples. */
export const stepsFor = (examples: number, batch: number): number => Math.max(1, Math.round(examples / batch));

/** Steps for whole passes over the training images. */
export const epochSteps = (data: DataSpec, batch: number, epochs: number): number => Math.max(1, Math.round((epochs * data.train) / batch));

/** "12.3%" */
export const pct = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(100 * v).toFixed(1)}%`);

/**
 * Whether a run blew up: the Trainer stopped it (`diverged`), or it ended with weights that
 * give a non-finite held-out loss — a short run can end before the Trainer's patience for
 * skipped steps runs out (8 steps at batch 1024), and its "accuracy" is then 0%, not a result.
 */
export const blewUp = (r: Pick<RunResult, 'diverged' | 'final'>): boolean => r.diverged || !Number.isFinite(r.final.testLoss ?? Number.NaN);

/** The first step (1-based) whose training loss was not finite, or null. */
export const firstNonFiniteStep = (r: Pick<RunResult, 'losses'>): number | null => {
  const i = r.losses.findIndex((l) => l === null || !Number.isFinite(l));
  return i < 0 ? null : i + 1;
};

/** The label of a run's outcome: its held-out accuracy, or that it diverged and from which step. */
export const outcome = (r: RunResult): string => (blewUp(r) ? `diverged (step ${firstNonFiniteStep(r) ?? r.stepsDone})` : pct(r.final.testAccuracy));

/** Params, with thousands separators. */
export const count = (n: number): string => n.toLocaleString('en-US');

/** A markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The heading and caveat every claims fragment starts with. */
export function claimsHeader(title: string, ctx: { budget: Budget; command: string; plan: { data: DataSpec } }): string {
  const { train, test, resolution } = ctx.plan.data;
  const caveat = ctx.budget === 'quick'
    ? '_Quick budget, not the replay: ~100 images at 12 px and a handful of steps per run, so the figures below show the study runs end to end, not whether the claim holds._'
    : `_${ctx.budget === 'full' ? 'Full' : 'Long'} budget: Fashion-MNIST at ${resolution} px, runs drawing on the first ${count(train)} training images, held-out figures on the first ${count(test)} test images._`;
  return `### ${title}\n\n${caveat}\n\n\`\`\`sh\n${ctx.command}\n\`\`\`\n`;
}
