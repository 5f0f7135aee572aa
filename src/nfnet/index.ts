/** The NFNet model family: variant table, architecture plan and (GPU) model builder. */
import type { NetworkInfo } from '../models/info.js';
import type { NFNetConfig } from './variants.js';
import { networkInfo } from './model.js';
import { OVERRIDE_FIELDS, variantConfig, type ConfigOverrides } from './variants.js';
import { checkOptions } from '../runtime/validate.js';

export { VARIANTS, TIMM_VARIANTS, CONFIG_LIMITS, validateConfig, variantConfig, referenceNumerics, groupsFor, type NFNetConfig, type Numerics, type VariantName, type ConfigOverrides } from './variants.js';
export { planBlocks, type LayerPlan, type BlockPlan, type NetworkInfo, type StageSummary } from './plan.js';

/**
 * Exact parameter count, multiply-adds at a resolution (the variant's test resolution by
 * default) and a per-stage breakdown. Needs no GPU.
 */
export function info(variant: string, options: ConfigOverrides & { resolution?: number } = {}): NetworkInfo<NFNetConfig> {
  const { resolution, ...overrides } = checkOptions('nfnet.info', options, [...OVERRIDE_FIELDS, 'resolution']);
  const cfg = variantConfig(variant, overrides, 'nfnet.info');
  return networkInfo(cfg, resolution ?? cfg.testResolution);
}
export { NFNet, NFNetArchitecture, create, planLayers, networkInfo, type ForwardOptions, type CreateOptions } from './model.js';
export { signalPropagation, signalChart, type SignalReport, type SignalPoint } from './signal.js';
export { Trainer, evaluate, learningRate, resolveTrainOptions, TRAIN_DEFAULTS, defaultLearningRate, type EvaluateOptions, type TrainOptions, type Schedule, type ResolvedTrainOptions, type StepResult, type PendingStep, type EvalResult } from './train.js';
export type { FitOptions, FitHooks, FitProgress, FitResult, EpochRecord } from './fit.js';
export { encodeCheckpoint, decodeCheckpoint, restore, modelFromCheckpoint, CHECKPOINT_FORMAT, type Checkpoint, type CheckpointMeta } from './checkpoint.js';
export { importTimm, exportTimm, timmToOurs, oursToTimm, timmConfigFromKeys, timmNfCfg, type TimmImportReport, type TimmImportOptions } from './timm.js';
