/**
 * Float64 CPU references for the transformer ops (layer norm, scaled dot-product attention,
 * patchify), written from their definitions, independently of the kernels.
 */
import { type Arr, size } from './ref.js';

/** Normalize each row of x [..., C] (population variance), then ·weight + bias. */
export function layerNorm(x: Arr, weight: Arr, bias: Arr, eps = 1e-6): Arr {
  const c = x.shape[x.shape.length - 1]!;
  const out = new Float64Array(x.data.length);
  for (let r = 0; r < x.data.length / c; r++) {
    const row = x.data.subarray(r * c, (r + 1) * c);
    const mean = row.reduce((a, b) => a + b, 0) / c;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / c;
    const s = 1 / Math.sqrt(variance + eps);
    for (let j = 0; j < c; j++) out[r * c + j] = (row[j]! - mean) * s * weight.data[j]! + bias.data[j]!;
  }
  return { shape: [...x.shape], data: out };
}

/** softmax(q·kᵀ·scale)·v for q, k, v [..., T, d] (the leading axes are batches). */
export function attention(q: Arr, k: Arr, v: Arr, scale: number): Arr {
  const [t, d] = q.shape.slice(-2) as [number, number];
  const tk = k.shape[k.shape.length - 2]!;
  const dv = v.shape[v.shape.length - 1]!;
  const batches = size(q.shape.slice(0, -2));
  const out = new Float64Array(batches * t * dv);
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < t; i++) {
      const logits = new Float64Array(tk);
      for (let j = 0; j < tk; j++) {
        let s = 0;
        for (let e = 0; e < d; e++) s += q.data[(b * t + i) * d + e]! * k.data[(b * tk + j) * d + e]!;
        logits[j] = s * scale;
      }
      const m = Math.max(...logits);
      const p = logits.map((l) => Math.exp(l - m));
      const z = p.reduce((a, c) => a + c, 0);
      for (let e = 0; e < dv; e++) {
        let s = 0;
        for (let j = 0; j < tk; j++) s += (p[j]! / z) * v.data[(b * tk + j) * dv + e]!;
        out[(b * t + i) * dv + e] = s;
      }
    }
  }
  return { shape: [...q.shape.slice(0, -1), dv], data: out };
}

/** NHWC [N, H, W, C] → [N, (H/p)·(W/p), p·p·C]: patches row by row, each in (py, px, c) order. */
export function patchify(x: Arr, p: number): Arr {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const gh = h / p;
  const gw = w / p;
  const out = new Float64Array(x.data.length);
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++) {
        for (let py = 0; py < p; py++) {
          for (let px = 0; px < p; px++) {
            for (let ch = 0; ch < c; ch++) out[o++] = x.data[((b * h + gy * p + py) * w + gx * p + px) * c + ch]!;
          }
        }
      }
    }
  }
  return { shape: [n, gh * gw, p * p * c], data: out };
}
