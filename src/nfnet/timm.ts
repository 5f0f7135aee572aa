/**
 * Import timm `dm_nfnet_*` / `nf_resnet*` state dicts (safetensors). timm stores PyTorch
 * layouts: conv weights OIHW, gains [O,1,1,1], SE 1×1-conv weights [O,I,1,1], linear
 * weights (out, in); we store HWIO and (in, out). Names map block by block:
 *   stem.conv{1..4}             → stem.conv{0..3}      (nf_resnet: stem.conv → stem.conv0)
 *   stages.S.B.conv1/2/2b/3     → stages.S.blockB.conv0/1/1b/2
 *   stages.S.B.downsample.conv  → stages.S.blockB.shortcut
 *   stages.S.B.attn_last.fc1/2  → stages.S.blockB.se.fc0/1
 *   stages.S.B.skipinit_gain    → stages.S.blockB.skipGain
 *   final_conv → head.conv, head.fc → head.fc
 * Note: timm standardises with eps added to the variance (ScaledStdConv2d); we follow the
 * reference's max(N·var, 1e-4). They differ only for near-constant filters.
 */
import { CheckpointError, decodeSafetensors, toFloat32, type DecodedTensor } from '../io/safetensors.js';
import type { NFNet } from './model.js';

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

/** Our parameter name for a timm key, or null for keys we do not use. */
export function timmToOurs(key: string, stemConvs: number): string | null {
  // timm numbers the deep stem conv1…conv4 and the NF-ResNet stem plain `conv`.
  if (key.startsWith('stem.conv.')) return key.replace('stem.conv.', 'stem.conv0.');
  const stem = /^stem\.conv(\d)\./.exec(key);
  if (stem) {
    const i = Number(stem[1]) - 1;
    return i >= 0 && i < stemConvs ? key.replace(/^stem\.conv\d\./, `stem.conv${i}.`) : null;
  }
  for (const [re, to] of LAYER_MAP) if (re.test(key)) return key.replace(re, to);
  return null;
}

/** Convert one timm tensor to our layout (values and shape). */
function toOurLayout(ours: string, t: DecodedTensor): { values: Float32Array; shape: number[] } {
  const v = toFloat32(t);
  const s = t.shape;
  if (ours.endsWith('.weight') && s.length === 4) {
    const [o, i, h, w] = s as [number, number, number, number];
    const out = new Float32Array(v.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      out[((y * w + x) * i + b) * o + a] = v[((a * i + b) * h + y) * w + x]!;
    }
    // SE fcs are 1×1 convs in timm, linears (in, out) here.
    return ours.includes('.se.') ? { values: out, shape: [i, o] } : { values: out, shape: [h, w, i, o] };
  }
  if (ours.endsWith('.weight') && s.length === 2) {
    const [o, i] = s as [number, number];
    const out = new Float32Array(v.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[b * o + a] = v[a * i + b]!;
    return { values: out, shape: [i, o] };
  }
  if (ours.endsWith('.gain')) return { values: v, shape: [v.length] };
  return { values: v, shape: [...s] };
}

export interface TimmImportReport {
  loaded: number;
  /** timm keys that have no counterpart here (e.g. `num_batches_tracked`). */
  ignored: string[];
}

/** Load timm weights into `model` (all checked first; nothing is half-loaded). */
export function importTimm(model: NFNet, file: Uint8Array | Map<string, DecodedTensor>): TimmImportReport {
  const tensors = file instanceof Uint8Array ? decodeSafetensors(file, 'timm state dict').tensors : file;
  const values = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  const ignored: string[] = [];
  for (const [key, t] of tensors) {
    const ours = timmToOurs(key, model.config.stem.length);
    if (!ours) {
      ignored.push(key);
      continue;
    }
    if (values.has(ours)) throw new CheckpointError(`timm state dict maps two tensors to '${ours}' (second: '${key}')`);
    const { values: v, shape } = toOurLayout(ours, t);
    values.set(ours, v);
    shapes.set(ours, shape);
  }
  model.state.load(values, shapes, 'timm'); // checks every tensor first: nothing is half-loaded
  return { loaded: values.size, ignored };
}
