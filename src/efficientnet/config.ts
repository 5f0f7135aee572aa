/**
 * EfficientNet (Tan & Le 2019, "EfficientNet: Rethinking Model Scaling for Convolutional
 * Neural Networks") as one base table and its compound scaling: B0's seven MBConv stages,
 * and per variant a width multiplier (channels, rounded to a divisor) and a depth
 * multiplier (repeats, rounded up). B1…B7 are not tables of their own: they are B0's table
 * with their multipliers, scaled the way timm scales it (its round_channels and 'ceil'
 * depth rounding), so every timm name has timm's exact parameter count.
 *
 * timm's two spellings of each network: `efficientnet_bN` (PyTorch symmetric padding,
 * BatchNorm ε 1e-5) and `tf_efficientnet_bN` (the ports of the TensorFlow weights:
 * TensorFlow 'SAME' padding, ε 1e-3). Both keep PyTorch's BN momentum 0.1.
 */
import { LimitError, ValueError } from '../runtime/errors.js';
import { checkOptions, describeValue, didYouMean } from '../runtime/validate.js';
import type { ModelConfig } from '../models/model.js';

/** One stage of the base table (B0's, before scaling). */
export interface StageSpec {
  /** 'ds': depthwise-separable (depthwise conv → SE → 1×1, no expansion); 'ir': MBConv (1×1 expand → depthwise → SE → 1×1). */
  block: 'ds' | 'ir';
  repeats: number;
  kernel: number;
  /** The stride of the stage's first block (the others have stride 1). */
  stride: number;
  /** Expansion ratio of the 1×1 expand conv ('ds' blocks: 1). */
  expansion: number;
  channels: number;
  /** Squeeze-excite hidden width as a fraction of the block's INPUT channels (0: no SE). */
  seRatio: number;
}

export interface EfficientNetConfig extends ModelConfig {
  family: 'efficientnet';
  variant: string;
  /** The base stage table, scaled by the multipliers below. */
  stages: readonly StageSpec[];
  widthMultiplier: number;
  depthMultiplier: number;
  /** Scaled channel counts are rounded to multiples of this (never more than 10% down). */
  channelDivisor: number;
  /** Stem width and head width before scaling (B0: 32 and 1280). */
  stemChannels: number;
  headChannels: number;
  /** 'same': TensorFlow SAME (tf_ variants); 'symmetric': PyTorch's ((s − 1) + (k − 1))/2 on each side. */
  padding: 'same' | 'symmetric';
  bnEps: number;
  /** PyTorch's convention: running ← (1 − m)·running + m·batch. */
  bnMomentum: number;
  activation: 'silu' | 'relu';
  /** Dropout before the classifier. */
  dropout: number;
  /** Drop-connect of the residual branches: block i of n drops with probability rate·i/n. */
  stochDepthRate: number;
  numClasses: number;
  inChannels: number;
  trainResolution: number;
  testResolution: number;
}

/** B0's table (the paper's Table 1): MBConv1 k3, then MBConv6 stages, SE 0.25, SiLU. */
export const B0_STAGES: readonly StageSpec[] = [
  { block: 'ds', repeats: 1, kernel: 3, stride: 1, expansion: 1, channels: 16, seRatio: 0.25 },
  { block: 'ir', repeats: 2, kernel: 3, stride: 2, expansion: 6, channels: 24, seRatio: 0.25 },
  { block: 'ir', repeats: 2, kernel: 5, stride: 2, expansion: 6, channels: 40, seRatio: 0.25 },
  { block: 'ir', repeats: 3, kernel: 3, stride: 2, expansion: 6, channels: 80, seRatio: 0.25 },
  { block: 'ir', repeats: 3, kernel: 5, stride: 1, expansion: 6, channels: 112, seRatio: 0.25 },
  { block: 'ir', repeats: 4, kernel: 5, stride: 2, expansion: 6, channels: 192, seRatio: 0.25 },
  { block: 'ir', repeats: 1, kernel: 3, stride: 1, expansion: 6, channels: 320, seRatio: 0.25 },
];

