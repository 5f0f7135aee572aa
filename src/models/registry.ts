/**
 * The network families, by name: `create`, `info`, checkpoints, timm import/export and the
 * CLI find a family here from a variant name, a config or a timm state dict's keys. A
 * family is one folder (src/nfnet/, …) with a `family.ts`; adding one is a line in FAMILIES.
 */
import type { DecodedTensor } from '../io/safetensors.js';
import { ValueError } from '../runtime/errors.js';
import { checkNumber, checkOptions, describeValue, didYouMean } from '../runtime/validate.js';
import type { Architecture, Model, ModelConfig } from './model.js';
import { summarize, type NetworkInfo } from './info.js';
import { nfnetFamily } from '../nfnet/family.js';
import { efficientnetFamily } from '../efficientnet/family.js';
import { resnetFamily } from '../resnet/family.js';
import { vitFamily } from '../vit/family.js';

export type TimmProgress = (done: number, total: number) => void;

/** A family's side of timm interop (src/models/timm.ts dispatches to it). */
export interface TimmInterop<C extends ModelConfig = ModelConfig> {
  /** Is a state dict with these keys one of this family's networks? */
  recognizes(keys: readonly string[]): boolean;
  /** The network a state dict belongs to, read from its keys and shapes. */
  configFromKeys(tensors: Map<string, DecodedTensor>): C;
  /** The config for a timm name, with the file's classes and input channels. */
  configFromName(name: string, tensors: Map<string, DecodedTensor>, overrides: Record<string, unknown> | undefined): C;
  /** Every tensor checked first, then placed (nothing half-loaded); with freshHead the classifier is the model's own init. */
  load(model: Model<C>, tensors: Map<string, DecodedTensor>, options: { freshHead?: boolean; onProgress?: TimmProgress }): { loaded: number; ignored: string[] };
  /** timm's state dict for the model (safetensors), loadable with strict=True. */
  export(model: Model<C>): Promise<Uint8Array>;
  /** How timm builds this network (for the user's PyTorch side); throws a ValueError naming each choice timm cannot express. */
  builder(config: C): { code: string; kwargs: Record<string, unknown> };
}

export interface ModelFamily<C extends ModelConfig = ModelConfig> {
  /** 'nfnet', 'efficientnet', 'resnet', 'vit'. */
  readonly name: string;
  /** The family's title in `info` and messages for a config ('NFNet', 'EfficientNet', …). */
  title(config: C): string;
  /** Every name `create` accepts: timm's names and the small ones. */
  readonly variants: readonly string[];
  /** Does this family build the config (by its `family` tag)? */
  owns(config: ModelConfig): boolean;
  /** Config fields `create(name, overrides)` accepts. */
  readonly overrideFields: readonly string[];
  /** A named variant's config with overrides, checked whole (typed errors, did-you-mean). */
  config(variant: string, overrides: Record<string, unknown> | undefined, fn: string): C;
  /** Check a config from a checkpoint or made by hand (typed errors naming the field); returns it completed. */
  validate(config: C): C;
  /** The layers and their state layout (no GPU). */
  architecture(config: C, seed: number): Architecture<C>;
  /** The model on the GPU (`initialise: false` for a caller that loads every tensor at once). */
  build(config: C, seed: number, options?: { initialise?: boolean }): Model<C>;
  /** `info`'s summary: a first line (activation, widths, …) and any further lines. */
  describe(config: C): string;
  readonly timm?: TimmInterop<C>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const FAMILIES: readonly ModelFamily<any>[] = [nfnetFamily, efficientnetFamily, resnetFamily, vitFamily];

/** Every registered family. */
export function families(): readonly ModelFamily[] {
  return FAMILIES;
}

/** Every name `create` accepts, all families. */
export function modelNames(): string[] {
  return FAMILIES.flatMap((f) => [...f.variants]);
}

/** The family that has a variant of this name (case as the family accepts it). */
export function familyOfVariant(name: unknown, fn = 'models.create'): ModelFamily {
  if (typeof name !== 'string') throw new ValueError(`${fn}: the model name must be a string, got ${describeValue(name)}`);
  const key = name.trim();
  const exact = FAMILIES.find((f) => f.variants.includes(key));
  if (exact) return exact;
  // Families may accept spellings beyond their list (NFNets: 'f0', 'F0+'); ask each in turn.
  for (const f of FAMILIES) {
    try {
      f.config(key, undefined, fn);
      return f;
    } catch {
      /* not this family's */
    }
  }
  const known = modelNames();
  throw new ValueError(`${fn}: unknown model '${name}'${didYouMean(key, known)}; known: ${known.join(', ')}`);
}

/** The family that builds a config (a checkpoint's, a timm file's). */
export function familyOfConfig(config: unknown, fn = 'models'): ModelFamily {
  if (typeof config !== 'object' || config === null) throw new ValueError(`${fn}: config must be an object, got ${describeValue(config)}`);
  const f = FAMILIES.find((fam) => fam.owns(config as ModelConfig));
  if (!f) throw new ValueError(`${fn}: no model family builds a config of family ${describeValue((config as ModelConfig).family)}`);
  return f;
}

export interface CreateOptions {
  /** Initialisation seed (default 0). */
  seed?: number;
  /** Fields of the variant's config to change (numClasses, inChannels, …; each family lists its own). */
  [field: string]: unknown;
}

/** The named variant's config with overrides, checked (no GPU). */
export function configOf(name: string, overrides?: Record<string, unknown>, fn = 'models.config'): ModelConfig {
  const family = familyOfVariant(name, fn);
  return family.config(name, overrides, fn);
}

/** Build a model of any family by name on the current GPU: `create('efficientnet_b0', { numClasses: 10 })`. */
export function create(name: string, options?: CreateOptions): Model {
  const family = familyOfVariant(name, 'models.create');
  const { seed = 0, ...overrides } = checkOptions('models.create', options, [...family.overrideFields, 'seed']);
  checkNumber('models.create', 'seed', seed, { min: 0, max: 2 ** 32 - 1, integer: true });
  return family.build(family.config(name, overrides, 'models.create'), seed as number);
}

/** A model for a config (a checkpoint's): checked by its family first. */
export function modelFromConfig(config: ModelConfig, seed = 0, options: { initialise?: boolean } = {}): Model {
  const family = familyOfConfig(config);
  return family.build(family.validate(config), seed, options);
}

/** Exact parameter count, multiply-adds and the per-stage table of any named network (no GPU). */
export function info(name: string, options: { resolution?: number; [field: string]: unknown } = {}): NetworkInfo {
  const family = familyOfVariant(name, 'info');
  const { resolution, ...overrides } = checkOptions('info', options, [...family.overrideFields, 'resolution']);
  const config = family.config(name, overrides, 'info');
  const res = (resolution as number | undefined) ?? config.testResolution;
  checkNumber('info', 'resolution', res, { min: 1, integer: true });
  return summarize(config, res, family.architecture(config, 0).plan(res), { title: family.title(config), summary: family.describe(config) });
}
