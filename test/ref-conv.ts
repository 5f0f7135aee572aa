/**
 * Float64 CPU references for conv2d (NHWC, HWIO, groups, stride, dilation, explicit
 * padding) and scaled weight standardization, written as the plain definitions.
 */
import type { Arr } from './ref.js';

export interface RefConvOpts {
  stride?: [number, number];
  pads?: [[number, number], [number, number]];
  groups?: number;
  dilation?: [number, number];
}

/** TensorFlow SAME padding for one axis, written from the rule in DESIGN.md. */
export function refSame(n: number, k: number, s: number, d = 1): [number, number] {
  const total = Math.max((Math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export function refConv2d(x: Arr, w: Arr, o: RefConvOpts = {}): Arr {
  const [n, h, wd, cin] = x.shape as [number, number, number, number];
  const [kh, kw, cig, cout] = w.shape as [number, number, number, number];
  const [sh, sw] = o.stride ?? [1, 1];
  const [dh, dw] = o.dilation ?? [1, 1];
  const [[pt, pb], [pl, pr]] = o.pads ?? [[0, 0], [0, 0]];
  const groups = o.groups ?? 1;
  const cog = cout / groups;
  const ho = Math.floor((h + pt + pb - (kh - 1) * dh - 1) / sh) + 1;
  const wo = Math.floor((wd + pl + pr - (kw - 1) * dw - 1) / sw) + 1;
  const out = new Float64Array(n * ho * wo * cout);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++)
        for (let co = 0; co < cout; co++) {
          const g = Math.floor(co / cog);
          let s = 0;
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * sh - pt + ky * dh;
              const ix = ox * sw - pl + kx * dw;
              if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
              for (let ci = 0; ci < cig; ci++) {
                s += x.data[((b * h + iy) * wd + ix) * cin + g * cig + ci]! * w.data[((ky * kw + kx) * cig + ci) * cout + co]!;
              }
            }
          out[((b * ho + oy) * wo + ox) * cout + co] = s;
        }
  return { shape: [n, ho, wo, cout], data: out };
}

/** dL/dx of refConv2d for an upstream gradient dy: every product's x-side share, scattered back (the same loops). */
export function refConv2dDx(dy: Arr, w: Arr, xShape: readonly number[], o: RefConvOpts = {}): Arr {
  const [n, h, wd, cin] = xShape as [number, number, number, number];
  const [, ho, wo] = dy.shape as [number, number, number, number];
  const [kh, kw, cig, cout] = w.shape as [number, number, number, number];
  const [sh, sw] = o.stride ?? [1, 1];
  const [dh, dw] = o.dilation ?? [1, 1];
  const [[pt], [pl]] = o.pads ?? [[0, 0], [0, 0]];
  const cog = cout / (o.groups ?? 1);
  const dx = new Float64Array(n * h * wd * cin);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++)
        for (let co = 0; co < cout; co++) {
          const g = Math.floor(co / cog);
          const d = dy.data[((b * ho + oy) * wo + ox) * cout + co]!;
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * sh - pt + ky * dh;
              const ix = ox * sw - pl + kx * dw;
              if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
              for (let ci = 0; ci < cig; ci++) dx[((b * h + iy) * wd + ix) * cin + g * cig + ci] += d * w.data[((ky * kw + kx) * cig + ci) * cout + co]!;
            }
        }
  return { shape: [n, h, wd, cin], data: dx };
}

/** dL/dw of refConv2d for an upstream gradient dy: every product's w-side share, summed (the same loops). */
export function refConv2dDw(x: Arr, dy: Arr, wShape: readonly number[], o: RefConvOpts = {}): Arr {
  const [n, h, wd, cin] = x.shape as [number, number, number, number];
  const [, ho, wo] = dy.shape as [number, number, number, number];
  const [kh, kw, cig, cout] = wShape as [number, number, number, number];
  const [sh, sw] = o.stride ?? [1, 1];
  const [dh, dw] = o.dilation ?? [1, 1];
  const [[pt], [pl]] = o.pads ?? [[0, 0], [0, 0]];
  const cog = cout / (o.groups ?? 1);
  const dW = new Float64Array(kh * kw * cig * cout);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++)
        for (let co = 0; co < cout; co++) {
          const g = Math.floor(co / cog);
          const d = dy.data[((b * ho + oy) * wo + ox) * cout + co]!;
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * sh - pt + ky * dh;
              const ix = ox * sw - pl + kx * dw;
              if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
              for (let ci = 0; ci < cig; ci++) dW[((ky * kw + kx) * cig + ci) * cout + co] += d * x.data[((b * h + iy) * wd + ix) * cin + g * cig + ci]!;
            }
        }
  return { shape: [kh, kw, cig, cout], data: dW };
}

/** Ŵ = gain·(W − mean)/sqrt(max(N·var, eps)), statistics over all axes but the last. */
/**
 * timm's ScaledStdConv2d weight: per output unit, batch-norm of the fan-in values with the
 * population variance and eps added to it, times gain·scale·N^-½ (N = fan-in).
 */
export function refWeightStandardizeTimm(w: Arr, gain: Arr, eps = 1e-5, scale = 1): Arr {
  const cols = w.shape[w.shape.length - 1]!;
  const n = w.data.length / cols;
  const out = new Float64Array(w.data.length);
  for (let c = 0; c < cols; c++) {
    const col = Array.from({ length: n }, (_, i) => w.data[i * cols + c]!);
    const mean = col.reduce((a, b) => a + b, 0) / n;
    const variance = col.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    const k = (gain.data[c]! * scale) / Math.sqrt(n) / Math.sqrt(variance + eps);
    col.forEach((v, i) => (out[i * cols + c] = (v - mean) * k));
  }
  return { shape: [...w.shape], data: out };
}

export function refWeightStandardize(w: Arr, gain: Arr, eps = 1e-4): Arr {
  const cols = w.shape[w.shape.length - 1]!;
  const r = w.data.length / cols;
  const out = new Float64Array(w.data.length);
  for (let c = 0; c < cols; c++) {
    let mean = 0;
    for (let i = 0; i < r; i++) mean += w.data[i * cols + c]! / r;
    let v = 0;
    for (let i = 0; i < r; i++) v += (w.data[i * cols + c]! - mean) ** 2 / r;
    const scale = gain.data[c]! / Math.sqrt(Math.max(r * v, eps));
    for (let i = 0; i < r; i++) out[i * cols + c] = (w.data[i * cols + c]! - mean) * scale;
  }
  return { shape: [...w.shape], data: out };
}
