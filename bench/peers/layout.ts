/**
 * Host-side data for the rows that cross-check peers: seeded inputs every engine receives
 * bit for bit, and the layout changes between ours (activations NHWC, conv weights HWIO)
 * and the NCHW / OIHW engines (jax-js, ONNX).
 */

/** Seeded standard normals (LCG + Box–Muller), times `std`. */
export function hostRandn(size: number, seed: number, std = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const t = 2 * Math.PI * uniform();
    out[i] = std * r * Math.cos(t);
    if (i + 1 < size) out[i + 1] = std * r * Math.sin(t);
  }
  return out;
}

/** Permute a dense row-major array: output axis k is input axis perm[k]. */
export function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  for (let k = rank - 1, s = 1; k >= 0; k--) {
    inStrides[k] = s;
    s *= shape[k]!;
  }
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < rank; k++) src += idx[k]! * inStrides[perm[k]!]!;
    out[o] = data[src]!;
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k]! < outShape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

type Shape4 = readonly [number, number, number, number];
export const nhwcToNchw = (d: Float32Array, [n, h, w, c]: Shape4) => permute(d, [n, h, w, c], [0, 3, 1, 2]);
export const nchwToNhwc = (d: Float32Array, [n, c, h, w]: Shape4) => permute(d, [n, c, h, w], [0, 2, 3, 1]);
export const hwioToOihw = (d: Float32Array, [h, w, i, o]: Shape4) => permute(d, [h, w, i, o], [3, 2, 0, 1]);
export const oihwToHwio = (d: Float32Array, [o, i, h, w]: Shape4) => permute(d, [o, i, h, w], [2, 3, 1, 0]);

/** The parts one after another (a row's result made of several outputs). */
export function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
