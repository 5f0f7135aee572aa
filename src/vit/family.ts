/** The Vision Transformer family (timm's ViT-Ti/S/B at patch 16, 224 px, and small variants) in the model registry. */
import type { ModelFamily } from '../models/registry.js';
import { Model } from '../models/model.js';
import { ViTArchitecture } from './model.js';
import { OVERRIDE_FIELDS, VARIANTS, mlpHidden, tokenCount, validateConfig, vitConfig, type ViTConfig } from './config.js';
import { exportTimmViT, isTimmViT, loadTimmViT, timmViTArgs, vitConfigFromKeys, vitConfigFromName } from './timm.js';
import { pythonLiteral } from '../io/python.js';

/** `info`'s summary: width, depth, heads, patches and tokens; then the block. */
export function describeViT(c: ViTConfig): string {
  const grid = c.imageSize / c.patchSize;
  return [
    `width ${c.embedDim}, ${c.depth} blocks, ${c.numHeads} heads of ${c.embedDim / c.numHeads}, ${c.patchSize}×${c.patchSize} patches (${grid}×${grid} + class token = ${tokenCount(c)} tokens at ${c.imageSize} px)`,
    `block: x + attn(LayerNorm(x)), x + MLP(LayerNorm(x)); MLP ${c.embedDim}→${mlpHidden(c)}→${c.embedDim} exact GELU; LayerNorm ε ${c.layerNormEps < 1e-3 ? c.layerNormEps.toExponential() : c.layerNormEps}; drop-path up to ${c.stochDepthRate}`,
  ].join('\n');
}

export const vitFamily: ModelFamily<ViTConfig> = {
  name: 'vit',
  title: () => 'ViT',
  variants: VARIANTS,
  owns: (c) => c.family === 'vit',
  overrideFields: OVERRIDE_FIELDS,
  config: (variant, overrides, fn) => vitConfig(variant, overrides, fn),
  validate: (c) => validateConfig(c),
  architecture: (c, seed) => new ViTArchitecture(c, seed),
  build: (c, seed, options) => new Model(new ViTArchitecture(c, seed), options),
  describe: describeViT,
  timm: {
    recognizes: isTimmViT,
    configFromKeys: vitConfigFromKeys,
    configFromName: (name, tensors, overrides) => vitConfigFromName(name, tensors, overrides),
    load: (model, tensors, options) => loadTimmViT(model, tensors, options),
    export: (model) => exportTimmViT(model),
    builder: (c) => {
      const kwargs = timmViTArgs(c);
      return { kwargs, code: `VisionTransformer(**${pythonLiteral(kwargs)})` };
    },
  },
};
