/** The NFNet family (NFNets and NF-ResNets, the reference's and timm's) in the model registry. */
import type { ModelFamily } from '../models/registry.js';
import { NFNet, NFNetArchitecture } from './model.js';
import { OVERRIDE_FIELDS, TIMM_VARIANTS, VARIANTS, validateConfig, variantConfig, withNumerics, type NFNetConfig } from './variants.js';
import { describeNFNet, nfnetTitle } from './format.js';
import { exportTimm, isTimmNormFreeNet, loadInto, timmConfigFromKeys, timmConfigFromName, timmNfCfg } from './timm.js';
import { pythonLiteral } from '../io/python.js';

export const nfnetFamily: ModelFamily<NFNetConfig> = {
  name: 'nfnet',
  title: nfnetTitle,
  variants: [...VARIANTS, ...TIMM_VARIANTS],
  owns: (c) => c.family === 'nfnet' || c.family === 'nfresnet',
  overrideFields: OVERRIDE_FIELDS,
  config: (variant, overrides, fn) => variantConfig(variant, overrides, fn),
  validate: (c) => {
    // Configs from before the numerics options (older checkpoints) get the reference's.
    const full = withNumerics(c);
    validateConfig(full);
    return full;
  },
  architecture: (c, seed) => new NFNetArchitecture(c, seed),
  build: (c, seed, options) => new NFNet(c, seed, options),
  describe: describeNFNet,
  timm: {
    recognizes: isTimmNormFreeNet,
    configFromKeys: timmConfigFromKeys,
    configFromName: (name, tensors, overrides) => timmConfigFromName(name, tensors, overrides),
    load: (model, tensors, options) => loadInto(model as NFNet, tensors, options),
    export: (model) => exportTimm(model),
    builder: (c) => {
      const kwargs = timmNfCfg(c);
      return { kwargs, code: `NormFreeNet(NfCfg(**${pythonLiteral(kwargs)}), num_classes=${c.numClasses}, in_chans=${c.inChannels})` };
    },
  },
};
