/**
 * The NFNet family as a table, as in the papers (Brock et al. 2021: "High-Performance
 * Large-Scale Image Recognition Without Normalization"; NF-ResNets from "Characterizing
 * signal propagation to close the performance gap in unnormalized ResNets"), and timm's
 * ports of it by their timm names (dm_nfnet_f0…, nf_resnet50, …): the same tables with
 * timm's numerics (see `Numerics` and docs/timm.md).
 */
import { LimitError, ValueError } from '../runtime/errors.js';
import { GAMMA, type ActivationKind } from '../ops/activation.js';
import { checkOptions, describeValue, didYouMean } from '../runtime/validate.js';

/**
 * The choices on which the DeepMind reference and timm compute differently (docs/timm.md
 * has the table, row by row, with the reason for each).
 */
export interface Numerics {
  /**
   * Weight standardization: 'reference' Ŵ = gain·(W − μ)/√max(N·σ², wsEps); 'timm'
   * Ŵ = gain·(W − μ)/√(σ² + wsEps)·N^-½ (timm's ScaledStdConv2d).
   */
  wsForm: 'reference' | 'timm';
  /** The reference's floor on N·σ² (1e-4) or the ε timm adds to σ² (1e-5). */
  wsEps: number;
  /** Conv (and stem max-pool) padding: TensorFlow 'same', or PyTorch 'symmetric' ((s − 1 + k − 1)/2 on each side). */
  padding: 'same' | 'symmetric';
  /** A learnable scalar skip_gain on each residual branch (SkipInit); timm's NF-ResNets have none. */
  skipGain: boolean;
  /** Shortcut of a strided block: 'avgpool' (2×2 s2 average pool, then 1×1 conv) or 'strided' (1×1 conv of stride 2). */
  transitionShortcut: 'avgpool' | 'strided';
  /**
   * Where the activation gamma goes: 'activation' (γ·act(x), the reference) or 'conv' (into
   * every WS-conv's weight scale, activations plain — timm's default: the first stem conv
   * then also scales the image by γ and the activation before the pooled head has none).
   */
  gammaPlacement: 'activation' | 'conv';
}

/** One stem convolution: WS-conv k×k with this stride and output width. */
export interface StemConv {
  channels: number;
  stride: number;
  kernel: number;
}

export interface NFNetConfig extends Numerics {
  variant: string;
  /** 'nfnet': grouped bottleneck blocks with two 3×3 convs and SE; 'nfresnet': ResNet bottlenecks. */
  family: 'nfnet' | 'nfresnet';
  depths: readonly number[];
  widths: readonly number[];
  strides: readonly number[];
  stem: readonly StemConv[];
  /** NF-ResNet stem: 3×3 stride-2 max pool after the convolutions. */
  stemPool: boolean;
  /** Channels per group in the 3×3 convs (NF-ResNet: one group, width = channels). */
  groupWidth: number | null;
  bottleneckRatio: number;
  /** Squeeze-excite hidden width as a fraction of the block's output channels (0 = no SE). */
  seRatio: number;
  alpha: number;
  stochDepthRate: number;
  dropout: number;
  activation: ActivationKind;
  /** Head: 1×1 WS-conv to finalConvMult × last width before pooling (0 = none, NF-ResNet). */
  finalConvMult: number;
  numClasses: number;
  inChannels: number;
  trainResolution: number;
  testResolution: number;
}

const F_WIDTHS = [256, 512, 1536, 1536] as const;
const F_PLUS_WIDTHS = [384, 768, 2048, 2048] as const;

/** depths, train/test resolution and dropout of F0…F7 (the reference JAX table). */
const F_TABLE = {
  F0: { depths: [1, 2, 6, 3], train: 192, test: 256, dropout: 0.2 },
  F1: { depths: [2, 4, 12, 6], train: 224, test: 320, dropout: 0.3 },
  F2: { depths: [3, 6, 18, 9], train: 256, test: 352, dropout: 0.4 },
  F3: { depths: [4, 8, 24, 12], train: 320, test: 416, dropout: 0.4 },
  F4: { depths: [5, 10, 30, 15], train: 384, test: 512, dropout: 0.5 },
  F5: { depths: [6, 12, 36, 18], train: 416, test: 544, dropout: 0.5 },
  F6: { depths: [7, 14, 42, 21], train: 448, test: 576, dropout: 0.5 },
  F7: { depths: [8, 16, 48, 24], train: 480, test: 608, dropout: 0.5 },
} as const;

