/**
 * Batch-normalized ResNets (He et al. 2016), the NF-ResNets' baseline, by their timm names
 * (timm/models/resnet.py, `ResNet`): resnet18/34 (basic blocks), resnet26/50/101
 * (bottlenecks), and small variants for tests and demos. One table row per name; every
 * config, from a name, a checkpoint or by hand, is checked whole by `validateResNetConfig`.
 */
import { LimitError, ValueError } from '../runtime/errors.js';
import { checkOptions, describeValue, didYouMean } from '../runtime/validate.js';

export type ResNetBlock = 'basic' | 'bottleneck';

export interface ResNetConfig {
  family: 'resnet';
  variant: string;
  /** 'basic': two 3×3 convs (expansion 1); 'bottleneck': 1×1 → 3×3 (the stride) → 1×1 to 4× the planes. */
  block: ResNetBlock;
  depths: readonly number[];
  /** Planes per stage (timm's `channels`): a stage's output has planes × expansion channels. */
  channels: readonly number[];
  /** Stride of each stage's first block (on its 3×3 conv and its 1×1 downsample). */
  strides: readonly number[];
  /** The stem: one k×k conv (no bias) + BN + ReLU, then optionally a 3×3 stride-2 max pool padded by 1. */
  stemWidth: number;
  stemKernel: number;
  stemStride: number;
  stemPool: boolean;
  /** BatchNorm ε and momentum (PyTorch's: running ← (1 − m)·running + m·batch). */
  bnEps: number;
  bnMomentum: number;
  /** Start each block's last BN weight at 0, so every block starts as its shortcut (timm's default). */
  zeroInitLast: boolean;
  /** Dropout before the classifier (timm's drop_rate). */
  dropout: number;
  numClasses: number;
  inChannels: number;
  trainResolution: number;
  testResolution: number;
}

/** Output channels per plane of each block kind. */
export const EXPANSION: Record<ResNetBlock, number> = { basic: 1, bottleneck: 4 };

/** timm's layer tables (resnet18 … resnet101). */
const TIMM_TABLE: Record<string, { block: ResNetBlock; depths: number[] }> = {
  resnet18: { block: 'basic', depths: [2, 2, 2, 2] },
  resnet34: { block: 'basic', depths: [3, 4, 6, 3] },
  resnet26: { block: 'bottleneck', depths: [2, 2, 2, 2] },
  resnet50: { block: 'bottleneck', depths: [3, 4, 6, 3] },
  resnet101: { block: 'bottleneck', depths: [3, 4, 23, 3] },
};

/**
 * timm's ImageNet ResNet: a 7×7 s2 stem of 64 channels with a max pool, planes
 * 64/128/256/512, strides 1/2/2/2; default_cfgs: trained at 224 px, tested at 288.
 */
function timmResNet(name: string): ResNetConfig {
  const row = TIMM_TABLE[name]!;
  return {
    family: 'resnet', variant: name, block: row.block, depths: row.depths, channels: [64, 128, 256, 512], strides: [1, 2, 2, 2],
    stemWidth: 64, stemKernel: 7, stemStride: 2, stemPool: true, bnEps: 1e-5, bnMomentum: 0.1, zeroInitLast: true, dropout: 0,
    numClasses: 1000, inChannels: 3, trainResolution: 224, testResolution: 288,
  };
}

/**
 * Small variants (a 3×3 stride-1 stem, no max pool, so tiny images keep their pixels):
 *  - resnet_tiny: 28×28×1 (Fashion-MNIST), basic blocks, one per stage, 16/32/64 channels;
 *  - resnet_micro: 32×32×3, bottlenecks, one per stage, planes 8/16/32 (outputs 32/64/128).
 */
