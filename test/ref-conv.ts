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

/** The output shape [n, ho, wo, cout] of a conv of x (NHWC) by w (HWIO). */
function convOutShape(xShape: readonly number[], wShape: readonly number[], o: RefConvOpts): [number, number, number, number] {
  const [n, h, wd] = xShape as [number, number, number, number];
  const [kh, kw, , cout] = wShape as [number, number, number, number];
  const [sh, sw] = o.stride ?? [1, 1];
  const [dh, dw] = o.dilation ?? [1, 1];
  const [[pt, pb], [pl, pr]] = o.pads ?? [[0, 0], [0, 0]];
  return [n, Math.floor((h + pt + pb - (kh - 1) * dh - 1) / sh) + 1, Math.floor((wd + pl + pr - (kw - 1) * dw - 1) / sw) + 1, cout];
}

/**
 * Every product of the conv's definition, out[b, oy, ox, co] += x[b, iy, ix, g·cig + ci] ·
 * w[ky, kx, ci, co] (taps in the padding skipped), as flat (out, x, w) indices: the forward
 * and both gradients are the same loops, accumulated into different operands.
 */
function forEachProduct(xShape: readonly number[], wShape: readonly number[], o: RefConvOpts, visit: (oi: number, xi: number, wi: number) => void): void {
  const [, h, wd, cin] = xShape as [number, number, number, number];
  const [kh, kw, cig] = wShape as [number, number, number, number];
  const [n, ho, wo, cout] = convOutShape(xShape, wShape, o);
  const [sh, sw] = o.stride ?? [1, 1];
  const [dh, dw] = o.dilation ?? [1, 1];
  const [[pt], [pl]] = o.pads ?? [[0, 0], [0, 0]];
  const cog = cout / (o.groups ?? 1);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++)
        for (let co = 0; co < cout; co++) {
          const g = Math.floor(co / cog);
          const oi = ((b * ho + oy) * wo + ox) * cout + co;
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * sh - pt + ky * dh;
              const ix = ox * sw - pl + kx * dw;
              if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
              for (let ci = 0; ci < cig; ci++) visit(oi, ((b * h + iy) * wd + ix) * cin + g * cig + ci, ((ky * kw + kx) * cig + ci) * cout + co);
            }
        }
}

export function refConv2d(x: Arr, w: Arr, o: RefConvOpts = {}): Arr {
  const shape = convOutShape(x.shape, w.shape, o);
  const out = new Float64Array(shape.reduce((a, d) => a * d, 1));
  forEachProduct(x.shape, w.shape, o, (oi, xi, wi) => (out[oi] += x.data[xi]! * w.data[wi]!));
  return { shape, data: out };
}

/** dL/dx of refConv2d for an upstream gradient dy: each product's share scattered back to x. */
export function refConv2dDx(dy: Arr, w: Arr, xShape: readonly number[], o: RefConvOpts = {}): Arr {
  const dx = new Float64Array(xShape.reduce((a, d) => a * d, 1));
  forEachProduct(xShape, w.shape, o, (oi, xi, wi) => (dx[xi] += dy.data[oi]! * w.data[wi]!));
  return { shape: [...xShape], data: dx };
}

/** dL/dw of refConv2d for an upstream gradient dy: each product's share summed into w. */
export function refConv2dDw(x: Arr, dy: Arr, wShape: readonly number[], o: RefConvOpts = {}): Arr {
  const dW = new Float64Array(wShape.reduce((a, d) => a * d, 1));
  forEachProduct(x.shape, wShape, o, (oi, xi, wi) => (dW[wi] += dy.data[oi]! * x.data[xi]!));
  return { shape: [...wShape], data: dW };
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