/** The deep stem: 3×3 convs s2→16, s1→32, s1→64, s2→widths[0]/2. */
function deepStem(firstWidth: number): StemConv[] {
  return [
    { channels: 16, stride: 2, kernel: 3 },
    { channels: 32, stride: 1, kernel: 3 },
    { channels: 64, stride: 1, kernel: 3 },
    { channels: firstWidth / 2, stride: 2, kernel: 3 },
  ];
}

/** The DeepMind reference's numerics (NF-ResNets: strided 1×1 transition shortcuts). */
export function referenceNumerics(family: NFNetConfig['family']): Numerics {
  return {
    wsForm: 'reference', wsEps: 1e-4, padding: 'same', skipGain: true,
    transitionShortcut: family === 'nfnet' ? 'avgpool' : 'strided', gammaPlacement: 'activation',
  };
}

function nfnetF(name: string, plus: boolean): NFNetConfig {
  const row = F_TABLE[name.replace('+', '') as keyof typeof F_TABLE];
  const widths = plus ? F_PLUS_WIDTHS : F_WIDTHS;
  return {
    variant: name, family: 'nfnet', depths: row.depths, widths, strides: [1, 2, 2, 2],
    stem: deepStem(widths[0]), stemPool: false, groupWidth: 128, bottleneckRatio: 0.5, seRatio: 0.5,
    alpha: 0.2, stochDepthRate: 0.25, dropout: row.dropout, activation: 'gelu', finalConvMult: 2,
    numClasses: 1000, inChannels: 3, trainResolution: row.train, testResolution: row.test,
    ...referenceNumerics('nfnet'),
  };
}

function nfResNet(name: string, depths: number[]): NFNetConfig {
  return {
    variant: name, family: 'nfresnet', depths, widths: [256, 512, 1024, 2048], strides: [1, 2, 2, 2],
    stem: [{ channels: 64, stride: 2, kernel: 7 }], stemPool: true, groupWidth: null, bottleneckRatio: 0.25,
    seRatio: 0, alpha: 0.2, stochDepthRate: 0.1, dropout: 0.25, activation: 'relu', finalConvMult: 0,
    numClasses: 1000, inChannels: 3, trainResolution: 224, testResolution: 224,
    ...referenceNumerics('nfresnet'),
  };
}

/**
 * timm's NF models (timm/models/nfnet.py): the same tables, timm's numerics.
 *  - dm_nfnet_f0…f6 (DeepMind's weights, `_dm_nfnet_cfg`): TF-SAME padding, gamma in the
 *    activations, skip gains, exact GELU, timm's WS with ε = 1e-5;
 *  - nfnet_f0…f7 (`_nfnet_cfg`): symmetric padding, gamma in the convs, no skip gains;
 *  - nf_resnet26/50/101 (`_nfres_cfg`), nf_seresnet* (SE of 1/16): symmetric padding, gamma
 *    in the convs, no skip gains, average-pool transition shortcuts, stem 7×7 s2 conv and
 *    3×3 s2 max pool padded by 1.
 */
const TIMM_NUMERICS = { wsForm: 'timm', wsEps: 1e-5, transitionShortcut: 'avgpool' } as const;
const TIMM_RESNET_DEPTHS: Record<string, number[]> = { 26: [2, 2, 2, 2], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3] };

function timmVariant(name: string): NFNetConfig | null {
  let m = /^dm_nfnet_f([0-6])$/.exec(name);
  if (m) {
    return { ...nfnetF(`F${m[1]}`, false), variant: name, activation: 'gelu_erf', ...TIMM_NUMERICS, padding: 'same', skipGain: true, gammaPlacement: 'activation' };
  }
  m = /^nfnet_f([0-7])$/.exec(name);
  if (m) {
    return { ...nfnetF(`F${m[1]}`, false), variant: name, activation: 'gelu_erf', ...TIMM_NUMERICS, padding: 'symmetric', skipGain: false, gammaPlacement: 'conv' };
  }
  m = /^nf_(se)?resnet(26|50|101)$/.exec(name);
  if (m) {
    // Only nf_resnet50 has released weights, trained at 256 px and tested at 288 (timm's default_cfgs).
    const ra2 = name === 'nf_resnet50';
    return {
      ...nfResNet(name, TIMM_RESNET_DEPTHS[m[2]!]!), seRatio: m[1] ? 1 / 16 : 0,
      trainResolution: ra2 ? 256 : 224, testResolution: ra2 ? 288 : 224,
      ...TIMM_NUMERICS, padding: 'symmetric', skipGain: false, gammaPlacement: 'conv',
    };
  }
  return null;
}

