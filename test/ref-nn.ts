/**
 * Float64 CPU references for the NFNet op set (activations, pooling, cross-entropy, the
 * AGC + SGD optimizer), written from the definitions, independently of the kernels.
 */
import { type Arr, size } from './ref.js';

/**
 * erfc in float64 from its definitions, not from the kernel's fit: the Maclaurin series of
 * erf for |x| ≤ 2.5, the continued fraction erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …))))
 * beyond (both good to ~1e-15 relative).
 */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x <= 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-18; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = x;
  for (let k = 200; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

export const ACTS: Record<string, (z: number) => number> = {
  identity: (z) => z,
  relu: (z) => Math.max(z, 0),
  gelu: (z) => 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3))),
  gelu_erf: (z) => z * 0.5 * erfc(-z / Math.SQRT2),
  silu: (z) => z / (1 + Math.exp(-z)),
  tanh: Math.tanh,
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
};

/** gamma · act(x + bias[c]) with c the last-axis index. */
export function activation(x: Arr, kind: string, gamma: number, bias?: Arr): Arr {
  const c = x.shape[x.shape.length - 1] ?? 1;
  const f = ACTS[kind]!;
  return { shape: [...x.shape], data: x.data.map((v, i) => gamma * f(v + (bias ? bias.data[i % c]! : 0))) };
}

export type RefPoolPadding = 'SAME' | 'VALID' | [[number, number], [number, number]];

/** Output size and leading padding of one pooled axis (TF's SAME / VALID, or PyTorch's explicit pads). */
function poolAxis(len: number, k: number, s: number, padding: 'SAME' | 'VALID' | [number, number]): [number, number] {
  if (Array.isArray(padding)) return [Math.floor((len + padding[0] + padding[1] - k) / s) + 1, padding[0]];
  if (padding === 'VALID') return [Math.floor((len - k) / s) + 1, 0];
  const out = Math.ceil(len / s);
  return [out, Math.floor(Math.max((out - 1) * s + k - len, 0) / 2)];
}

/** Pool NHWC windows with TF padding; `reduce` sees only the in-bounds values of each window. */
function pool(x: Arr, size2: [number, number], stride: [number, number], padding: RefPoolPadding, reduce: (values: number[]) => number): Arr {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [oh, pt] = poolAxis(h, size2[0], stride[0], Array.isArray(padding) ? padding[0] : padding);
  const [ow, pl] = poolAxis(w, size2[1], stride[1], Array.isArray(padding) ? padding[1] : padding);
  const data = new Float64Array(n * oh * ow * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++) {
          const values: number[] = [];
          for (let di = 0; di < size2[0]; di++)
            for (let dj = 0; dj < size2[1]; dj++) {
              const r = i * stride[0] - pt + di;
              const q = j * stride[1] - pl + dj;
              if (r >= 0 && r < h && q >= 0 && q < w) values.push(x.data[((b * h + r) * w + q) * c + ch]!);
            }
          data[((b * oh + i) * ow + j) * c + ch] = reduce(values);
        }
  return { shape: [n, oh, ow, c], data };
}

/** TF-style average pool on NHWC; padded positions are not counted. */
export function avgPool(x: Arr, size2: [number, number], stride: [number, number], padding: RefPoolPadding): Arr {
  return pool(x, size2, stride, padding, (v) => v.reduce((a, b) => a + b, 0) / v.length);
}

/** Max pooling with TF SAME/VALID padding (padding never wins). */
export function maxPool(x: Arr, size2: [number, number], stride: [number, number], padding: RefPoolPadding): Arr {
  return pool(x, size2, stride, padding, (v) => Math.max(...v));
}

/** Mean over the batch of −Σ t'·log softmax(z), t' = (1 − ε)t + ε/C; `targets` is [N, C]. */
export function softmaxCrossEntropy(logits: Arr, targets: Arr, eps: number): Arr {
  const [n, c] = logits.shape as [number, number];
  let total = 0;
  for (let r = 0; r < n; r++) {
    const row = Array.from(logits.data.subarray(r * c, (r + 1) * c));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, z) => a + Math.exp(z - m), 0));
    for (let j = 0; j < c; j++) total += ((1 - eps) * targets.data[r * c + j]! + eps / c) * (lse - row[j]!);
  }
  return { shape: [], data: Float64Array.from([total / n]) };
}

export function oneHot(ids: number[], c: number): Arr {
  const data = new Float64Array(ids.length * c);
  ids.forEach((id, r) => (data[r * c + id] = 1));
  return { shape: [ids.length, c], data };
}

// ------------------------------------------------------------------ optimizer

export interface RefParam {
  w: Float64Array;
  shape: number[];
  /** Index of the unit axis, or null for a whole-tensor unit. */
  unitAxis: number | null;
  agc: boolean;
  decay: boolean;
}

/** Element indices of each unit of a tensor. */
export function unitsOf(shape: number[], unitAxis: number | null): number[][] {
  const total = size(shape);
  if (unitAxis === null) return [Array.from({ length: total }, (_, i) => i)];
  const units = shape[unitAxis]!;
  const inner = size(shape.slice(unitAxis + 1));
  const out: number[][] = Array.from({ length: units }, () => []);
  for (let i = 0; i < total; i++) out[Math.floor(i / inner) % units]!.push(i);
  return out;
}

const norm = (v: Float64Array, idx: number[]) => Math.sqrt(idx.reduce((a, i) => a + v[i]! ** 2, 0));

/** AGC as the reference: per unit, if ‖G‖ > λ·max(‖W‖, eps) scale G to that norm. */
export function agc(w: Float64Array, g: Float64Array, units: number[][], clipping: number, eps: number): Float64Array {
  const out = Float64Array.from(g);
  for (const idx of units) {
    const maxNorm = clipping * Math.max(norm(w, idx), eps);
    const gn = norm(g, idx);
    if (gn > maxNorm) for (const i of idx) out[i] = g[i]! * (maxNorm / Math.max(gn, 1e-6));
  }
  return out;
}

export interface RefSgd {
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  clipping: number;
  eps: number;
}

/** One AGC → weight decay → SGD (Nesterov) momentum step, in place on p.w and v. */
export function sgdAgcStep(p: RefParam, v: Float64Array, g: Float64Array, o: RefSgd): void {
  const clipped = p.agc ? agc(p.w, g, unitsOf(p.shape, p.unitAxis), o.clipping, o.eps) : Float64Array.from(g);
  for (let i = 0; i < p.w.length; i++) {
    const gi = clipped[i]! + (p.decay ? o.weightDecay * p.w[i]! : 0);
    v[i] = o.momentum * v[i]! + gi;
    const update = o.nesterov ? gi + o.momentum * v[i]! : v[i]!;
    p.w[i] = p.w[i]! - o.lr * update;
  }
}