/** Compound scaling per variant: width, depth, resolution, dropout (the paper's and timm's table). */
const SCALING = {
  b0: [1.0, 1.0, 224, 0.2],
  b1: [1.0, 1.1, 240, 0.2],
  b2: [1.1, 1.2, 260, 0.3],
  b3: [1.2, 1.4, 300, 0.3],
  b4: [1.4, 1.8, 380, 0.4],
  b5: [1.6, 2.2, 456, 0.4],
  b6: [1.8, 2.6, 528, 0.5],
  b7: [2.0, 3.1, 600, 0.5],
} as const;

function scaled(variant: string, key: keyof typeof SCALING, tf: boolean): EfficientNetConfig {
  const [width, depth, res, dropout] = SCALING[key];
  return {
    family: 'efficientnet', variant, stages: B0_STAGES, widthMultiplier: width, depthMultiplier: depth, channelDivisor: 8,
    stemChannels: 32, headChannels: 1280, padding: tf ? 'same' : 'symmetric', bnEps: tf ? 1e-3 : 1e-5, bnMomentum: 0.1,
    activation: 'silu', dropout, stochDepthRate: 0.2, numClasses: 1000, inChannels: 3, trainResolution: res, testResolution: res,
  };
}

/**
 * The small variants: B0's table at a quarter of its width (channels to multiples of 4)
 * and depth (one block per stage), and a head of 128 (B0's 1280 would be 320), for tests
 * and demos: about 100k parameters. The sixth stage keeps stride 1 so
 * the last feature map stays 2×2 on 28 or 32 px images (stem /2, then /2 three times).
 *  - efficientnet_nano:  28×28×1 (Fashion-MNIST), 10 classes;
 *  - efficientnet_micro: 32×32×3 (CIFAR-sized), 10 classes.
 */
const SMALL_STAGES: readonly StageSpec[] = B0_STAGES.map((s, i) => (i === 5 ? { ...s, stride: 1 } : s));

function small(variant: 'efficientnet_nano' | 'efficientnet_micro'): EfficientNetConfig {
  const rgb = variant === 'efficientnet_micro';
  return {
    ...scaled(variant, 'b0', false), stages: SMALL_STAGES, widthMultiplier: 0.25, depthMultiplier: 0.25, channelDivisor: 4, headChannels: 512,
    dropout: 0.1, stochDepthRate: 0.1, numClasses: 10, inChannels: rgb ? 3 : 1, trainResolution: rgb ? 32 : 28, testResolution: rgb ? 32 : 28,
  };
}

const B_KEYS = Object.keys(SCALING) as (keyof typeof SCALING)[];
/** timm's names, each with timm's exact parameter count (test/efficientnet-info.test.ts). */
export const TIMM_VARIANTS = [...B_KEYS.map((k) => `efficientnet_${k}`), ...B_KEYS.map((k) => `tf_efficientnet_${k}`)];
export const SMALL_VARIANTS = ['efficientnet_nano', 'efficientnet_micro'] as const;
export const VARIANTS: readonly string[] = [...TIMM_VARIANTS, ...SMALL_VARIANTS];

/** Every field of EfficientNetConfig (a compile error below when one is added and not listed). */
export const CONFIG_FIELDS = [
  'family', 'variant', 'stages', 'widthMultiplier', 'depthMultiplier', 'channelDivisor', 'stemChannels', 'headChannels',
  'padding', 'bnEps', 'bnMomentum', 'activation', 'dropout', 'stochDepthRate', 'numClasses', 'inChannels', 'trainResolution', 'testResolution',
] as const;
type Listed = (typeof CONFIG_FIELDS)[number];
const _everyFieldListed: [Exclude<keyof EfficientNetConfig, Listed>, Exclude<Listed, keyof EfficientNetConfig>] extends [never, never] ? true : never = true;
void _everyFieldListed;
const STAGE_FIELDS = ['block', 'repeats', 'kernel', 'stride', 'expansion', 'channels', 'seRatio'] as const;
/** The fields an override may set (all but the family and the variant's name). */
export const OVERRIDE_FIELDS: readonly string[] = CONFIG_FIELDS.filter((f) => f !== 'variant' && f !== 'family');
export type ConfigOverrides = Partial<Omit<EfficientNetConfig, 'variant' | 'family'>>;