/**
 * Small variants for tests and demos. `nano` is for 28×28 single-channel images
 * (Fashion-MNIST): one stride-2 stem conv, two stages, the full NFNet block otherwise.
 */
function small(name: string): NFNetConfig {
  const base: NFNetConfig = {
    variant: name, family: 'nfnet', depths: [1, 1], widths: [32, 64], strides: [1, 2],
    stem: [{ channels: 16, stride: 2, kernel: 3 }], stemPool: false, groupWidth: 8, bottleneckRatio: 0.5,
    seRatio: 0.5, alpha: 0.2, stochDepthRate: 0.1, dropout: 0.1, activation: 'gelu', finalConvMult: 2,
    numClasses: 10, inChannels: 1, trainResolution: 28, testResolution: 28,
    ...referenceNumerics('nfnet'),
  };
  if (name === 'pico') return { ...base, widths: [16, 32], stem: [{ channels: 8, stride: 2, kernel: 3 }], groupWidth: 8 };
  if (name === 'micro') return { ...base, depths: [1, 2, 2], widths: [32, 64, 128], strides: [1, 2, 2], trainResolution: 32, testResolution: 32, inChannels: 3 };
  return base;
}

export const TIMM_VARIANTS = [
  ...[0, 1, 2, 3, 4, 5, 6].map((i) => `dm_nfnet_f${i}`), ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `nfnet_f${i}`),
  'nf_resnet26', 'nf_resnet50', 'nf_resnet101', 'nf_seresnet26', 'nf_seresnet50', 'nf_seresnet101',
];

export const VARIANTS = [
  ...Object.keys(F_TABLE), ...Object.keys(F_TABLE).map((f) => `${f}+`),
  'nf-resnet-26', 'nf-resnet-50', 'nf-resnet-101', 'pico', 'nano', 'micro',
] as const;
export type VariantName = (typeof VARIANTS)[number];

export type ConfigOverrides = Partial<Omit<NFNetConfig, 'variant'>>;

/** Every field of NFNetConfig (a compile error below when one is added and not listed). */
export const CONFIG_FIELDS = [
  'variant', 'family', 'depths', 'widths', 'strides', 'stem', 'stemPool', 'groupWidth', 'bottleneckRatio', 'seRatio', 'alpha',
  'stochDepthRate', 'dropout', 'activation', 'finalConvMult', 'numClasses', 'inChannels', 'trainResolution', 'testResolution',
  'wsForm', 'wsEps', 'padding', 'skipGain', 'transitionShortcut', 'gammaPlacement',
] as const;
type Listed = (typeof CONFIG_FIELDS)[number];
const _everyFieldListed: [Exclude<keyof NFNetConfig, Listed>, Exclude<Listed, keyof NFNetConfig>] extends [never, never] ? true : never = true;
void _everyFieldListed;
/** The fields an override may set (all but the variant's name). */
export const OVERRIDE_FIELDS: readonly string[] = CONFIG_FIELDS.filter((f) => f !== 'variant');

function variantByName(fn: string, name: unknown): NFNetConfig {
  if (typeof name !== 'string') throw new ValueError(`${fn}: variant must be a variant name (a string), got ${describeValue(name)}`);
  const key = name.trim();
  const upper = key.toUpperCase();
  if (/^F[0-7]\+?$/.test(upper)) return nfnetF(upper, upper.endsWith('+'));
  if (key === 'nf-resnet-26') return nfResNet(key, [2, 2, 2, 2]);
  if (key === 'nf-resnet-50') return nfResNet(key, [3, 4, 6, 3]);
  if (key === 'nf-resnet-101') return nfResNet(key, [3, 4, 23, 3]);
  if (['pico', 'nano', 'micro'].includes(key)) return small(key);
  const timm = timmVariant(key);
  if (timm) return timm;
  const known = [...VARIANTS, ...TIMM_VARIANTS];
  throw new ValueError(`unknown variant '${name}'${didYouMean(key, known)}; known: ${known.join(', ')}`);
}

