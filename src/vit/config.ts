/**
 * The Vision Transformer family as a table (Dosovitskiy et al. 2021, "An Image is Worth
 * 16x16 Words"; DeiT's tiny/small widths), by timm's names, plus small variants for 28×28×1
 * and 32×32×3 inputs. Each network: a patch embedding (a p×p stride-p convolution, here
 * patchify + linear), a learned class token, learned position embeddings for the class
 * token and every patch, `depth` pre-norm blocks x + attn(norm1(x)), x + mlp(norm2(x)), a
 * final LayerNorm and a linear head on the class token.
 */
import { LimitError, ValueError } from '../runtime/errors.js';
import { checkOptions, describeValue, didYouMean } from '../runtime/validate.js';

export interface ViTConfig {
  family: 'vit';
  variant: string;
  /** Side of the square patches (the patch embedding's kernel and stride). */
  patchSize: number;
  /** Token width D. */
  embedDim: number;
  /** Transformer blocks. */
  depth: number;
  /** Attention heads; embedDim must split into them evenly. */
  numHeads: number;
  /** MLP hidden width as a multiple of embedDim (4 in every published ViT). */
  mlpRatio: number;
  /** The resolution the position embedding is laid out for: a ViT runs at this size only. */
  imageSize: number;
  /** ε of every LayerNorm (timm's ViTs: 1e-6). */
  layerNormEps: number;
  /** Drop-path (stochastic depth, timm's drop_path_rate) of the last block: block i drops whole samples at rate·i/(depth − 1), timm's rule; the name is the one every family shares (`--stochastic-depth`). */
  stochDepthRate: number;
  /** Dropout before the head. */
  dropout: number;
  numClasses: number;
  inChannels: number;
  trainResolution: number;
  testResolution: number;
}

/** timm's ViT-Ti/S/B at patch 16 and 224 px (timm/models/vision_transformer.py). */
const TIMM_TABLE = {
  vit_tiny_patch16_224: { embedDim: 192, depth: 12, numHeads: 3 },
  vit_small_patch16_224: { embedDim: 384, depth: 12, numHeads: 6 },
  vit_base_patch16_224: { embedDim: 768, depth: 12, numHeads: 12 },
} as const;

/**
 * Small variants for tests and demos (names: width class, patch, input side):
 *  - vit_pico_patch7_28:  28×28×1 (Fashion-MNIST), 16 patches of 7×7, D 32, 2 blocks, 2 heads (~28k parameters)
 *  - vit_nano_patch4_28:  28×28×1, 49 patches of 4×4, D 48, 3 blocks, 3 heads (~90k)
 *  - vit_nano_patch4_32:  32×32×3 (CIFAR-sized), 64 patches of 4×4, D 48, 3 blocks, 3 heads (~92k)
 */
const SMALL_TABLE = {
  vit_pico_patch7_28: { patchSize: 7, embedDim: 32, depth: 2, numHeads: 2, imageSize: 28, inChannels: 1 },
  vit_nano_patch4_28: { patchSize: 4, embedDim: 48, depth: 3, numHeads: 3, imageSize: 28, inChannels: 1 },
  vit_nano_patch4_32: { patchSize: 4, embedDim: 48, depth: 3, numHeads: 3, imageSize: 32, inChannels: 3 },
} as const;

export const TIMM_VARIANTS = Object.keys(TIMM_TABLE) as readonly string[];
export const SMALL_VARIANTS = Object.keys(SMALL_TABLE) as readonly string[];
export const VARIANTS: readonly string[] = [...TIMM_VARIANTS, ...SMALL_VARIANTS];

/** Every field of ViTConfig (a compile error below when one is added and not listed). */
export const CONFIG_FIELDS = [
  'family', 'variant', 'patchSize', 'embedDim', 'depth', 'numHeads', 'mlpRatio', 'imageSize', 'layerNormEps',
  'stochDepthRate', 'dropout', 'numClasses', 'inChannels', 'trainResolution', 'testResolution',
] as const;
type Listed = (typeof CONFIG_FIELDS)[number];
const _everyFieldListed: [Exclude<keyof ViTConfig, Listed>, Exclude<Listed, keyof ViTConfig>] extends [never, never] ? true : never = true;
void _everyFieldListed;
/** The fields an override may set (all but the family and the variant's name). */
export const OVERRIDE_FIELDS: readonly string[] = CONFIG_FIELDS.filter((f) => f !== 'variant' && f !== 'family');

/**
 * Bounds that keep a typo from exhausting memory while planning or building (ViT-H/14 at
 * 518 px — D 1280, 32 blocks, 16 heads, 1,370 tokens — sits far inside them).
 */
export const CONFIG_LIMITS = {
  patchSize: 64, embedDim: 16384, depth: 256, numHeads: 256, mlpRatio: 16, tokens: 65536,
  numClasses: 1_000_000, inChannels: 1024, resolution: 8192,
} as const;

function base(variant: string): ViTConfig | null {
  if (Object.hasOwn(TIMM_TABLE, variant)) {
    const row = TIMM_TABLE[variant as keyof typeof TIMM_TABLE];
    return {
      family: 'vit', variant, patchSize: 16, ...row, mlpRatio: 4, imageSize: 224, layerNormEps: 1e-6,
      stochDepthRate: 0, dropout: 0, numClasses: 1000, inChannels: 3, trainResolution: 224, testResolution: 224,
    };
  }
  if (Object.hasOwn(SMALL_TABLE, variant)) {
    const row = SMALL_TABLE[variant as keyof typeof SMALL_TABLE];
    return {
      family: 'vit', variant, ...row, mlpRatio: 4, layerNormEps: 1e-6, stochDepthRate: 0.1, dropout: 0,
      numClasses: 10, trainResolution: row.imageSize, testResolution: row.imageSize,
    };
  }
  return null;
}