function variantByName(fn: string, name: unknown): EfficientNetConfig {
  if (typeof name !== 'string') throw new ValueError(`${fn}: variant must be a variant name (a string), got ${describeValue(name)}`);
  const key = name.trim();
  const m = /^(tf_)?efficientnet_(b[0-7])$/.exec(key);
  if (m) return scaled(key, m[2] as keyof typeof SCALING, !!m[1]);
  if ((SMALL_VARIANTS as readonly string[]).includes(key)) return small(key as (typeof SMALL_VARIANTS)[number]);
  throw new ValueError(`${fn}: unknown EfficientNet variant '${name}'${didYouMean(key, VARIANTS)}; known: ${VARIANTS.join(', ')}`);
}

/** The configuration of a named variant with any fields overridden, checked whole (`validateConfig`). */
export function variantConfig(name: string, overrides: ConfigOverrides = {}, fn = 'efficientnet.variantConfig'): EfficientNetConfig {
  const cfg = variantByName(fn, name);
  const o = checkOptions(fn, overrides, OVERRIDE_FIELDS, 'overrides');
  return validateConfig({ ...cfg, ...o });
}

/**
 * Bounds that keep a typo from exhausting memory while planning or building (B7 has 7
 * stages, 55 blocks, 640 output channels at most, an expanded width of 3840 and a
 * 2560-wide head; L2-sized networks would still fit).
 */
export const CONFIG_LIMITS = {
  stages: 16, blocks: 512, repeats: 64, channels: 8192, kernel: 15, stride: 4, expansion: 16, multiplier: 16,
  numClasses: 1_000_000, inChannels: 1024, resolution: 8192,
} as const;

function positiveInt(where: string, name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ValueError(`${where}: ${name} must be a positive integer, got ${describeValue(v)}`);
  if (v > max) throw new LimitError(`${where}: ${name} = ${v} is over the limit of ${max} (CONFIG_LIMITS: a larger value is taken for a typo)`);
  return v;
}

function positive(where: string, name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0)) throw new ValueError(`${where}: ${name} must be a positive finite number, got ${describeValue(v)}`);
  if (v > max) throw new LimitError(`${where}: ${name} = ${v} is over the limit of ${max} (CONFIG_LIMITS)`);
  return v;
}

function fraction(where: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new ValueError(`${where}: ${name} must be in [0, 1), got ${describeValue(v)}`);
}

function oneOf<T extends string>(where: string, name: string, v: unknown, allowed: readonly T[]): void {
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    const hint = typeof v === 'string' ? didYouMean(v, allowed) : '';
    throw new ValueError(`${where}: ${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describeValue(v)}${hint}`);
  }
}

function checkStage(where: string, s: unknown, i: number): void {
  const at = `stages[${i}]`;
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw new ValueError(`${where}: ${at} must be an object {${STAGE_FIELDS.join(', ')}}, got ${describeValue(s)}`);
  checkOptions(where, s as StageSpec, STAGE_FIELDS, at);
  const st = s as StageSpec;
  for (const f of STAGE_FIELDS) if (!(f in st)) throw new ValueError(`${where}: ${at} has no '${f}'`);
  oneOf(where, `${at}.block`, st.block, ['ds', 'ir'] as const);
  positiveInt(where, `${at}.repeats`, st.repeats, CONFIG_LIMITS.repeats);
  positiveInt(where, `${at}.kernel`, st.kernel, CONFIG_LIMITS.kernel);
  if (st.kernel % 2 === 0) throw new ValueError(`${where}: ${at}.kernel must be odd (centred depthwise convs), got ${st.kernel}`);
  positiveInt(where, `${at}.stride`, st.stride, CONFIG_LIMITS.stride);
  positive(where, `${at}.expansion`, st.expansion, CONFIG_LIMITS.expansion);
  if (st.block === 'ds' && st.expansion !== 1) throw new ValueError(`${where}: ${at} is a depthwise-separable ('ds') stage, which has no expansion: expansion must be 1, got ${st.expansion}`);
  positiveInt(where, `${at}.channels`, st.channels, CONFIG_LIMITS.channels);
  fraction(where, `${at}.seRatio`, st.seRatio);
}

