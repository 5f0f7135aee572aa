/**
 * timm interop both ways: import timm `dm_nfnet_*` / `nfnet_f*` / `nf_(se)resnet*` state
 * dicts (safetensors) into a model with timm's numerics, and export a model as a timm-named
 * state dict that timm's NormFreeNet loads with strict=True (docs/timm.md).
 *
 * timm stores PyTorch layouts: conv weights OIHW, gains [O,1,1,1], SE 1×1-conv weights
 * [O,I,1,1], linear weights (out, in); we store HWIO and (in, out). Names map block by block:
 *   stem.conv{1..4}             → stem.conv{0..3}      (a one-conv stem: stem.conv → stem.conv0)
 *   stages.S.B.conv1/2/2b/3     → stages.S.blockB.conv0/1/1b/2
 *   stages.S.B.downsample.conv  → stages.S.blockB.shortcut
 *   stages.S.B.attn_last.fc1/2  → stages.S.blockB.se.fc0/1
 *   stages.S.B.skipinit_gain    → stages.S.blockB.skipGain
 *   final_conv → head.conv, head.fc → head.fc
 * timm computes differently from the DeepMind reference (WS form and ε, GELU form, padding,
 * gamma placement, skip gains, shortcuts): a model that takes timm's weights must be built
 * with timm's numerics, which the timm names (`create('dm_nfnet_f0')`) and `importTimm(file)`
 * do.
 */
import { CheckpointError, decodeSafetensors, encodeSafetensors, type DecodedTensor, type HostTensor } from '../io/safetensors.js';
import { ValueError } from '../runtime/errors.js';
import { NFNet } from './model.js';
import type { Model } from '../models/model.js';
import { loadTimmTensors } from '../models/timm-tensors.js';
import type { StateSpec } from '../state/model-state.js';
import { planBlocks } from './plan.js';
import { checkOptions, describeValue } from '../runtime/validate.js';
import { OVERRIDE_FIELDS, TIMM_VARIANTS, variantConfig, type ConfigOverrides, type NFNetConfig, type StemConv } from './variants.js';

/** Block and head layers (the stem is renumbered in timmToOurs). */
const LAYER_MAP: [RegExp, string][] = [
  [/^stages\.(\d+)\.(\d+)\.conv1\./, 'stages.$1.block$2.conv0.'],
  [/^stages\.(\d+)\.(\d+)\.conv2b\./, 'stages.$1.block$2.conv1b.'],
  [/^stages\.(\d+)\.(\d+)\.conv2\./, 'stages.$1.block$2.conv1.'],
  [/^stages\.(\d+)\.(\d+)\.conv3\./, 'stages.$1.block$2.conv2.'],
  [/^stages\.(\d+)\.(\d+)\.downsample\.conv\./, 'stages.$1.block$2.shortcut.'],
  [/^stages\.(\d+)\.(\d+)\.attn_last\.fc1\./, 'stages.$1.block$2.se.fc0.'],
  [/^stages\.(\d+)\.(\d+)\.attn_last\.fc2\./, 'stages.$1.block$2.se.fc1.'],
  [/^stages\.(\d+)\.(\d+)\.skipinit_gain$/, 'stages.$1.block$2.skipGain'],
  [/^final_conv\./, 'head.conv.'],
  [/^head\.fc\./, 'head.fc.'],
];

/** The inverse table: our layer → timm's (the stem is renumbered in oursToTimm). */
const REVERSE_MAP: [RegExp, string][] = [
  [/^stages\.(\d+)\.block(\d+)\.conv0\./, 'stages.$1.$2.conv1.'],
  [/^stages\.(\d+)\.block(\d+)\.conv1b\./, 'stages.$1.$2.conv2b.'],
  [/^stages\.(\d+)\.block(\d+)\.conv1\./, 'stages.$1.$2.conv2.'],
  [/^stages\.(\d+)\.block(\d+)\.conv2\./, 'stages.$1.$2.conv3.'],
  [/^stages\.(\d+)\.block(\d+)\.shortcut\./, 'stages.$1.$2.downsample.conv.'],
  [/^stages\.(\d+)\.block(\d+)\.se\.fc0\./, 'stages.$1.$2.attn_last.fc1.'],
  [/^stages\.(\d+)\.block(\d+)\.se\.fc1\./, 'stages.$1.$2.attn_last.fc2.'],
  [/^stages\.(\d+)\.block(\d+)\.skipGain$/, 'stages.$1.$2.skipinit_gain'],
  [/^head\.conv\./, 'final_conv.'],
  [/^head\.fc\./, 'head.fc.'],
];

