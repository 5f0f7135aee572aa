/**
 * The training recipe every study shares, so that runs differ only in what a study varies:
 * the NFNet paper's SGD + Nesterov + weight decay + label smoothing (the Trainer's
 * defaults, EMA off: studies evaluate the live weights), peak lr 0.15·batch/32 (the
 * recipe of docs/results' Fashion-MNIST run), a linear warm-up of 10% of the steps, cosine to 0.
 */
import type { Budget, DataSpec, RunResult } from './types.js';

/** The peak learning rate for a batch: 0.15 at batch 32, scaled linearly (docs/results' Fashion-MNIST recipe, 90.7% with nano). */
export const lrFor = (batch: number): number => +((0.15 * batch) / 32).toPrecision(6);

/** AGC's λ: 0.1 at the small batches of short runs (docs/results), 0.01 from batch 256 (the reference's at 4096). */
export const clippingFor = (batch: number): number => (batch >= 256 ? 0.01 : 0.1);

export const warmupFor = (steps: number): number => Math.floor(steps / 10);

/** Tiny: ~100 training images at 12 px, what the test suite runs. Full: all of Fashion-MNIST at 28 px. */
export const DATA: Record<Budget, DataSpec> = {
  quick: { train: 128, test: 100, resolution: 12 },
  full: { train: 60000, test: 10000, resolution: 28 },
};

/** Steps for whole passes over the training images. */
export const epochSteps = (data: DataSpec, batch: number, epochs: number): number => Math.max(1, Math.round((epochs * data.train) / batch));

/** "12.3%" */
export const pct = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(100 * v).toFixed(1)}%`);

/** The label of a run's outcome: its held-out accuracy, or that it diverged. */
export const outcome = (r: RunResult): string => (r.diverged ? `diverged (step ${r.stepsDone})` : pct(r.final.testAccuracy));

/** Params, with thousands separators. */
export const count = (n: number): string => n.toLocaleString('en-US');

/** A markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The heading and caveat every claims fragment starts with. */
export function claimsHeader(title: string, budget: Budget, command: string): string {
  const caveat = budget === 'quick'
    ? '_Quick budget, not the full replay: ~100 images at 12 px and a handful of steps per run, so the figures below show the study runs end to end, not whether the claim holds._'
    : '_Full budget: all of Fashion-MNIST at 28 px._';
  return `### ${title}\n\n${caveat}\n\n\`\`\`sh\n${command}\n\`\`\`\n`;
}
