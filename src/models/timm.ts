/**
 * timm interop for every family: `importTimm` finds the family a timm state dict belongs to
 * (from a timm name, or from the file's keys) and lets it build and load the model;
 * `exportTimm` writes any model as the state dict timm loads with strict=True. Each family's
 * key mapping and layouts live in its own folder (src/nfnet/timm.ts, …).
 */
import { CheckpointError, decodeSafetensors, type DecodedTensor } from '../io/safetensors.js';
import { ValueError } from '../runtime/errors.js';
import { checkOptions, describeValue } from '../runtime/validate.js';
import { Model, type ModelConfig } from './model.js';
import { families, familyOfConfig, familyOfVariant, type ModelFamily, type TimmInterop, type TimmProgress } from './registry.js';

export interface ImportOptions {
  /** A timm name (dm_nfnet_f0, efficientnet_b0, resnet50, vit_small_patch16_224, …); default: read the network from the keys. */
  variant?: string;
  /** Overrides on the config (classes and input channels come from the file). */
  overrides?: Record<string, unknown>;
  /** Leave the file's classifier out and start a fresh one (the model's init) for other classes: give their number in `overrides.numClasses`. */
  freshHead?: boolean;
  /** Seed of the fresh head (default 0). */
  seed?: number;
  /** Called after each tensor is placed with the elements loaded so far and the total. */
  onProgress?: TimmProgress;
}

const IMPORT_OPTIONS = ['variant', 'overrides', 'freshHead', 'seed', 'onProgress'] as const;

export interface ImportReport<C extends ModelConfig = ModelConfig> {
  model: Model<C>;
  loaded: number;
  /** timm keys with no counterpart here (e.g. `num_batches_tracked`). */
  ignored: string[];
}

function decode(file: Uint8Array | Map<string, DecodedTensor>): Map<string, DecodedTensor> {
  if (file instanceof Uint8Array) return decodeSafetensors(file, 'timm state dict').tensors;
  if (file instanceof Map) return file;
  throw new ValueError(`importTimm: file must be the bytes of a safetensors file (a Uint8Array) or its decoded tensors (a Map), got ${describeValue(file)}`);
}

function timmOf(family: ModelFamily, what: string): TimmInterop {
  if (!family.timm) throw new ValueError(`${what}: the ${family.name} family has no timm interop`);
  return family.timm;
}

/** The family whose timm networks have these keys. */
function familyOfKeys(tensors: Map<string, DecodedTensor>): ModelFamily {
  const keys = [...tensors.keys()];
  const f = families().find((fam) => fam.timm?.recognizes(keys));
  if (!f) throw new CheckpointError(`timm state dict: its keys (${keys.slice(0, 4).join(', ')}, …) are not those of any timm network this engine builds (${families().filter((x) => x.timm).map((x) => x.name).join(', ')})`);
  return f;
}

/**
 * Load timm weights (every tensor checked first; nothing is half-loaded) into a model built
 * here with timm's numerics, or into `model`:
 *
 *   const { model } = models.importTimm(bytes);                              // the network from the keys
 *   const { model } = models.importTimm(bytes, { variant: 'efficientnet_b0' });
 *   models.importTimm(existingModel, bytes);
 */
export function importTimm(model: Model, file: Uint8Array | Map<string, DecodedTensor>, options?: Pick<ImportOptions, 'onProgress'>): ImportReport;
export function importTimm(file: Uint8Array | Map<string, DecodedTensor>, options?: ImportOptions): ImportReport;
export function importTimm(a: Model | Uint8Array | Map<string, DecodedTensor>, b?: Uint8Array | Map<string, DecodedTensor> | ImportOptions, c?: Pick<ImportOptions, 'onProgress'>): ImportReport {
  if (a instanceof Model) {
    const o = checkOptions('importTimm', c, ['onProgress']);
    const timm = timmOf(familyOfConfig(a.config, 'importTimm'), 'importTimm');
    return { model: a, ...timm.load(a, decode(b as Uint8Array | Map<string, DecodedTensor>), { onProgress: o.onProgress }) };
  }
  const tensors = decode(a);
  const o = checkOptions('importTimm', b as ImportOptions | undefined, IMPORT_OPTIONS);
  const family = o.variant !== undefined ? familyOfVariant(o.variant, 'importTimm') : familyOfKeys(tensors);
  const timm = timmOf(family, 'importTimm');
  if (o.overrides !== undefined) checkOptions('importTimm', o.overrides, family.overrideFields, 'overrides');
  if (o.freshHead && !o.overrides?.numClasses) throw new ValueError('importTimm: freshHead needs the new number of classes (overrides.numClasses)');
  const config = o.variant !== undefined ? timm.configFromName(o.variant, tensors, o.overrides) : family.validate({ ...timm.configFromKeys(tensors), ...o.overrides });
  // Every tensor is loaded (or, for a fresh head, drawn by its initialiser) right away: skip the init.
  const built = family.build(config, o.seed ?? 0, { initialise: false });
  try {
    return { model: built, ...timm.load(built, tensors, o) };
  } catch (e) {
    built.dispose();
    throw e;
  }
}

/** The model's weights as a timm state dict (safetensors, PyTorch layouts) that timm loads with strict=True. */
export async function exportTimm(model: Model): Promise<Uint8Array> {
  if (!(model instanceof Model)) throw new ValueError(`exportTimm: model must be a model, got ${describeValue(model)}`);
  return timmOf(familyOfConfig(model.config, 'exportTimm'), 'exportTimm').export(model);
}
