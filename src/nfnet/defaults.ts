/**
 * The training defaults, in one module with no GPU code, so that the CLI can show them in
 * its help without loading the engine.
 */
import { ValueError } from '../runtime/errors.js';

/**
 * Every training default, in one place: the Trainer applies them, the CLI and the demo
 * only map their inputs onto TrainOptions. "Off" has one spelling: 0 (clipping,
 * labelSmoothing, warmupSteps), false (ema, agcSkipGains) or null (sam).
 */
export const TRAIN_DEFAULTS = {
  /** Linear warm-up steps before the decay. */
  warmupSteps: 0,
  /**
   * The decay after warm-up, to 0 at the last step: 'cosine' (the reference's) or 'linear'
   * (a straight line; Li et al. 2020, "Budgeted Training", find it ahead in short budgets).
   */
  schedule: 'cosine',
  momentum: 0.9,
  weightDecay: 2e-5,
  /** AGC λ; 0 turns AGC off (the ablation). */
  clipping: 0.01,
  labelSmoothing: 0.1,
  /** Keep an EMA of the weights (evaluated with `useEma`). */
  ema: true,
  /**
   * Clip the skip gains with AGC too, as the reference does. Off by default: those scalars
   * start at 0, where the AGC bound λ·max(‖W‖, 1e-3) caps their step at ~1e-5 and freezes
   * the residual branches for thousands of steps — fatal to short runs.
   */
  agcSkipGains: false,
  seed: 0,
  /**
   * Sharpness-aware minimization, `{ rho }` when on (two forward-backward passes per step;
   * Foret et al. use ρ = 0.05). Off by default: it doubles the cost of a step.
   */
  sam: null,
} as const;

/**
 * The default peak learning rate for a batch size: the reference's 0.1·batch/256, ×4
 * because our runs are short (a few epochs, not 360).
 */
export function defaultLearningRate(batchSize: number): number {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new ValueError(`batch size must be a positive integer, got ${batchSize}`);
  return +(0.4 * (batchSize / 256)).toPrecision(3);
}