/** Our parameter name for a timm key, or null for keys we do not use. */
export function timmToOurs(key: string, stemConvs: number): string | null {
  // timm numbers the deep stem conv1…conv4 and a one-conv stem plain `conv`.
  if (key.startsWith('stem.conv.')) return key.replace('stem.conv.', 'stem.conv0.');
  const stem = /^stem\.conv(\d)\./.exec(key);
  if (stem) {
    const i = Number(stem[1]) - 1;
    return i >= 0 && i < stemConvs ? key.replace(/^stem\.conv\d\./, `stem.conv${i}.`) : null;
  }
  for (const [re, to] of LAYER_MAP) if (re.test(key)) return key.replace(re, to);
  return null;
}

/** timm's key for one of our parameter names. */
export function oursToTimm(name: string, stemConvs: number): string {
  const stem = /^stem\.conv(\d)\./.exec(name);
  if (stem) return name.replace(/^stem\.conv\d\./, stemConvs === 1 ? 'stem.conv.' : `stem.conv${Number(stem[1]) + 1}.`);
  for (const [re, to] of REVERSE_MAP) if (re.test(name)) return name.replace(re, to);
  throw new ValueError(`exportTimm: parameter '${name}' has no timm counterpart`);
}

/** Our shape for a timm tensor (the layout writeOurValues writes). */
function ourShape(ours: string, s: readonly number[]): number[] {
  if (ours.endsWith('.weight') && s.length === 4) {
    const [o, i, h, w] = s as [number, number, number, number];
    // SE fcs are 1×1 convs in timm, linears (in, out) here.
    return ours.includes('.se.') ? [i, o] : [h, w, i, o];
  }
  if (ours.endsWith('.weight') && s.length === 2) return [s[1]!, s[0]!];
  if (ours.endsWith('.gain')) return [s.reduce((a, b) => a * b, 1)];
  return [...s];
}

export { transposeOI } from '../models/timm-tensors.js';

