/** The NFNet model family: variant table, architecture plan and (GPU) model builder. */
import { networkInfo, type NetworkInfo } from './plan.js';
import { variantConfig, type ConfigOverrides } from './variants.js';

export { VARIANTS, variantConfig, groupsFor, type NFNetConfig, type VariantName, type Activation, type ConfigOverrides } from './variants.js';
export { planLayers, planBlocks, networkInfo, type LayerPlan, type BlockPlan, type NetworkInfo, type StageSummary } from './plan.js';

/**
 * Exact parameter count, multiply-adds at a resolution (the variant's test resolution by
 * default) and a per-stage breakdown. Needs no GPU.
 */
export function info(variant: string, options: ConfigOverrides & { resolution?: number } = {}): NetworkInfo {
  const { resolution, ...overrides } = options;
  const cfg = variantConfig(variant, overrides);
  return networkInfo(cfg, resolution ?? cfg.testResolution);
}
