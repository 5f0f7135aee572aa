/** The EfficientNet family (timm's efficientnet_b0…b7, tf_efficientnet_b0…b7 and the small ones) in the model registry. */
import type { ModelFamily } from '../models/registry.js';
import type { DecodedTensor } from '../io/safetensors.js';
import { Model } from '../models/model.js';
import { CheckpointError } from '../io/safetensors.js';
import { pythonLiteral } from '../io/python.js';
import { EfficientNetArchitecture } from './model.js';
import { headWidth, OVERRIDE_FIELDS, planBlocks, stemWidth, TIMM_VARIANTS, validateConfig, variantConfig, VARIANTS, type EfficientNetConfig } from './config.js';
import { configFromKeys, exportTimm, load, recognizes } from './timm.js';

/** `info`'s summary of a config. */
export function describeEfficientNet(c: EfficientNetConfig): string {
  const blocks = planBlocks(c);
  return [
    `${c.activation}, width ×${c.widthMultiplier} depth ×${c.depthMultiplier} (channels to multiples of ${c.channelDivisor}), stem ${stemWidth(c)}, head ${headWidth(c)}, ${blocks.length} blocks in ${c.stages.length} stages, SE of the block input`,
    `train/test px    ${c.trainResolution}/${c.testResolution}   dropout ${c.dropout}   drop-connect ${c.stochDepthRate}`,
    `numerics         ${c.padding} padding, BN ε ${c.bnEps}, momentum ${c.bnMomentum}`,
  ].join('\n');
}

/** Fields a timm name fixes (the rest a user may change and timm still builds it by name). */
const BY_NAME_FREE = new Set(['numClasses', 'inChannels', 'trainResolution', 'testResolution', 'dropout', 'stochDepthRate', 'bnMomentum']);

/**
 * How timm builds the network: `timm.create_model(name, …)` for a timm name's table, else
 * timm's EfficientNet from its block strings (the same builder the fixtures use).
 */
export function timmBuilder(c: EfficientNetConfig): { code: string; kwargs: Record<string, unknown> } {
  const named = TIMM_VARIANTS.includes(c.variant) ? variantConfig(c.variant) : null;
  if (named && Object.keys(named).every((k) => BY_NAME_FREE.has(k) || JSON.stringify(named[k as keyof EfficientNetConfig]) === JSON.stringify(c[k as keyof EfficientNetConfig]))) {
    const kwargs = { num_classes: c.numClasses, in_chans: c.inChannels };
    return { kwargs, code: `timm.create_model(${pythonLiteral(c.variant)}, num_classes=${c.numClasses}, in_chans=${c.inChannels})` };
  }
  const archDef = c.stages.map((s) => [`${s.block}_r${s.repeats}_k${s.kernel}_s${s.stride}_e${s.expansion}_c${s.channels}${s.seRatio > 0 ? `_se${s.seRatio}` : ''}`]);
  const kwargs = {
    arch_def: archDef, depth_multiplier: c.depthMultiplier, channel_multiplier: c.widthMultiplier, channel_divisor: c.channelDivisor,
    stem_size: c.stemChannels, num_features: c.headChannels, pad_type: c.padding === 'same' ? 'same' : '', bn_eps: c.bnEps, act_layer: c.activation,
  };
  const round = `partial(round_channels, multiplier=${c.widthMultiplier}, divisor=${c.channelDivisor})`;
  const code = `EfficientNet(block_args=decode_arch_def(${pythonLiteral(archDef)}, ${c.depthMultiplier}), num_features=round_channels(${c.headChannels}, ${c.widthMultiplier}, ${c.channelDivisor}), `
    + `stem_size=${c.stemChannels}, round_chs_fn=${round}, act_layer=${c.activation === 'silu' ? 'nn.SiLU' : 'nn.ReLU'}, pad_type=${pythonLiteral(kwargs.pad_type)}, `
    + `norm_layer=partial(nn.BatchNorm2d, eps=${c.bnEps}), num_classes=${c.numClasses}, in_chans=${c.inChannels})`;
  return { kwargs, code };
}

/** A timm name's config with the file's classes and input channels. */
function configFromName(name: string, tensors: Map<string, DecodedTensor>, overrides: Record<string, unknown> | undefined): EfficientNetConfig {
  const classifier = tensors.get('classifier.weight');
  const stem = tensors.get('conv_stem.weight');
  if (!classifier || !stem) throw new CheckpointError(`timm state dict has no ${classifier ? 'conv_stem' : 'classifier'}.weight: not an EfficientNet state dict`);
  return variantConfig(name, { numClasses: classifier.shape[0], inChannels: stem.shape[1], ...overrides }, 'importTimm');
}

export const efficientnetFamily: ModelFamily<EfficientNetConfig> = {
  name: 'efficientnet',
  title: () => 'EfficientNet',
  variants: VARIANTS,
  owns: (c) => c.family === 'efficientnet',
  overrideFields: OVERRIDE_FIELDS,
  config: (variant, overrides, fn) => variantConfig(variant, overrides, fn),
  validate: (c) => validateConfig(c),
  architecture: (c, seed) => new EfficientNetArchitecture(c, seed),
  build: (c, seed, options) => new Model(new EfficientNetArchitecture(c, seed), options),
  describe: describeEfficientNet,
  timm: {
    recognizes,
    configFromKeys,
    configFromName,
    load: (model, tensors, options) => load(model, tensors, options),
    export: (model) => exportTimm(model),
    builder: timmBuilder,
  },
};