const SMALL: Record<string, Omit<ResNetConfig, 'family' | 'variant' | 'stemKernel' | 'stemStride' | 'stemPool' | 'bnEps' | 'bnMomentum' | 'zeroInitLast' | 'dropout'>> = {
  resnet_tiny: {
    block: 'basic', depths: [1, 1, 1], channels: [16, 32, 64], strides: [1, 2, 2], stemWidth: 16,
    numClasses: 10, inChannels: 1, trainResolution: 28, testResolution: 28,
  },
  resnet_micro: {
    block: 'bottleneck', depths: [1, 1, 1], channels: [8, 16, 32], strides: [1, 2, 2], stemWidth: 16,
    numClasses: 10, inChannels: 3, trainResolution: 32, testResolution: 32,
  },
};

function smallResNet(name: string): ResNetConfig {
  return {
    family: 'resnet', variant: name, ...SMALL[name]!, stemKernel: 3, stemStride: 1, stemPool: false,
    bnEps: 1e-5, bnMomentum: 0.1, zeroInitLast: true, dropout: 0,
  };
}

/** timm's names (full size, ImageNet) and the small ones. */
export const RESNET_TIMM_VARIANTS = Object.keys(TIMM_TABLE);
export const RESNET_VARIANTS: readonly string[] = [...RESNET_TIMM_VARIANTS, ...Object.keys(SMALL)];

/** Every field of ResNetConfig (a compile error below when one is added and not listed). */
export const RESNET_CONFIG_FIELDS = [
  'family', 'variant', 'block', 'depths', 'channels', 'strides', 'stemWidth', 'stemKernel', 'stemStride', 'stemPool',
  'bnEps', 'bnMomentum', 'zeroInitLast', 'dropout', 'numClasses', 'inChannels', 'trainResolution', 'testResolution',
] as const;
type Listed = (typeof RESNET_CONFIG_FIELDS)[number];
const _everyFieldListed: [Exclude<keyof ResNetConfig, Listed>, Exclude<Listed, keyof ResNetConfig>] extends [never, never] ? true : never = true;
void _everyFieldListed;
/** The fields an override may set (all but the family and the variant's name). */
export const RESNET_OVERRIDE_FIELDS: readonly string[] = RESNET_CONFIG_FIELDS.filter((f) => f !== 'variant' && f !== 'family');

export type ResNetOverrides = Partial<Omit<ResNetConfig, 'variant' | 'family'>>;

/**
 * Bounds that keep a typo from exhausting memory while planning or building (resnet101 has
 * 4 stages, 33 blocks, 2048 output channels).
 */
export const RESNET_LIMITS = {
  stages: 16, blocks: 1024, width: 16384, kernel: 15, stride: 4, numClasses: 1_000_000, inChannels: 1024, resolution: 8192,
} as const;

/** The checked config of a named variant with any fields overridden (unknown names and fields get a did-you-mean). */
export function resnetConfig(name: unknown, overrides: Record<string, unknown> | undefined = {}, fn = 'resnet.config'): ResNetConfig {
  if (typeof name !== 'string') throw new ValueError(`${fn}: variant must be a variant name (a string), got ${describeValue(name)}`);
  const key = name.trim();
  const base = key in TIMM_TABLE ? timmResNet(key) : key in SMALL ? smallResNet(key) : null;
  if (!base) throw new ValueError(`unknown ResNet variant '${name}'${didYouMean(key, RESNET_VARIANTS)}; known: ${RESNET_VARIANTS.join(', ')}`);
  const o = checkOptions(fn, overrides, RESNET_OVERRIDE_FIELDS, 'overrides');
  return validateResNetConfig({ ...base, ...o });
}

function positiveInt(where: string, name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ValueError(`${where}: ${name} must be a positive integer, got ${describeValue(v)}`);
  if (v > max) throw new LimitError(`${where}: ${name} = ${v} is over the limit of ${max} (RESNET_LIMITS: a larger value is taken for a typo)`);
  return v;
}

function intList(where: string, name: string, v: unknown, max: number): number[] {
  if (!Array.isArray(v) || v.length < 1 || v.length > RESNET_LIMITS.stages) {
    throw new ValueError(`${where}: ${name} must be an array of 1 to ${RESNET_LIMITS.stages} integers (one per stage), got ${describeValue(v)}`);
  }
  return v.map((x, i) => positiveInt(where, `${name}[${i}]`, x, max));
}

