/** The BN-ResNet family (timm's resnet18/34/26/50/101 and small variants) in the model registry. */
import { Model } from '../models/model.js';
import type { ModelFamily } from '../models/registry.js';
import { pythonLiteral } from '../io/python.js';
import { RESNET_OVERRIDE_FIELDS, RESNET_VARIANTS, resnetConfig, validateResNetConfig, type ResNetConfig } from './config.js';
import { ResNetArchitecture } from './model.js';
import { exportResNetTimm, loadResNetTimm, recognizesResNet, resnetConfigFromKeys, timmResNetArgs } from './timm.js';
import type { DecodedTensor } from '../io/safetensors.js';
import { CheckpointError } from '../io/safetensors.js';

/** First line: the kind of network; the rest: stem, BN and training fields. */
export function describeResNet(c: ResNetConfig): string {
  const expansion = c.block === 'bottleneck' ? 4 : 1;
  return [
    `${c.block} blocks, depths ${c.depths.join('-')}, widths ${c.channels.map((p) => p * expansion).join('/')}, ReLU`,
    `stem             ${c.stemKernel}×${c.stemKernel} s${c.stemStride} → ${c.stemWidth}${c.stemPool ? ' + 3×3 s2 max pool' : ''}`,
    `batch norm       ε ${c.bnEps < 1e-3 ? c.bnEps.toExponential() : c.bnEps}, momentum ${c.bnMomentum}${c.zeroInitLast ? ', last BN of each block starts at 0' : ''}`,
    `train/test px    ${c.trainResolution}/${c.testResolution}   dropout ${c.dropout}`,
  ].join('\n');
}

/** The config of a timm name with the file's classes and input channels. */
function configFromName(name: string, tensors: Map<string, DecodedTensor>, overrides: Record<string, unknown> | undefined): ResNetConfig {
  const fc = tensors.get('fc.weight');
  const stem = tensors.get('conv1.weight');
  if (!fc || !stem) throw new CheckpointError("timm ResNet state dict: no 'fc.weight' or 'conv1.weight'");
  return resnetConfig(name, { numClasses: fc.shape[0], inChannels: stem.shape[1], ...overrides }, 'importTimm');
}

export const resnetFamily: ModelFamily<ResNetConfig> = {
  name: 'resnet',
  title: () => 'BN-ResNet',
  variants: RESNET_VARIANTS,
  owns: (c) => c.family === 'resnet',
  overrideFields: RESNET_OVERRIDE_FIELDS,
  config: (variant, overrides, fn) => resnetConfig(variant, overrides, fn),
  validate: (c) => validateResNetConfig(c),
  architecture: (c, seed) => new ResNetArchitecture(c, seed),
  build: (c, seed, options) => new Model(new ResNetArchitecture(c, seed), options),
  describe: describeResNet,
  timm: {
    recognizes: recognizesResNet,
    configFromKeys: resnetConfigFromKeys,
    configFromName,
    load: (model, tensors, options) => loadResNetTimm(model, tensors, options),
    export: (model) => exportResNetTimm(model),
    builder: (c) => {
      const { block, ...kwargs } = timmResNetArgs(c);
      return { kwargs: { block, ...kwargs }, code: `ResNet(block=${block}, layers=${pythonLiteral(kwargs.layers)}, channels=${pythonLiteral(kwargs.channels)}, num_classes=${c.numClasses}, in_chans=${c.inChannels})` };
    },
  },
};
