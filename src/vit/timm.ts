/**
 * timm interop for Vision Transformers, both ways: import a timm VisionTransformer state
 * dict (safetensors) into a ViT, and export a ViT as the state dict timm's
 * VisionTransformer loads with strict=True (docs/models.md, ViT section).
 *
 * The names are timm's own (the model declares its tensors under them); only layouts
 * change: the patch embedding's conv weight [D, C, p, p] (OIHW) is our linear [p·p·C, D]
 * with rows in (py, px, c) order (what patchify produces), linear weights (out, in) are
 * (in, out); cls_token [1, 1, D], pos_embed [1, T, D], norms and biases are as they are.
 * Import is strict both ways: every tensor of the model from the file, no key of the file
 * left over (a key we do not have is a feature of timm's we do not build: register tokens,
 * layer scale, qk-norm, fc_norm, …, refused by name).
 */
import { CheckpointError, encodeSafetensors, type DecodedTensor, type HostTensor } from '../io/safetensors.js';
import { ValueError } from '../runtime/errors.js';
import type { ModelState, StateSpec } from '../state/model-state.js';
import { float32Of, loadTimmTensors, transposeOI, type TimmLoadOptions } from '../models/timm-tensors.js';
import { TIMM_VARIANTS, vitConfig, type ViTConfig } from './config.js';

/** What import and export need of a model (a Model<ViTConfig>). */
export interface ViTModelLike {
  readonly config: ViTConfig;
  readonly state: ModelState;
}

export type TimmProgress = (done: number, total: number) => void;

const PATCH = 'patch_embed.proj.weight';
const HEAD = 'head.';

/** Is a state dict with these keys a timm VisionTransformer (class token, position embedding, patch conv, qkv blocks)? */
export const isTimmViT = (keys: readonly string[]): boolean =>
  ['cls_token', 'pos_embed', PATCH, 'blocks.0.attn.qkv.weight'].every((k) => keys.includes(k));

/** timm features this engine does not build, by a key that only they have. */
const UNSUPPORTED: [RegExp, string][] = [
  [/^reg_token$/, 'register tokens'],
  [/^dist_token$/, 'a distillation token (DeiT distilled)'],
  [/\.ls[12]\.gamma$/, 'layer scale'],
  [/\.attn\.[qk]_norm\./, 'qk-norm'],
  [/\.(attn\.norm|mlp\.norm)\./, 'scale norms inside attention / MLP'],
  [/^fc_norm\./, 'fc_norm (average-pooled heads)'],
  [/^norm_pre\./, 'a pre-norm after the embedding (CLIP)'],
  [/^attn_pool\./, 'attention pooling'],
  [/^patch_embed\.norm\./, 'a norm in the patch embedding'],
];

const shapeOf = (tensors: Map<string, DecodedTensor>, key: string): number[] => {
  const t = tensors.get(key);
  if (!t) throw new CheckpointError(`timm ViT state dict: no '${key}', which every timm VisionTransformer of this kind has`);
  return t.shape;
};

/** Refuse a state dict of a ViT kind this engine does not build, naming every feature. */
function checkSupported(tensors: Map<string, DecodedTensor>): void {
  const found = new Set<string>();
  for (const key of tensors.keys()) for (const [re, what] of UNSUPPORTED) if (re.test(key)) found.add(what);
  if (tensors.has('blocks.0.attn.qkv.weight') && !tensors.has('blocks.0.attn.qkv.bias')) found.add('qkv without bias');
  if (found.size) throw new CheckpointError(`timm ViT state dict: this engine's ViT has no ${[...found].join(', ')}`);
}

/**
 * The network a timm ViT state dict belongs to, from its keys and shapes: width (cls_token),
 * patch size and input channels (the patch conv), resolution (pos_embed's token count),
 * depth (the blocks), MLP ratio (fc1), classes (head). The number of heads does not show in
 * any shape: a width of one of timm's named models gets that model's heads, another width
 * that is a multiple of 64 gets 64-wide heads (every published ViT's), anything else is
 * refused (name the variant and give numHeads), unless `heads` says. The LayerNorm ε is timm's 1e-6.
 */
export function vitConfigFromKeys(tensors: Map<string, DecodedTensor>, heads?: number): ViTConfig {
  checkSupported(tensors);
  const [, , dim] = shapeOf(tensors, 'cls_token') as [number, number, number];
  const [d2, inChannels, ph, pw] = shapeOf(tensors, PATCH) as [number, number, number, number];
  if (d2 !== dim || ph !== pw) throw new CheckpointError(`timm ViT state dict: ${PATCH} ${JSON.stringify(shapeOf(tensors, PATCH))} is not a square patch conv to the width ${dim}`);
  const tokens = shapeOf(tensors, 'pos_embed')[1]!;
  const grid = Math.round(Math.sqrt(tokens - 1));
  if (grid * grid !== tokens - 1) throw new CheckpointError(`timm ViT state dict: pos_embed has ${tokens} tokens, not a class token and a square grid of patches`);
  let depth = 0;
  while (tensors.has(`blocks.${depth}.norm1.weight`)) depth++;
  if (!depth) throw new CheckpointError("timm ViT state dict: no 'blocks.0.norm1.weight'");
  const hidden = shapeOf(tensors, 'blocks.0.mlp.fc1.weight')[0]!;
  const [numClasses] = shapeOf(tensors, 'head.weight') as [number];
  const named = TIMM_VARIANTS.map((v) => vitConfig(v)).find((c) => c.embedDim === dim);
  const numHeads = heads ?? named?.numHeads ?? (dim % 64 === 0 ? dim / 64 : 0);
  if (!numHeads) {
    throw new CheckpointError(`timm ViT state dict: width ${dim} is none of timm's named ViTs and not a multiple of 64, so the number of heads cannot be told from the weights: import with a variant and overrides.numHeads`);
  }
  const overrides = { patchSize: ph, embedDim: dim, depth, numHeads, mlpRatio: hidden / dim, imageSize: grid * ph, inChannels, numClasses };
  const cfg = vitConfig('vit_base_patch16_224', overrides, 'importTimm');
  const same = TIMM_VARIANTS.find((v) => JSON.stringify({ ...vitConfig(v, { numClasses, inChannels }), variant: '' }) === JSON.stringify({ ...cfg, variant: '' }));
  return same ? { ...cfg, variant: same } : { ...cfg, variant: 'vit-custom' };
}

