/**
 * Evaluation preprocessing as timm does it for its pretrained models (platform-neutral, CPU):
 * resize with Pillow's resampling (the filter stretched by the scale factor when shrinking,
 * so it antialiases; two passes, horizontal then vertical, each rounded to 8 bits, the
 * 22-bit fixed-point weights of Pillow's Resample.c), a center crop (torchvision's
 * `CenterCrop`, offsets rounded half to even as Python's `round`), then (x/255 − mean)/std.
 *
 * How big to resize comes from timm's pretrained config of the model: the resolution
 * (`test_input_size`, what timm's validate.py uses), `crop_pct` and `crop_mode`:
 *   'squash': resize both sides to ⌊size/crop_pct⌋ (aspect ratio not kept), crop size×size
 *   'center': resize the shorter side to ⌊size/crop_pct⌋ (aspect kept), crop size×size
 * (timm/data/transforms_factory.py, transforms_imagenet_eval).
 */
import { ShapeError, ValueError } from '../runtime/errors.js';

/** Interleaved 8-bit pixels, rows top to bottom (HWC). */
export interface Image8 {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export interface EvalTransform {
  /** Output side in pixels (square). */
  size: number;
  cropPct: number;
  cropMode: 'squash' | 'center';
  interpolation: 'bicubic' | 'bilinear';
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * timm's pretrained eval settings (timm/models/nfnet.py default_cfgs, read at commit
 * aa4b5850c154): all bicubic with ImageNet's mean/std; dm_nfnet_* squash at these crop_pct;
 * the others the defaults (crop_pct 0.9, center). Resolution: `test_input_size`.
 */
const TIMM_EVAL: Record<string, { size: number; cropPct: number; cropMode: 'squash' | 'center' }> = {
  dm_nfnet_f0: { size: 256, cropPct: 0.9, cropMode: 'squash' },
  dm_nfnet_f1: { size: 320, cropPct: 0.91, cropMode: 'squash' },
  dm_nfnet_f2: { size: 352, cropPct: 0.92, cropMode: 'squash' },
  dm_nfnet_f3: { size: 416, cropPct: 0.94, cropMode: 'squash' },
  dm_nfnet_f4: { size: 512, cropPct: 0.951, cropMode: 'squash' },
  dm_nfnet_f5: { size: 544, cropPct: 0.954, cropMode: 'squash' },
  dm_nfnet_f6: { size: 576, cropPct: 0.956, cropMode: 'squash' },
  nfnet_f0: { size: 256, cropPct: 0.9, cropMode: 'center' },
  nfnet_f1: { size: 320, cropPct: 0.9, cropMode: 'center' },
  nfnet_f2: { size: 352, cropPct: 0.9, cropMode: 'center' },
  nfnet_f3: { size: 416, cropPct: 0.9, cropMode: 'center' },
  nfnet_f4: { size: 512, cropPct: 0.9, cropMode: 'center' },
  nfnet_f5: { size: 544, cropPct: 0.9, cropMode: 'center' },
  nfnet_f6: { size: 576, cropPct: 0.9, cropMode: 'center' },
  nfnet_f7: { size: 608, cropPct: 0.9, cropMode: 'center' },
  nf_resnet50: { size: 288, cropPct: 0.94, cropMode: 'center' },
};

/**
 * The eval transform timm uses for `variant` (a timm name; anything else gets timm's
 * defaults: 224 px, crop_pct 0.9, center, bicubic, ImageNet mean/std). `size` overrides the
 * resolution (crop_pct and mode stay).
 */
export function timmEvalTransform(variant: string, size?: number): EvalTransform {
  const t = TIMM_EVAL[variant] ?? { size: 224, cropPct: 0.9, cropMode: 'center' as const };
  if (size !== undefined && !(Number.isInteger(size) && size > 0)) throw new ValueError(`eval resolution must be a positive integer, got ${size}`);
  return { ...t, size: size ?? t.size, interpolation: 'bicubic', mean: IMAGENET_MEAN, std: IMAGENET_STD };
}

/** Pillow's filters: bicubic with a = −0.5 (support 2), bilinear/triangle (support 1). */
const FILTERS = {
  bicubic: {
    support: 2,
    weight(x: number): number {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  bilinear: { support: 1, weight: (x: number) => Math.max(0, 1 - Math.abs(x)) },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

/** For each output pixel: the first input pixel and its fixed-point weights (Pillow's precompute_coeffs + normalize_coeffs_8bpc). */
function coefficients(inSize: number, outSize: number, filter: (typeof FILTERS)['bicubic']): { first: Int32Array; weights: number[][] } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // stretching the filter when shrinking is the antialiasing
  const support = filter.support * filterScale;
  const first = new Int32Array(outSize);
  const weights: number[][] = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    const w: number[] = [];
    let sum = 0;
    for (let x = lo; x < hi; x++) {
      const v = filter.weight((x - center + 0.5) / filterScale);
      w.push(v);
      sum += v;
    }
    first[o] = lo;
    // Normalised, then to fixed point rounding away from zero, as Pillow does.
    weights.push(w.map((v) => (sum !== 0 ? v / sum : v)).map((v) => (v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE))));
  }
  return { first, weights };
}

/** Pillow's clip8: the fixed-point sum back to 0…255 (the sum starts at ½ for rounding). */
const clip8 = (acc: number) => (acc <= 0 ? 0 : acc >= 256 * ONE ? 255 : Math.floor(acc / ONE));

/** One resampling pass along x (`horizontal`) or y. */
function resamplePass(img: Image8, outW: number, outH: number, horizontal: boolean, filter: (typeof FILTERS)['bicubic']): Image8 {
  const { width: w, channels: c, data } = img;
  const { first, weights } = coefficients(horizontal ? img.width : img.height, horizontal ? outW : outH, filter);
  const out = new Uint8Array(outW * outH * c);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const k = weights[horizontal ? x : y]!;
      const lo = first[horizontal ? x : y]!;
      for (let ch = 0; ch < c; ch++) {
        let acc = ONE / 2;
        for (let t = 0; t < k.length; t++) {
          const src = horizontal ? (y * w + lo + t) * c + ch : ((lo + t) * w + x) * c + ch;
          acc += data[src]! * k[t]!;
        }
        out[(y * outW + x) * c + ch] = clip8(acc);
      }
    }
  }
  return { width: outW, height: outH, channels: c, data: out };
}

