/**
 * timm interop for EfficientNet: import a timm `efficientnet_b*` / `tf_efficientnet_b*`
 * state dict (safetensors) and export ours as one that timm's EfficientNet loads with
 * strict=True.
 *
 * Our tensors carry timm's module paths (conv_stem, bn1, blocks.S.B.{conv_dw, bn1,
 * se.conv_reduce, se.conv_expand, conv_pw, bn2, conv_pwl, bn3}, conv_head, bn2,
 * classifier), so names map one to one; only the layouts differ: conv weights (the SE's
 * 1×1 convs included) OIHW → HWIO, the classifier (out, in) → (in, out). timm's BatchNorms
 * also hold `num_batches_tracked` (int64), which nothing here uses (BN momentum is fixed):
 * ignored on import, written as 0 on export, as a fresh timm model has it.
 *
 * The keys say which network a file is, not its padding or BN ε: `efficientnet_bN` and
 * `tf_efficientnet_bN` hold the same tensors. `configFromKeys` answers the PyTorch one;
 * build the model from the `tf_` name to load a `tf_` file.
 */
import { CheckpointError, encodeSafetensors, type DecodedTensor, type HostTensor } from '../io/safetensors.js';
import { ValueError } from '../runtime/errors.js';
import type { ModelState } from '../state/model-state.js';
import { loadTimmTensors, ourShapeOf, toPyTorchLayout, type TimmLoadOptions } from '../models/timm-tensors.js';

export type { TimmLoadOptions } from '../models/timm-tensors.js';
import { EfficientNetArchitecture } from './model.js';
import { TIMM_VARIANTS, variantConfig, type EfficientNetConfig } from './config.js';

/** What the interop reads and writes: a model's config and state (the seam's Model has both). */
export interface EfficientNetModelLike {
  readonly config: EfficientNetConfig;
  readonly state: ModelState;
}

const BN_COUNTER = '.num_batches_tracked';
const HEAD = 'classifier.';

/** Is this state dict a timm EfficientNet's? (Its stem, head and block names.) */
export function recognizes(keys: readonly string[]): boolean {
  const has = new Set(keys);
  return has.has('conv_stem.weight') && has.has('conv_head.weight') && has.has('classifier.weight') && keys.some((k) => /^blocks\.0\.0\.conv_dw\.weight$/.test(k));
}

function shapeOf(tensors: Map<string, DecodedTensor>, key: string): readonly number[] {
  const t = tensors.get(key);
  if (!t) throw new CheckpointError(`timm state dict has no '${key}': not an EfficientNet state dict`);
  return t.shape;
}

/**
 * The network a state dict holds: the timm name (efficientnet_b0…b7) whose every tensor
 * name and shape it matches, with its classes and input channels read from the classifier
 * and stem. A network that is none of them (another table, other multipliers) cannot be
 * told from its keys alone (strides are not in the weights): name it and its overrides.
 */
export function configFromKeys(tensors: Map<string, DecodedTensor>): EfficientNetConfig {
  const numClasses = shapeOf(tensors, 'classifier.weight')[0]!;
  const inChannels = shapeOf(tensors, 'conv_stem.weight')[1]!;
  const file = new Map([...tensors].filter(([k]) => !k.endsWith(BN_COUNTER)).map(([k, t]) => [k, ourShapeOf(t.shape).join(',')]));
  for (const variant of TIMM_VARIANTS) {
    const cfg = variantConfig(variant, { numClasses, inChannels }, 'configFromKeys');
    const specs = new EfficientNetArchitecture(cfg).layout.specs;
    if (specs.length === file.size && specs.every((s) => file.get(s.name) === s.shape.join(','))) return cfg;
  }
  throw new ValueError(`timm state dict: its ${file.size} tensors match none of ${TIMM_VARIANTS.filter((v) => !v.startsWith('tf_')).join(', ')}; name the variant and its overrides (strides and padding are not in the weights)`);
}

/**
 * Load timm's tensors into `model`: every name and shape is checked before anything is
 * written (nothing is half-loaded). Returns how many tensors were loaded and the timm keys
 * left unused (`num_batches_tracked`, the classifier with `freshHead`).
 */
export function load(model: EfficientNetModelLike, tensors: Map<string, DecodedTensor>, options: TimmLoadOptions = {}): { loaded: number; ignored: string[] } {
  return loadTimmTensors(model.state, tensors, { ours: (key) => (key.endsWith(BN_COUNTER) ? null : key), head: HEAD }, options);
}

/**
 * The model's state (parameters and running statistics) as a timm state dict in
 * safetensors: float32 in PyTorch layouts, a zero int64 `num_batches_tracked` per
 * BatchNorm, keys sorted, no metadata (what the `safetensors` library writes).
 */
export async function exportTimm(model: EfficientNetModelLike): Promise<Uint8Array> {
  const values = await model.state.read();
  const tensors: Record<string, HostTensor> = {};
  for (const [spec] of model.state.entries()) {
    tensors[spec.name] = toPyTorchLayout(spec, values.get(spec.name)!);
    if (spec.name.endsWith('.running_var')) tensors[spec.name.replace(/\.running_var$/, BN_COUNTER)] = { dtype: 'I64', shape: [], data: new BigInt64Array(1) };
  }
  return encodeSafetensors(tensors, {}, { checksums: false });
}