/** A named variant's config with the classes and input channels of a timm file (and any overrides). */
export function vitConfigFromName(variant: string, tensors: Map<string, DecodedTensor>, overrides?: Record<string, unknown>): ViTConfig {
  checkSupported(tensors);
  const [numClasses] = shapeOf(tensors, 'head.weight') as [number];
  const inChannels = shapeOf(tensors, PATCH)[1]!;
  return vitConfig(variant, { numClasses, inChannels, ...overrides }, 'importTimm');
}

/** Our shape for a timm tensor. */
function ourShape(key: string, s: readonly number[]): number[] {
  if (key === PATCH && s.length === 4) return [s[2]! * s[3]! * s[1]!, s[0]!];
  if (key.endsWith('.weight') && s.length === 2) return [s[1]!, s[0]!];
  return [...s];
}

/** A timm tensor's values in our layout, written into `into`. */
function writeOurValues(key: string, t: DecodedTensor, into: Float32Array): void {
  const v = float32Of(t);
  const s = t.shape;
  // [D, C, p, p] → [p, p, C, D] (= [p·p·C, D]); (out, in) → (in, out).
  if (key === PATCH && s.length === 4) transposeOI(v, into, s[0]!, s[1]!, s[2]! * s[3]!);
  else if (key.endsWith('.weight') && s.length === 2) transposeOI(v, into, s[0]!, s[1]!, 1);
  else into.set(v);
}

/**
 * Check every tensor's name and shape (strict both ways), then convert and place them.
 * With `freshHead` the file's head is ignored and the model's initialiser draws a new one.
 */
export function loadTimmViT(model: ViTModelLike, tensors: Map<string, DecodedTensor>, o: TimmLoadOptions = {}): { loaded: number; ignored: string[] } {
  checkSupported(tensors);
  return loadTimmTensors(model.state, tensors, { ours: (key) => key, shape: ourShape, write: writeOurValues, head: HEAD }, o);
}

/** One of our tensors in timm's layout and shape. */
function toTimmLayout(p: StateSpec, v: Float32Array, c: ViTConfig): HostTensor {
  const s = p.shape;
  if (p.name === PATCH) {
    const [pp, dim, ch] = [c.patchSize, c.embedDim, c.inChannels];
    const out = new Float32Array(v.length);
    for (let a = 0; a < dim; a++) for (let k = 0; k < ch; k++) for (let y = 0; y < pp; y++) for (let x = 0; x < pp; x++) {
      out[((a * ch + k) * pp + y) * pp + x] = v[((y * pp + x) * ch + k) * dim + a]!;
    }
    return { dtype: 'F32', shape: [dim, ch, pp, pp], data: out };
  }
  if (p.kind === 'weight' && s.length === 2) {
    const [i, o] = s as [number, number];
    const out = new Float32Array(v.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[a * i + b] = v[b * o + a]!;
    return { dtype: 'F32', shape: [o, i], data: out };
  }
  return { dtype: 'F32', shape: [...s], data: v };
}

/**
 * timm's arguments for the same network: `vision_transformer.vit_tiny_patch16_224(**args)`
 * (or VisionTransformer(**args)) builds it. Throws when timm's ViT would compute otherwise
 * (a LayerNorm ε other than timm's 1e-6).
 */
export function timmViTArgs(c: ViTConfig): Record<string, number> {
  if (c.layerNormEps !== 1e-6) throw new ValueError(`timm's VisionTransformer uses LayerNorm ε 1e-6; ${c.variant} has ${c.layerNormEps}`);
  return {
    img_size: c.imageSize, patch_size: c.patchSize, embed_dim: c.embedDim, depth: c.depth, num_heads: c.numHeads,
    mlp_ratio: c.mlpRatio, in_chans: c.inChannels, num_classes: c.numClasses,
  };
}

/** The model's tensors as timm's VisionTransformer state dict (float32, PyTorch layouts, keys sorted, no metadata). */
export async function exportTimmViT(model: ViTModelLike): Promise<Uint8Array> {
  timmViTArgs(model.config);
  const values = await model.state.read();
  const tensors: Record<string, HostTensor> = {};
  for (const [p] of model.state.entries()) tensors[p.name] = toTimmLayout(p, values.get(p.name)!, model.config);
  return encodeSafetensors(tensors, {}, { checksums: false }); // byte for byte what timm's safetensors writer gives
}