/** Resize as Pillow's `Image.resize((width, height), BICUBIC | BILINEAR)` does for 8-bit images. */
export function resizeImage(img: Image8, width: number, height: number, interpolation: EvalTransform['interpolation'] = 'bicubic'): Image8 {
  checkImage(img);
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) throw new ShapeError(`resize: target ${width}×${height} must be positive integers`);
  const filter = FILTERS[interpolation];
  let out = img;
  if (width !== img.width) out = resamplePass(out, width, out.height, true, filter);
  if (height !== img.height) out = resamplePass(out, width, height, false, filter);
  return out;
}

/** Python's round(): half to even. */
const roundHalfEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** torchvision's CenterCrop (the image must be at least the crop's size). */
export function centerCrop(img: Image8, width: number, height: number): Image8 {
  checkImage(img);
  if (width > img.width || height > img.height) throw new ShapeError(`center crop ${width}×${height} is larger than the ${img.width}×${img.height} image`);
  const top = roundHalfEven((img.height - height) / 2);
  const left = roundHalfEven((img.width - width) / 2);
  const c = img.channels;
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) out.set(img.data.subarray(((top + y) * img.width + left) * c, ((top + y) * img.width + left + width) * c), y * width * c);
  return { width, height, channels: c, data: out };
}

/** The side lengths timm resizes to before cropping. */
export function resizeTarget(img: { width: number; height: number }, t: EvalTransform): { width: number; height: number } {
  const scaled = Math.floor(t.size / t.cropPct);
  if (t.cropMode === 'squash') return { width: scaled, height: scaled };
  // torchvision Resize(int): the shorter side to `scaled`, the longer in proportion (truncated).
  if (img.width <= img.height) return { width: scaled, height: Math.trunc((scaled * img.height) / img.width) };
  return { width: Math.trunc((scaled * img.width) / img.height), height: scaled };
}

/**
 * An RGB(A) image → the model's input: NHWC float32 [1, size, size, 3], resized, cropped and
 * normalised as timm's eval transform. Alpha is dropped (as Pillow's convert('RGB')); a
 * one-channel image is replicated to RGB.
 */
export function preprocessImage(img: Image8, t: EvalTransform): { data: Float32Array; shape: [number, number, number, number] } {
  const rgb = toRgb(img);
  const target = resizeTarget(rgb, t);
  const cropped = centerCrop(resizeImage(rgb, target.width, target.height, t.interpolation), t.size, t.size);
  const out = new Float32Array(t.size * t.size * 3);
  for (let i = 0; i < out.length; i++) out[i] = (cropped.data[i]! / 255 - t.mean[i % 3]!) / t.std[i % 3]!;
  return { data: out, shape: [1, t.size, t.size, 3] };
}

function toRgb(img: Image8): Image8 {
  checkImage(img);
  if (img.channels === 3) return img;
  if (img.channels !== 1 && img.channels !== 4) throw new ShapeError(`image has ${img.channels} channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)`);
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = img.data[img.channels === 1 ? p : p * 4 + c]!;
  return { width: img.width, height: img.height, channels: 3, data: out };
}

function checkImage(img: Image8): void {
  if (!(img.width > 0 && img.height > 0 && img.channels > 0) || img.data.length !== img.width * img.height * img.channels) {
    throw new ShapeError(`image ${img.width}×${img.height}×${img.channels} needs ${img.width * img.height * img.channels} bytes, has ${img.data.length}`);
  }
}