/**
 * The configuration of a named variant, with any field overridden: unknown override names
 * are refused with a did-you-mean, and the result is checked whole (`validateConfig`).
 */
export function variantConfig(name: string, overrides: ConfigOverrides = {}, fn = 'variantConfig'): NFNetConfig {
  const cfg = variantByName(fn, name);
  const o = checkOptions(fn, overrides, OVERRIDE_FIELDS, 'overrides');
  const merged = { ...cfg, ...o };
  validateConfig(merged);
  return merged;
}

/**
 * A config from before the numerics options (e.g. an older checkpoint's metadata) gets the
 * reference's, which is what it was built with.
 */
export function withNumerics(c: Omit<NFNetConfig, keyof Numerics> & Partial<Numerics>): NFNetConfig {
  return { ...referenceNumerics(c.family), ...c } as NFNetConfig;
}

/**
 * Bounds that keep a typo from exhausting memory while planning or building (the largest
 * published configs sit far inside them: F7 has 4 stages, 96 blocks, widths ≤ 2048 and a
 * 4096-wide head; ImageNet-21k has 21,843 classes).
 */
export const CONFIG_LIMITS = {
  stages: 16, blocks: 1024, width: 16384, stemConvs: 8, kernel: 15, stride: 4, finalConvMult: 8,
  numClasses: 1_000_000, inChannels: 1024, resolution: 8192,
} as const;

const enumField = <T extends string>(where: string, name: string, v: unknown, allowed: readonly T[]): void => {
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    const hint = typeof v === 'string' ? didYouMean(v, allowed) : '';
    throw new ValueError(`${where}: ${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describeValue(v)}${hint}`);
  }
};

function positiveInt(where: string, name: string, v: unknown, max: number, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ValueError(`${where}: ${name} must be a ${min === 1 ? 'positive' : 'non-negative'} integer, got ${describeValue(v)}`);
  }
  if (v > max) throw new LimitError(`${where}: ${name} = ${v} is over the limit of ${max} (CONFIG_LIMITS: a larger value is taken for a typo)`);
  return v;
}

function fraction(where: string, name: string, v: unknown, hi = 1, closed = false): void {
  if (typeof v !== 'number' || !(v >= 0 && (closed ? v <= hi : v < hi))) throw new ValueError(`${where}: ${name} must be in [0, ${hi}${closed ? ']' : ')'}, got ${describeValue(v)}`);
}

function intList(where: string, name: string, v: unknown, max: number, min = 1): number[] {
  if (!Array.isArray(v) || v.length < 1 || v.length > CONFIG_LIMITS.stages) {
    throw new ValueError(`${where}: ${name} must be an array of 1 to ${CONFIG_LIMITS.stages} integers (one per stage), got ${describeValue(v)}`);
  }
  return v.map((x, i) => positiveInt(where, `${name}[${i}]`, x, max, min));
}

/**
 * Check a whole configuration: every field's type, finiteness and range, the stage lists'
 * lengths, the stem, the bounds above, and that each bottleneck splits into its groups.
 * Typed errors (ValueError, LimitError for a bound) name the variant and the field; no
 * GPU work, no allocation beyond the config itself. `new NFNet(config)` calls it, so a
 * config from a checkpoint or a timm file goes through it too.
 */