function boolField(where: string, name: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new ValueError(`${where}: ${name} must be true or false, got ${describeValue(v)}`);
}

/**
 * Check a whole configuration (from a name, a checkpoint, a timm file or by hand): every
 * field present and of its type and range, the stage lists of one length, the bounds
 * above. Typed errors (ValueError, LimitError for a bound) name the variant and the field;
 * no GPU work. Returns the config, typed.
 */
export function validateResNetConfig(c: unknown): ResNetConfig {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new ValueError(`ResNet config must be an object, got ${describeValue(c)}`);
  const r = c as ResNetConfig;
  checkOptions('ResNet config', r, RESNET_CONFIG_FIELDS, 'config');
  if (typeof r.variant !== 'string' || !r.variant) throw new ValueError(`ResNet config: variant must be a non-empty string, got ${describeValue(r.variant)}`);
  const where = `variant ${r.variant}`;
  for (const f of RESNET_CONFIG_FIELDS) if (!(f in r)) throw new ValueError(`${where}: the config has no '${f}'`);
  if (r.family !== 'resnet') throw new ValueError(`${where}: family must be 'resnet', got ${describeValue(r.family)}`);
  if (r.block !== 'basic' && r.block !== 'bottleneck') {
    throw new ValueError(`${where}: block must be 'basic' or 'bottleneck', got ${describeValue(r.block)}${typeof r.block === 'string' ? didYouMean(r.block, ['basic', 'bottleneck']) : ''}`);
  }
  const depths = intList(where, 'depths', r.depths, RESNET_LIMITS.blocks);
  const total = depths.reduce((a, b) => a + b, 0);
  if (total > RESNET_LIMITS.blocks) throw new LimitError(`${where}: depths [${depths.join(', ')}] make ${total} blocks, over the limit of ${RESNET_LIMITS.blocks} (RESNET_LIMITS)`);
  const channels = intList(where, 'channels', r.channels, RESNET_LIMITS.width / EXPANSION[r.block]);
  const strides = intList(where, 'strides', r.strides, RESNET_LIMITS.stride);
  if (channels.length !== depths.length || strides.length !== depths.length) {
    throw new ValueError(`${where}: depths, channels and strides need one entry per stage (${depths.length}), got ${channels.length} and ${strides.length}`);
  }
  positiveInt(where, 'stemWidth', r.stemWidth, RESNET_LIMITS.width);
  positiveInt(where, 'stemKernel', r.stemKernel, RESNET_LIMITS.kernel);
  if (r.stemKernel % 2 !== 1) throw new ValueError(`${where}: stemKernel must be odd (padded by (k − 1)/2 on each side), got ${r.stemKernel}`);
  positiveInt(where, 'stemStride', r.stemStride, RESNET_LIMITS.stride);
  boolField(where, 'stemPool', r.stemPool);
  if (typeof r.bnEps !== 'number' || !(r.bnEps > 0 && r.bnEps < 1)) throw new ValueError(`${where}: bnEps must be in (0, 1), got ${describeValue(r.bnEps)}`);
  if (typeof r.bnMomentum !== 'number' || !(r.bnMomentum >= 0 && r.bnMomentum <= 1)) throw new ValueError(`${where}: bnMomentum must be in [0, 1], got ${describeValue(r.bnMomentum)}`);
  boolField(where, 'zeroInitLast', r.zeroInitLast);
  if (typeof r.dropout !== 'number' || !(r.dropout >= 0 && r.dropout < 1)) throw new ValueError(`${where}: dropout must be in [0, 1), got ${describeValue(r.dropout)}`);
  positiveInt(where, 'numClasses', r.numClasses, RESNET_LIMITS.numClasses);
  positiveInt(where, 'inChannels', r.inChannels, RESNET_LIMITS.inChannels);
  positiveInt(where, 'trainResolution', r.trainResolution, RESNET_LIMITS.resolution);
  positiveInt(where, 'testResolution', r.testResolution, RESNET_LIMITS.resolution);
  return r;
}
