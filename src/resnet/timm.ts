/**
 * timm interop for BN-ResNets both ways (timm/models/resnet.py's ResNet): our layers carry
 * timm's names (conv1, bn1, layerL.B.convK / bnK / downsample.0|1, fc), so the mapping is
 * the identity on names and a change of layout: conv weights OIHW ↔ HWIO, the classifier
 * (out, in) ↔ (in, out). BN running statistics are state like the weights;
 * `num_batches_tracked` (an int64 counter timm keeps per BN) is ignored on import and
 * written on export as a fresh timm model has it (0), so timm loads the file strict=True.
 */
import { CheckpointError, decodeSafetensors, encodeSafetensors, type DecodedTensor, type HostTensor } from '../io/safetensors.js';
import { ValueError } from '../runtime/errors.js';
import type { ModelState } from '../state/model-state.js';
import { loadTimmTensors, toPyTorchLayout, type TimmLoadOptions } from '../models/timm-tensors.js';
import { RESNET_TIMM_VARIANTS, resnetConfig, type ResNetConfig } from './config.js';

/** What the interop needs of a model (a Model of this family). */
export interface ResNetModelLike {
  readonly config: ResNetConfig;
  readonly state: ModelState;
}

const COUNTER = /\.num_batches_tracked$/;
const HEAD = 'fc.';

/** A timm ResNet state dict: a plain stem conv with its BN statistics, residual layers and an fc. */
export function recognizesResNet(keys: readonly string[]): boolean {
  const has = new Set(keys);
  return ['conv1.weight', 'bn1.running_mean', 'layer1.0.conv1.weight', 'layer1.0.bn1.running_var', 'fc.weight'].every((k) => has.has(k));
}

const shapeOf = (tensors: Map<string, DecodedTensor>, key: string): number[] => {
  const t = tensors.get(key);
  if (!t) throw new CheckpointError(`timm ResNet state dict: no '${key}', which every timm ResNet of this kind has`);
  return t.shape;
};

/**
 * The network a timm ResNet state dict belongs to, read from its keys and shapes: block
 * kind (conv3 → bottleneck), depths, planes, stem width and kernel, classes and input
 * channels. The stem's stride and max pool and the stage strides are timm's (they leave no
 * trace in the weights). The name is timm's when the structure is one of its models.
 */
export function resnetConfigFromKeys(tensors: Map<string, DecodedTensor>): ResNetConfig {
  const depths: number[] = [];
  for (const key of tensors.keys()) {
    const m = /^layer(\d+)\.(\d+)\.conv1\.weight$/.exec(key);
    if (m) depths[Number(m[1]) - 1] = Math.max(depths[Number(m[1]) - 1] ?? 0, Number(m[2]) + 1);
  }
  if (!depths.length || [...depths].some((d) => d === undefined)) throw new CheckpointError('timm ResNet state dict: its layers are not layer1, layer2, … each with blocks 0, 1, …');
  const bottleneck = tensors.has('layer1.0.conv3.weight');
  const [stemWidth, inChannels, stemKernel] = shapeOf(tensors, 'conv1.weight') as [number, number, number];
  const [numClasses] = shapeOf(tensors, 'fc.weight') as [number];
  const overrides = {
    block: bottleneck ? 'bottleneck' : 'basic', depths, channels: depths.map((_, s) => shapeOf(tensors, `layer${s + 1}.0.conv1.weight`)[0]!),
    strides: depths.map((_, s) => (s === 0 ? 1 : 2)), stemWidth, stemKernel, numClasses, inChannels,
  } as const;
  const cfg = resnetConfig(bottleneck ? 'resnet50' : 'resnet18', overrides, 'importTimm');
  const named = RESNET_TIMM_VARIANTS.find((v) => sameStructure(resnetConfig(v, { numClasses, inChannels }), cfg));
  return named ? resnetConfig(named, { numClasses, inChannels }, 'importTimm') : { ...cfg, variant: 'resnet-custom' };
}

/** Equal networks (every field but the name and the training-only ones). */
function sameStructure(a: ResNetConfig, b: ResNetConfig): boolean {
  const strip = ({ variant: _v, dropout: _d, bnMomentum: _m, trainResolution: _t, testResolution: _r, ...rest }: ResNetConfig) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

/**
 * Load a timm state dict into `model` (all names and shapes checked first; nothing is
 * half-loaded). `freshHead` leaves the file's fc out and draws a new one with the model's
 * initialiser (finetuning on other classes).
 */
export function loadResNetTimm(model: ResNetModelLike, tensors: Map<string, DecodedTensor>, options: TimmLoadOptions = {}): { loaded: number; ignored: string[] } {
  return loadTimmTensors(model.state, tensors, { ours: (key) => (COUNTER.test(key) ? null : key), head: HEAD }, options);
}

/**
 * timm's ResNet arguments for a config: `ResNet(block=<block>, layers=…, channels=…,
 * num_classes=…, in_chans=…)`. Throws a ValueError listing every choice timm's ResNet
 * cannot express (its plain stem is a 7×7 s2 conv of 64 channels with a max pool, its
 * forward runs exactly four stages of strides 1, 2, 2, 2, its BN ε is 1e-5).
 */
export function timmResNetArgs(c: ResNetConfig): { block: 'Bottleneck' | 'BasicBlock'; layers: number[]; channels: number[] } {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => ok || problems.push(what);
  need(c.stemKernel === 7 && c.stemStride === 2 && c.stemPool, `a ${c.stemKernel}×${c.stemKernel} s${c.stemStride} stem${c.stemPool ? '' : ' without max pool'} (timm: 7×7 s2 + 3×3 s2 max pool)`);
  need(c.stemWidth === 64, `stem width ${c.stemWidth} (timm's plain stem has 64 channels)`);
  need(c.depths.length === 4, `${c.depths.length} stages (timm's forward runs layer1…layer4)`);
  need(c.strides.every((s, i) => s === (i === 0 ? 1 : 2)), `strides [${c.strides}] (timm: 1, 2, 2, 2)`);
  need(c.bnEps === 1e-5, `bnEps ${c.bnEps} (timm's BatchNorm2d: 1e-5)`);
  if (problems.length) throw new ValueError(`timm cannot build ${c.variant} as configured: ${problems.join('; ')}`);
  return { block: c.block === 'bottleneck' ? 'Bottleneck' : 'BasicBlock', layers: [...c.depths], channels: [...c.channels] };
}

/**
 * The model's state as a timm state dict in safetensors (PyTorch layouts, float32, each
 * BN's num_batches_tracked as int64 0, the safetensors library's layout): timm's ResNet of
 * `timmResNetArgs(model.config)` loads it strict=True. Throws first if timm cannot build
 * the configuration.
 */
export async function exportResNetTimm(model: ResNetModelLike): Promise<Uint8Array> {
  timmResNetArgs(model.config);
  const tensors: Record<string, HostTensor> = {};
  const values = await model.state.read();
  for (const [p] of model.state.entries()) {
    tensors[p.name] = toPyTorchLayout(p, values.get(p.name)!);
    if (p.name.endsWith('.running_var')) tensors[p.name.replace(/running_var$/, 'num_batches_tracked')] = { dtype: 'I64', shape: [], data: new BigInt64Array(1) };
  }
  return encodeSafetensors(tensors, {}, { checksums: false });
}

/** A safetensors file's tensors (for callers holding bytes). */
export function decodeTimm(file: Uint8Array): Map<string, DecodedTensor> {
  return decodeSafetensors(file, 'timm state dict').tensors;
}
