/**
 * The NFNet family as a table, as in the papers (Brock et al. 2021: "High-Performance
 * Large-Scale Image Recognition Without Normalization"; NF-ResNets from "Characterizing
 * signal propagation to close the performance gap in unnormalized ResNets").
 */
import { ValueError } from '../runtime/errors.js';
import type { ActivationKind } from '../ops/activation.js';

/** One stem convolution: WS-conv k×k with this stride and output width. */
export interface StemConv {
  channels: number;
  stride: number;
  kernel: number;
}

export interface NFNetConfig {
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

function nfnetF(name: string, plus: boolean): NFNetConfig {
  const row = F_TABLE[name.replace('+', '') as keyof typeof F_TABLE];
  const widths = plus ? F_PLUS_WIDTHS : F_WIDTHS;
  return {
    variant: name, family: 'nfnet', depths: row.depths, widths, strides: [1, 2, 2, 2],
    stem: deepStem(widths[0]), stemPool: false, groupWidth: 128, bottleneckRatio: 0.5, seRatio: 0.5,
    alpha: 0.2, stochDepthRate: 0.25, dropout: row.dropout, activation: 'gelu', finalConvMult: 2,
    numClasses: 1000, inChannels: 3, trainResolution: row.train, testResolution: row.test,
  };
}

function nfResNet(name: string, depths: number[]): NFNetConfig {
  return {
    variant: name, family: 'nfresnet', depths, widths: [256, 512, 1024, 2048], strides: [1, 2, 2, 2],
    stem: [{ channels: 64, stride: 2, kernel: 7 }], stemPool: true, groupWidth: null, bottleneckRatio: 0.25,
    seRatio: 0, alpha: 0.2, stochDepthRate: 0.1, dropout: 0.25, activation: 'relu', finalConvMult: 0,
    numClasses: 1000, inChannels: 3, trainResolution: 224, testResolution: 224,
  };
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
  };
  if (name === 'pico') return { ...base, widths: [16, 32], stem: [{ channels: 8, stride: 2, kernel: 3 }], groupWidth: 8 };
  if (name === 'micro') return { ...base, depths: [1, 2, 2], widths: [32, 64, 128], strides: [1, 2, 2], trainResolution: 32, testResolution: 32, inChannels: 3 };
  return base;
}

export const VARIANTS = [
  ...Object.keys(F_TABLE), ...Object.keys(F_TABLE).map((f) => `${f}+`),
  'nf-resnet-26', 'nf-resnet-50', 'nf-resnet-101', 'pico', 'nano', 'micro',
] as const;
export type VariantName = (typeof VARIANTS)[number];

export type ConfigOverrides = Partial<Omit<NFNetConfig, 'variant'>>;

/** The configuration of a named variant, with any field overridden. */
export function variantConfig(name: string, overrides: ConfigOverrides = {}): NFNetConfig {
  const key = name.trim();
  const upper = key.toUpperCase();
  let cfg: NFNetConfig;
  if (/^F[0-7]\+?$/.test(upper)) cfg = nfnetF(upper, upper.endsWith('+'));
  else if (key === 'nf-resnet-26') cfg = nfResNet(key, [2, 2, 2, 2]);
  else if (key === 'nf-resnet-50') cfg = nfResNet(key, [3, 4, 6, 3]);
  else if (key === 'nf-resnet-101') cfg = nfResNet(key, [3, 4, 23, 3]);
  else if (['pico', 'nano', 'micro'].includes(key)) cfg = small(key);
  else throw new ValueError(`unknown variant '${name}'; known: ${VARIANTS.join(', ')}`);
  const merged = { ...cfg, ...overrides };
  validateConfig(merged);
  return merged;
}

function validateConfig(c: NFNetConfig): void {
  const n = c.depths.length;
  if (c.widths.length !== n || c.strides.length !== n) {
    throw new ValueError(`variant ${c.variant}: depths, widths and strides need one entry per stage (${n}), got ${c.widths.length} and ${c.strides.length}`);
  }
  if (!Number.isInteger(c.numClasses) || c.numClasses < 1) throw new ValueError(`numClasses must be a positive integer, got ${c.numClasses}`);
  if (!Number.isInteger(c.inChannels) || c.inChannels < 1) throw new ValueError(`inChannels must be a positive integer, got ${c.inChannels}`);
  for (const [k, v] of [['alpha', c.alpha], ['stochDepthRate', c.stochDepthRate], ['dropout', c.dropout], ['seRatio', c.seRatio]] as const) {
    if (!(v >= 0 && v < 1)) throw new ValueError(`${k} must be in [0, 1), got ${v}`);
  }
  c.widths.forEach((w) => {
    const mid = Math.floor(w * c.bottleneckRatio);
    const groups = groupsFor(mid, c.groupWidth);
    if (mid < 1 || mid % groups !== 0) {
      throw new ValueError(`variant ${c.variant}: bottleneck width ${mid} does not split into ${groups} groups of width ${c.groupWidth}`);
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