/**
 * The configuration of a named variant with any field overridden, checked whole. An
 * `imageSize` override moves the train and test resolutions with it unless they are given
 * too (the position embedding fixes the resolution).
 */
export function vitConfig(variant: unknown, overrides: Record<string, unknown> | undefined = {}, fn = 'vit.config'): ViTConfig {
  if (typeof variant !== 'string') throw new ValueError(`${fn}: variant must be a variant name (a string), got ${describeValue(variant)}`);
  const cfg = base(variant.trim());
  if (!cfg) throw new ValueError(`${fn}: unknown ViT variant '${variant}'${didYouMean(variant.trim(), VARIANTS)}; known: ${VARIANTS.join(', ')}`);
  const o = checkOptions(fn, overrides, OVERRIDE_FIELDS, 'overrides');
  const merged: Record<string, unknown> = { ...cfg, ...o };
  if ('imageSize' in o) {
    if (!('trainResolution' in o)) merged.trainResolution = o.imageSize;
    if (!('testResolution' in o)) merged.testResolution = o.imageSize;
  }
  return validateConfig(merged);
}

function integer(where: string, name: string, v: unknown, max: number, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ValueError(`${where}: ${name} must be ${min === 1 ? 'a positive' : `an`} integer${min > 1 ? ` >= ${min}` : ''}, got ${describeValue(v)}`);
  }
  if (v > max) throw new LimitError(`${where}: ${name} = ${v} is over the limit of ${max} (CONFIG_LIMITS: a larger value is taken for a typo)`);
  return v;
}

function fraction(where: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new ValueError(`${where}: ${name} must be in [0, 1), got ${describeValue(v)}`);
}

/**
 * Check a whole configuration (one from a checkpoint, a timm file or by hand): every
 * field's type and range, that the heads split the width, that the image splits into
 * patches, and the bounds above. Typed errors name the variant and the field; no GPU work.
 */
export function validateConfig(c: unknown): ViTConfig {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new ValueError(`ViT config must be an object, got ${describeValue(c)}`);
  checkOptions('ViT config', c, CONFIG_FIELDS, 'config');
  const r = c as Record<string, unknown>;
  if (typeof r.variant !== 'string' || !r.variant) throw new ValueError(`ViT config: variant must be a non-empty string, got ${describeValue(r.variant)}`);
  const where = `variant ${r.variant}`;
  for (const f of CONFIG_FIELDS) if (!(f in r)) throw new ValueError(`${where}: the config has no '${f}'`);
  if (r.family !== 'vit') throw new ValueError(`${where}: family must be 'vit', got ${describeValue(r.family)}`);
  const patch = integer(where, 'patchSize', r.patchSize, CONFIG_LIMITS.patchSize);
  const dim = integer(where, 'embedDim', r.embedDim, CONFIG_LIMITS.embedDim);
  integer(where, 'depth', r.depth, CONFIG_LIMITS.depth);
  const heads = integer(where, 'numHeads', r.numHeads, CONFIG_LIMITS.numHeads);
  if (dim % heads !== 0) throw new ValueError(`${where}: embedDim ${dim} does not split into ${heads} heads (embedDim must be a multiple of numHeads)`);
  if (typeof r.mlpRatio !== 'number' || !(r.mlpRatio > 0 && r.mlpRatio <= CONFIG_LIMITS.mlpRatio)) {
    throw new ValueError(`${where}: mlpRatio must be a number in (0, ${CONFIG_LIMITS.mlpRatio}], got ${describeValue(r.mlpRatio)}`);
  }
  if (Math.floor(dim * r.mlpRatio) < 1) throw new ValueError(`${where}: mlpRatio ${r.mlpRatio} leaves the MLP no hidden units at embedDim ${dim}`);
  const size = integer(where, 'imageSize', r.imageSize, CONFIG_LIMITS.resolution);
  if (size % patch !== 0) throw new ValueError(`${where}: imageSize ${size} is not a multiple of patchSize ${patch} (a ViT cuts the image into whole patches)`);
  const tokens = (size / patch) ** 2 + 1;
  if (tokens > CONFIG_LIMITS.tokens) throw new LimitError(`${where}: ${tokens} tokens (imageSize ${size}, patchSize ${patch}) are over the limit of ${CONFIG_LIMITS.tokens} (CONFIG_LIMITS)`);
  if (typeof r.layerNormEps !== 'number' || !(r.layerNormEps > 0) || !Number.isFinite(r.layerNormEps)) {
    throw new ValueError(`${where}: layerNormEps must be a positive finite number, got ${describeValue(r.layerNormEps)}`);
  }
  fraction(where, 'stochDepthRate', r.stochDepthRate);
  fraction(where, 'dropout', r.dropout);
  integer(where, 'numClasses', r.numClasses, CONFIG_LIMITS.numClasses);
  integer(where, 'inChannels', r.inChannels, CONFIG_LIMITS.inChannels);
  for (const f of ['trainResolution', 'testResolution'] as const) {
    const v = integer(where, f, r[f], CONFIG_LIMITS.resolution);
    // timm resamples the position embedding for another size; this engine keeps it fixed and says so.
    if (v !== size) throw new ValueError(`${where}: ${f} ${v} differs from imageSize ${size}: the position embedding is learned for ${size}×${size} inputs only (override imageSize to build the network for another size)`);
  }
  return c as ViTConfig;
}

/** Tokens of a config: one per patch plus the class token. */
export const tokenCount = (c: ViTConfig): number => (c.imageSize / c.patchSize) ** 2 + 1;
/** The MLP's hidden width, timm's int(D · mlp_ratio). */
export const mlpHidden = (c: ViTConfig): number => Math.floor(c.embedDim * c.mlpRatio);