/** One of our parameters in timm's layout and shape (the inverse of toOurLayout). */
function toTimmLayout(p: StateSpec, v: Float32Array): HostTensor {
  const s = p.shape;
  if (p.kind === 'weight' && s.length === 4) {
    const [h, w, i, o] = s as [number, number, number, number];
    const out = new Float32Array(v.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      out[((a * i + b) * h + y) * w + x] = v[((y * w + x) * i + b) * o + a]!;
    }
    return { dtype: 'F32', shape: [o, i, h, w], data: out };
  }
  if (p.kind === 'weight' && s.length === 2) {
    const [i, o] = s as [number, number];
    const out = new Float32Array(v.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[a * i + b] = v[b * o + a]!;
    return { dtype: 'F32', shape: p.name.includes('.se.') ? [o, i, 1, 1] : [o, i], data: out };
  }
  if (p.kind === 'gain') return { dtype: 'F32', shape: [s[0]!, 1, 1, 1], data: v };
  return { dtype: 'F32', shape: [...s], data: v };
}

const shapeOf = (tensors: Map<string, DecodedTensor>, key: string): number[] => {
  const t = tensors.get(key);
  if (!t) throw new CheckpointError(`timm state dict: no '${key}', which every timm NF model of this kind has`);
  return t.shape;
};

/**
 * The config of the network a timm state dict belongs to, read from its keys and shapes:
 * a deep 4-conv stem with conv2b and skip gains is a dm_nfnet, without skip gains timm's
 * nfnet_f*; a one-conv stem with a max pool is an nf_resnet (nf_seresnet with SE). Depths,
 * widths, group width, bottleneck and SE ratios, stem widths, head width, classes and input
 * channels come from the shapes; the name is timm's when the structure is one of its models.
 * (Activations cannot be read from weights: this assumes the families' own — GELU, ReLU;
 * give the name for anything else.)
 */
export function timmConfigFromKeys(tensors: Map<string, DecodedTensor>): NFNetConfig {
  const blocks = [...tensors.keys()].map((k) => /^stages\.(\d+)\.(\d+)\.conv1\.weight$/.exec(k)).filter((m) => m !== null);
  if (!blocks.length) throw new CheckpointError("timm state dict: no 'stages.S.B.conv1.weight' keys (not a timm NormFreeNet state dict?)");
  const depths: number[] = [];
  for (const m of blocks) depths[Number(m[1])] = Math.max(depths[Number(m[1])] ?? 0, Number(m[2]) + 1);
  if (depths.some((d) => d === undefined)) throw new CheckpointError('timm state dict: a stage has no blocks');
  const nfnet = tensors.has('stages.0.0.conv2b.weight');
  const skip = tensors.has('stages.0.0.skipinit_gain');
  const widths = depths.map((_, s) => shapeOf(tensors, `stages.${s}.0.conv3.weight`)[0]!);
  const mids = depths.map((_, s) => shapeOf(tensors, `stages.${s}.0.conv1.weight`)[0]!);
  const groupWidths = depths.map((_, s) => shapeOf(tensors, `stages.${s}.0.conv2.weight`)[1]!);
  const grouped = groupWidths.filter((g, s) => g < mids[s]!);
  const se = tensors.has('stages.0.0.attn_last.fc1.weight') ? shapeOf(tensors, 'stages.0.0.attn_last.fc1.weight')[0]! / widths[0]! : 0;
  const [numClasses, features] = shapeOf(tensors, 'head.fc.weight') as [number, number];
  let stem: StemConv[];
  let inChannels: number;
  if (tensors.has('stem.conv.weight')) {
    const [c, i, k] = shapeOf(tensors, 'stem.conv.weight') as [number, number, number];
    stem = [{ channels: c, stride: 2, kernel: k }];
    inChannels = i;
  } else {
    const convs = [1, 2, 3, 4].map((i) => shapeOf(tensors, `stem.conv${i}.weight`));
    stem = convs.map((s, i) => ({ channels: s[0]!, stride: i === 0 || i === 3 ? 2 : 1, kernel: s[2]! }));
    inChannels = convs[0]![1]!;
  }
  const base = nfnet ? (skip ? 'dm_nfnet_f0' : 'nfnet_f0') : se ? 'nf_seresnet50' : 'nf_resnet50';
  const overrides: ConfigOverrides = {
    depths, widths, strides: depths.map((_, s) => (s === 0 ? 1 : 2)), stem, stemPool: !nfnet,
    groupWidth: grouped.length ? Math.min(...grouped) : null, bottleneckRatio: mids[0]! / widths[0]!, seRatio: se,
    finalConvMult: tensors.has('final_conv.weight') ? features / widths[widths.length - 1]! : 0,
    numClasses, inChannels, skipGain: skip,
  };
  const cfg = variantConfig(base, overrides);
  const named = TIMM_VARIANTS.find((v) => sameStructure(variantConfig(v, { numClasses, inChannels }), cfg));
  return named ? variantConfig(named, { numClasses, inChannels }) : { ...cfg, variant: `${base.replace(/_f0$|50$/, '')}-custom` };
}

/** A named variant's config with the classes and input channels of a timm file (and any overrides). */
export function timmConfigFromName(variant: string, tensors: Map<string, DecodedTensor>, overrides?: ConfigOverrides): NFNetConfig {
  const [numClasses] = shapeOf(tensors, 'head.fc.weight');
  const first = tensors.get('stem.conv.weight') ?? tensors.get('stem.conv1.weight');
  return variantConfig(variant, { numClasses, ...(first ? { inChannels: first.shape[1] } : {}), ...overrides });
}

/** Is a state dict with these keys a timm NormFreeNet (NFNet, NF-ResNet)? */
export const isTimmNormFreeNet = (keys: readonly string[]) => keys.some((k) => /^stages\.\d+\.\d+\.conv1\.weight$/.test(k)) && keys.includes('head.fc.weight');

/** Equal networks (every field but the name and the training-only ones). */
function sameStructure(a: NFNetConfig, b: NFNetConfig): boolean {
  const strip = ({ variant: _v, dropout: _d, stochDepthRate: _s, trainResolution: _t, testResolution: _r, ...rest }: NFNetConfig) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

export interface TimmImportOptions {
  /** A timm name (dm_nfnet_f0, nf_resnet50, …); default: read the network from the keys. */
  variant?: string;
  /** Overrides on the named variant's config (classes and input channels come from the file). */
  overrides?: ConfigOverrides;
  /**
   * Leave the file's classifier (`head.fc`) out and start a fresh one (N(0, 0.01²), bias 0,
   * the model's init) for finetuning on other classes: give their number in
   * `overrides.numClasses`.
   */
  freshHead?: boolean;
  /** Seed of the fresh head (default 0). */
  seed?: number;
  /** Called after each tensor is placed with the parameters loaded so far and the total (long loads: F0 takes seconds). */
  onProgress?: TimmProgress;
}

/** TimmImportOptions' names (a compile error below when one is added and not listed). */
const TIMM_IMPORT_OPTIONS = ['variant', 'overrides', 'freshHead', 'seed', 'onProgress'] as const;
const _everyOptionListed: Exclude<keyof TimmImportOptions, (typeof TIMM_IMPORT_OPTIONS)[number]> extends never ? true : never = true;
void _everyOptionListed;

/** Elements loaded so far, of `total`. */
export type TimmProgress = (done: number, total: number) => void;

export interface TimmImportReport {
  /** The model the weights went into (built here when none was given). */
  model: NFNet;
  loaded: number;
  /** timm keys that have no counterpart here (e.g. `num_batches_tracked`). */
  ignored: string[];
}

function decode(file: Uint8Array | Map<string, DecodedTensor>): Map<string, DecodedTensor> {
  if (file instanceof Uint8Array) return decodeSafetensors(file, 'timm state dict').tensors;
  if (file instanceof Map) return file;
  throw new ValueError(`importTimm: file must be the bytes of a safetensors file (a Uint8Array) or its decoded tensors (a Map), got ${describeValue(file)}`);
}

/**
 * Load timm weights (all checked first; nothing is half-loaded), either into `model`, or into
 * a model built here with timm's numerics, from `options.variant` or from the file's keys:
 *
 *   const { model } = nfnet.importTimm(bytes);                          // reads the network from the keys
 *   const { model } = nfnet.importTimm(bytes, { variant: 'dm_nfnet_f0' });
 *   nfnet.importTimm(existingModel, bytes);
 */
export function importTimm(model: NFNet, file: Uint8Array | Map<string, DecodedTensor>, options?: Pick<TimmImportOptions, 'onProgress'>): TimmImportReport;
export function importTimm(file: Uint8Array | Map<string, DecodedTensor>, options?: TimmImportOptions): TimmImportReport;
export function importTimm(
  a: NFNet | Uint8Array | Map<string, DecodedTensor>,
  b?: Uint8Array | Map<string, DecodedTensor> | TimmImportOptions,
  c?: Pick<TimmImportOptions, 'onProgress'>,
): TimmImportReport {
  if (a instanceof NFNet) {
    const into = checkOptions('importTimm', c, ['onProgress']);
    return loadInto(a, decode(b as Uint8Array | Map<string, DecodedTensor>), { onProgress: into.onProgress });
  }
  const tensors = decode(a);
  const o = checkOptions('importTimm', b as TimmImportOptions | undefined, TIMM_IMPORT_OPTIONS);
  if (o.overrides !== undefined) checkOptions('importTimm', o.overrides, OVERRIDE_FIELDS, 'overrides');
  const cfg = o.variant ? timmConfigFromName(o.variant, tensors, o.overrides) : { ...timmConfigFromKeys(tensors), ...o.overrides };
  if (o.freshHead && !o.overrides?.numClasses) throw new ValueError('importTimm: freshHead needs the new number of classes (overrides.numClasses)');
  // Every tensor is loaded (or, for a fresh head, drawn by its initialiser) right away: skip the init.
  const built = new NFNet(cfg, o.seed ?? 0, { initialise: false });
  try {
    return loadInto(built, tensors, o);
  } catch (e) {
    built.dispose();
    throw e;
  }
}

const HEAD = 'head.fc.';

/**
 * Check every tensor's name and shape, then convert and place them one by one (a
 * full-size F0 holds the file and one region of converted values, not a second copy of
 * every weight). With `freshHead` the file's classifier is ignored and the model's
 * initialiser draws a new one.
 */
export function loadInto(model: Model<NFNetConfig>, tensors: Map<string, DecodedTensor>, o: Pick<TimmImportOptions, 'freshHead' | 'onProgress'> = {}): TimmImportReport {
  const stemConvs = model.config.stem.length;
  const map = { ours: (key: string) => timmToOurs(key, stemConvs), shape: ourShape, head: HEAD }; // the standard layouts (SE fcs are 1×1 convs: OI11 → (in, out))
  return { model, ...loadTimmTensors(model.state, tensors, map, o) };
}

/**
 * timm's NfCfg (timm/models/nfnet.py) for a config, as keyword arguments: build timm's model
 * with `NormFreeNet(NfCfg(**nf_cfg), num_classes=…, in_chans=…)`. Throws a ValueError that
 * lists every choice timm cannot express (e.g. the reference's WS form or tanh GELU).
 */
export function timmNfCfg(c: NFNetConfig): Record<string, unknown> {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => ok || problems.push(what);
  need(c.wsForm === 'timm', `wsForm is '${c.wsForm}' (timm standardizes with (W − μ)/√(σ² + ε)·N^-½: wsForm 'timm')`);
  const acts: Record<string, string> = { relu: 'relu', gelu_erf: 'gelu', silu: 'silu', tanh: 'tanh', sigmoid: 'sigmoid', identity: 'identity' };
  need(c.activation in acts, `activation '${c.activation}' (timm's GELU is the exact erf form: 'gelu_erf')`);
  need(c.transitionShortcut === 'avgpool', "transitionShortcut 'strided' (timm's shortcuts average-pool)");
  const deep = c.stem.length === 4;
  const last = c.stem[c.stem.length - 1]!.channels;
  if (deep) {
    const want = [last / 8, last / 4, last / 2, last];
    need(c.stem.every((s, i) => s.kernel === 3 && s.channels === want[i] && s.stride === [2, 1, 1, 2][i]), "a 4-conv stem other than timm's deep_quad (3×3 s2, s1, s1, s2 to c/8, c/4, c/2, c)");
  } else {
    need(c.stem.length === 1 && (c.stem[0]!.kernel === 7 || c.stem[0]!.kernel === 3) && c.stem[0]!.stride === 2, 'a stem other than one 7×7 or 3×3 stride-2 conv or the deep_quad stack');
  }
  const stemStride = deep || c.stemPool ? 4 : 2;
  need(!(deep && c.stemPool), 'a deep stem with a max pool');
  need(c.strides.every((s, i) => s === (i === 0 && stemStride > 2 ? 1 : 2)), `strides [${c.strides}] (timm: 1 for the first stage after a stride-4 stem, else 2)`);
  for (const b of planBlocks(c)) {
    need(Number.isInteger(b.outChannels * c.bottleneckRatio), `stage ${b.stage}: bottleneck ${b.outChannels}·${c.bottleneckRatio} is not a whole number`);
    if (c.groupWidth) need(b.midChannels % c.groupWidth === 0, `stage ${b.stage}: bottleneck ${b.midChannels} is not a multiple of the group width ${c.groupWidth}`);
    if (c.seRatio) need(Number.isInteger(b.outChannels * c.seRatio), `stage ${b.stage}: SE width ${b.outChannels}·${c.seRatio} is not a whole number`);
  }
  const lastWidth = c.widths[c.widths.length - 1]!;
  need(Number.isInteger(lastWidth * c.finalConvMult), `head width ${lastWidth}·${c.finalConvMult} is not a whole number`);
  if (problems.length) throw new ValueError(`timm cannot build ${c.variant} as configured: ${problems.join('; ')}`);
  return {
    depths: [...c.depths], channels: [...c.widths], alpha: c.alpha,
    stem_type: deep ? 'deep_quad' : `${c.stem[0]!.kernel}x${c.stem[0]!.kernel}${c.stemPool ? '_pool' : ''}`,
    stem_chs: last, group_size: c.groupWidth, bottle_ratio: c.bottleneckRatio,
    attn_layer: c.seRatio ? 'se' : null, attn_kwargs: c.seRatio ? { rd_ratio: c.seRatio, rd_divisor: 1 } : {},
    num_features: c.finalConvMult * lastWidth, ch_div: 1, extra_conv: c.family === 'nfnet',
    gamma_in_act: c.gammaPlacement === 'activation', same_padding: c.padding === 'same', std_conv_eps: c.wsEps,
    skipinit: c.skipGain, act_layer: acts[c.activation],
  };
}

/**
 * The model's weights as a timm state dict in safetensors (float32, PyTorch layouts, keys
 * sorted, no metadata, the layout the `safetensors` library writes): timm's NormFreeNet
 * built from `timmNfCfg(model.config)` (for timm's named models, the name itself) loads it
 * with strict=True. Throws first if timm cannot build the configuration.
 */
export async function exportTimm(model: Model<NFNetConfig>): Promise<Uint8Array> {
  timmNfCfg(model.config);
  const tensors: Record<string, HostTensor> = {};
  const values = await model.state.read();
  for (const [p] of model.state.entries()) tensors[oursToTimm(p.name, model.config.stem.length)] = toTimmLayout(p, values.get(p.name)!);
  return encodeSafetensors(tensors, {}, { checksums: false }); // byte for byte what timm's safetensors writer gives
}