export function validateConfig(c: NFNetConfig): void {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new ValueError(`NFNet config must be an object, got ${describeValue(c)}`);
  checkOptions('NFNet config', c, CONFIG_FIELDS, 'config');
  if (typeof c.variant !== 'string' || !c.variant) throw new ValueError(`NFNet config: variant must be a non-empty string, got ${describeValue(c.variant)}`);
  const where = `variant ${c.variant}`;
  for (const f of CONFIG_FIELDS) if (!(f in c)) throw new ValueError(`${where}: the config has no '${f}'`);
  enumField(where, 'family', c.family, ['nfnet', 'nfresnet'] as const);
  const depths = intList(where, 'depths', c.depths, CONFIG_LIMITS.blocks);
  const total = depths.reduce((a, b) => a + b, 0);
  if (total > CONFIG_LIMITS.blocks) throw new LimitError(`${where}: depths [${depths.join(', ')}] make ${total} blocks, over the limit of ${CONFIG_LIMITS.blocks} (CONFIG_LIMITS)`);
  const widths = intList(where, 'widths', c.widths, CONFIG_LIMITS.width);
  const strides = intList(where, 'strides', c.strides, CONFIG_LIMITS.stride);
  const n = depths.length;
  if (widths.length !== n || strides.length !== n) {
    throw new ValueError(`${where}: depths, widths and strides need one entry per stage (${n}), got ${widths.length} and ${strides.length}`);
  }
  enumField(where, 'transitionShortcut', c.transitionShortcut, ['avgpool', 'strided'] as const);
  if (c.transitionShortcut === 'avgpool' && strides.some((s) => s > 2)) {
    throw new ValueError(`${where}: strides must be 1 or 2 with transitionShortcut 'avgpool' (its shortcut pools 2×2 with stride 2), got [${strides.join(', ')}]`);
  }
  if (!Array.isArray(c.stem) || c.stem.length > CONFIG_LIMITS.stemConvs) {
    throw new ValueError(`${where}: stem must be an array of at most ${CONFIG_LIMITS.stemConvs} convs {channels, stride, kernel}, got ${describeValue(c.stem)}`);
  }
  c.stem.forEach((s, i) => {
    checkOptions(where, s, ['channels', 'stride', 'kernel'], `stem[${i}]`);
    positiveInt(where, `stem[${i}].channels`, s.channels, CONFIG_LIMITS.width);
    positiveInt(where, `stem[${i}].stride`, s.stride, CONFIG_LIMITS.stride);
    positiveInt(where, `stem[${i}].kernel`, s.kernel, CONFIG_LIMITS.kernel);
  });
  if (typeof c.stemPool !== 'boolean') throw new ValueError(`${where}: stemPool must be true or false, got ${describeValue(c.stemPool)}`);
  if (c.groupWidth !== null) positiveInt(where, 'groupWidth', c.groupWidth, CONFIG_LIMITS.width);
  if (typeof c.bottleneckRatio !== 'number' || !(c.bottleneckRatio > 0 && c.bottleneckRatio <= 4)) {
    throw new ValueError(`${where}: bottleneckRatio must be a number in (0, 4], got ${describeValue(c.bottleneckRatio)}`);
  }
  fraction(where, 'seRatio', c.seRatio);
  fraction(where, 'alpha', c.alpha);
  fraction(where, 'stochDepthRate', c.stochDepthRate);
  fraction(where, 'dropout', c.dropout);
  enumField(where, 'activation', c.activation, Object.keys(GAMMA) as ActivationKind[]);
  positiveInt(where, 'finalConvMult', c.finalConvMult, CONFIG_LIMITS.finalConvMult, 0);
  positiveInt(where, 'numClasses', c.numClasses, CONFIG_LIMITS.numClasses);
  positiveInt(where, 'inChannels', c.inChannels, CONFIG_LIMITS.inChannels);
  positiveInt(where, 'trainResolution', c.trainResolution, CONFIG_LIMITS.resolution);
  positiveInt(where, 'testResolution', c.testResolution, CONFIG_LIMITS.resolution);
  enumField(where, 'wsForm', c.wsForm, ['reference', 'timm'] as const);
  if (typeof c.wsEps !== 'number' || !(c.wsEps > 0) || !Number.isFinite(c.wsEps)) throw new ValueError(`${where}: wsEps must be a positive finite number, got ${describeValue(c.wsEps)}`);
  enumField(where, 'padding', c.padding, ['same', 'symmetric'] as const);
  if (typeof c.skipGain !== 'boolean') throw new ValueError(`${where}: skipGain must be true or false, got ${describeValue(c.skipGain)}`);
  enumField(where, 'gammaPlacement', c.gammaPlacement, ['activation', 'conv'] as const);
  widths.forEach((w) => {
    const mid = Math.floor(w * c.bottleneckRatio);
    const groups = groupsFor(mid, c.groupWidth);
    if (mid < 1 || mid % groups !== 0) {
      throw new ValueError(`${where}: bottleneck width ${mid} does not split into ${groups} groups of width ${c.groupWidth}`);
    }
  });
}

/**
 * Groups of a bottleneck of `mid` channels: floor(mid / groupWidth), at least 1, as the
 * reference does (so F0+'s 192-wide first stage is one group of 192).
 */
export function groupsFor(mid: number, groupWidth: number | null): number {
  return groupWidth ? Math.max(1, Math.floor(mid / groupWidth)) : 1;
}