/**
 * Check a whole configuration: every field's type, finiteness and range, each stage of the
 * table, and the scaled network against CONFIG_LIMITS. Typed errors (ValueError, LimitError
 * for a bound) name the variant and the field; no GPU work. Returns the config.
 */
export function validateConfig(c: EfficientNetConfig): EfficientNetConfig {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new ValueError(`EfficientNet config must be an object, got ${describeValue(c)}`);
  checkOptions('EfficientNet config', c, CONFIG_FIELDS, 'config');
  if (typeof c.variant !== 'string' || !c.variant) throw new ValueError(`EfficientNet config: variant must be a non-empty string, got ${describeValue(c.variant)}`);
  const where = `variant ${c.variant}`;
  for (const f of CONFIG_FIELDS) if (!(f in c)) throw new ValueError(`${where}: the config has no '${f}'`);
  if (c.family !== 'efficientnet') throw new ValueError(`${where}: family must be 'efficientnet', got ${describeValue(c.family)}`);
  if (!Array.isArray(c.stages) || c.stages.length < 1 || c.stages.length > CONFIG_LIMITS.stages) {
    throw new ValueError(`${where}: stages must be an array of 1 to ${CONFIG_LIMITS.stages} stages {${STAGE_FIELDS.join(', ')}}, got ${describeValue(c.stages)}`);
  }
  c.stages.forEach((s, i) => checkStage(where, s, i));
  positive(where, 'widthMultiplier', c.widthMultiplier, CONFIG_LIMITS.multiplier);
  positive(where, 'depthMultiplier', c.depthMultiplier, CONFIG_LIMITS.multiplier);
  positiveInt(where, 'channelDivisor', c.channelDivisor, 64);
  positiveInt(where, 'stemChannels', c.stemChannels, CONFIG_LIMITS.channels);
  positiveInt(where, 'headChannels', c.headChannels, CONFIG_LIMITS.channels);
  oneOf(where, 'padding', c.padding, ['same', 'symmetric'] as const);
  positive(where, 'bnEps', c.bnEps, 1);
  if (typeof c.bnMomentum !== 'number' || !(c.bnMomentum >= 0 && c.bnMomentum <= 1)) throw new ValueError(`${where}: bnMomentum must be in [0, 1], got ${describeValue(c.bnMomentum)}`);
  oneOf(where, 'activation', c.activation, ['silu', 'relu'] as const);
  fraction(where, 'dropout', c.dropout);
  fraction(where, 'stochDepthRate', c.stochDepthRate);
  positiveInt(where, 'numClasses', c.numClasses, CONFIG_LIMITS.numClasses);
  positiveInt(where, 'inChannels', c.inChannels, CONFIG_LIMITS.inChannels);
  positiveInt(where, 'trainResolution', c.trainResolution, CONFIG_LIMITS.resolution);
  positiveInt(where, 'testResolution', c.testResolution, CONFIG_LIMITS.resolution);
  // The scaled network: depth and widths after rounding.
  const blocks = c.stages.reduce((n, s) => n + scaleDepth(s.repeats, c.depthMultiplier), 0);
  if (blocks > CONFIG_LIMITS.blocks) throw new LimitError(`${where}: the scaled table has ${blocks} blocks, over the limit of ${CONFIG_LIMITS.blocks} (CONFIG_LIMITS)`);
  for (const [name, base] of [['stemChannels', c.stemChannels], ['headChannels', c.headChannels], ...c.stages.map((s, i) => [`stages[${i}].channels`, s.channels] as const)] as const) {
    const w = roundChannels(base, c.widthMultiplier, c.channelDivisor);
    if (w > CONFIG_LIMITS.channels) throw new LimitError(`${where}: ${name} ${base} scales to ${w} channels, over the limit of ${CONFIG_LIMITS.channels} (CONFIG_LIMITS)`);
  }
  return c;
}

/**
 * Round to the nearest multiple of `divisor` (at least `divisor`), one step up where that
 * lost more than 10%: timm's make_divisible (round_limit 0.9).
 */
export function makeDivisible(v: number, divisor: number): number {
  const r = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return r < 0.9 * v ? r + divisor : r;
}

/** A base width scaled by the width multiplier: timm's round_channels. */
export const roundChannels = (channels: number, multiplier: number, divisor: number) => makeDivisible(channels * multiplier, divisor);

/** A stage's repeats scaled by the depth multiplier, rounded up (timm's depth_trunc 'ceil'). */
export const scaleDepth = (repeats: number, multiplier: number) => Math.ceil(repeats * multiplier);

/** Python's round(): halves to even (timm sizes SE layers with it). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** One block of the scaled network. */
export interface BlockPlan {
  /** timm's module path, `blocks.<stage>.<index>`. */
  name: string;
  stage: number;
  index: number;
  block: 'ds' | 'ir';
  inChannels: number;
  /** The depthwise conv's width: the expanded width ('ir'), the input width ('ds'). */
  midChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  /** Squeeze-excite hidden width (0: none). */
  seChannels: number;
  /** Residual connection (stride 1 and as many channels out as in). */
  skip: boolean;
  /** Drop-connect probability of the residual branch. */
  dropPath: number;
}

/** The stem's output width (the scaled `stemChannels`). */
export const stemWidth = (c: EfficientNetConfig) => roundChannels(c.stemChannels, c.widthMultiplier, c.channelDivisor);
/** The head conv's width (the scaled `headChannels`). */
export const headWidth = (c: EfficientNetConfig) => roundChannels(c.headChannels, c.widthMultiplier, c.channelDivisor);

/**
 * The base table scaled into blocks: each stage's repeats scaled by the depth multiplier
 * (rounded up), its channels by the width multiplier (rounded to the divisor); the first
 * block of a stage takes its stride. Expanded widths are rounded to multiples of 8 and the
 * SE width is round(expanded · seRatio / expansion) — of the block's input width when the
 * expansion is exact — as timm computes both. Drop-connect grows with the block's index.
 */
export function planBlocks(c: EfficientNetConfig): BlockPlan[] {
  const counts = c.stages.map((s) => scaleDepth(s.repeats, c.depthMultiplier));
  const total = counts.reduce((a, b) => a + b, 0);
  const blocks: BlockPlan[] = [];
  let inCh = stemWidth(c);
  c.stages.forEach((s, stage) => {
    const outCh = roundChannels(s.channels, c.widthMultiplier, c.channelDivisor);
    for (let index = 0; index < counts[stage]!; index++) {
      const stride = index === 0 ? s.stride : 1;
      const mid = s.block === 'ir' ? makeDivisible(inCh * s.expansion, 8) : inCh;
      blocks.push({
        name: `blocks.${stage}.${index}`, stage, index, block: s.block, inChannels: inCh, midChannels: mid, outChannels: outCh,
        kernel: s.kernel, stride, seChannels: s.seRatio > 0 ? roundHalfEven(mid * (s.seRatio / s.expansion)) : 0,
        skip: stride === 1 && inCh === outCh, dropPath: (c.stochDepthRate * blocks.length) / total,
      });
      inCh = outCh;
    }
  });
  return blocks;
}
