/**
 * Float64 CPU reference implementations, written independently of the GPU kernels.
 * An Arr is a shape and row-major Float64Array.
 */
export interface Arr {
  shape: number[];
  data: Float64Array;
}

export const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
export const arr = (shape: number[], data: ArrayLike<number>): Arr => ({ shape, data: Float64Array.from(data) });

export function strides(shape: readonly number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return c;
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => Math.max(a[a.length - r + i] ?? 1, b[b.length - r + i] ?? 1));
}

/** Value of `x` at output coordinate c of a broadcast. */
function at(x: Arr, c: readonly number[]): number {
  const lead = c.length - x.shape.length;
  const st = strides(x.shape);
  let off = 0;
  x.shape.forEach((d, i) => (off += (d === 1 ? 0 : c[i + lead]!) * st[i]!));
  return x.data[off]!;
}

export function map(x: Arr, f: (v: number) => number): Arr {
  return { shape: [...x.shape], data: x.data.map(f) };
}

export function zip(xs: Arr[], f: (...v: number[]) => number): Arr {
  const shape = xs.map((x) => x.shape).reduce(broadcastShape);
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) {
    const c = unravel(i, shape);
    data[i] = f(...xs.map((x) => at(x, c)));
  }
  return { shape, data };
}

export function reduce(x: Arr, axes: number[] | undefined, keepdims: boolean, f: (vals: number[]) => number): Arr {
  const ax = (axes ?? x.shape.map((_, i) => i)).map((a) => (a < 0 ? a + x.shape.length : a));
  const kept = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const groups = new Map<number, number[]>();
  const kst = strides(kept);
  for (let i = 0; i < x.data.length; i++) {
    const c = unravel(i, x.shape);
    const key = c.reduce((acc, v, d) => acc + (ax.includes(d) ? 0 : v * kst[d]!), 0);
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(x.data[i]!);
  }
  const data = new Float64Array(size(kept));
  for (let k = 0; k < data.length; k++) data[k] = f(groups.get(k) ?? []);
  return { shape: keepdims ? kept : x.shape.filter((_, i) => !ax.includes(i)), data };
}

export const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

export function permute(x: Arr, perm: number[]): Arr {
  const shape = perm.map((p) => x.shape[p]!);
  const st = strides(x.shape);
  const data = new Float64Array(x.data.length);
  for (let i = 0; i < data.length; i++) {
    const c = unravel(i, shape);
    data[i] = x.data[c.reduce((acc, v, d) => acc + v * st[perm[d]!]!, 0)]!;
  }
  return { shape, data };
}

export function slice(x: Arr, begin: number[], sz: number[]): Arr {
  const st = strides(x.shape);
  const data = new Float64Array(size(sz));
  for (let i = 0; i < data.length; i++) {
    const c = unravel(i, sz);
    data[i] = x.data[c.reduce((acc, v, d) => acc + (v + begin[d]!) * st[d]!, 0)]!;
  }
  return { shape: sz, data };
}

export function pad(x: Arr, p: [number, number][], value: number): Arr {
  const shape = x.shape.map((d, i) => d + p[i]![0] + p[i]![1]);
  const st = strides(x.shape);
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) {
    const c = unravel(i, shape).map((v, d) => v - p[d]![0]);
    const inside = c.every((v, d) => v >= 0 && v < x.shape[d]!);
    data[i] = inside ? x.data[c.reduce((acc, v, d) => acc + v * st[d]!, 0)]! : value;
  }
  return { shape, data };
}

export function concat(xs: Arr[], axis: number): Arr {
  const shape = [...xs[0]!.shape];
  shape[axis] = sum(xs.map((x) => x.shape[axis]!));
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) {
    const c = unravel(i, shape);
    let k = 0;
    let along = c[axis]!;
    while (along >= xs[k]!.shape[axis]!) along -= xs[k++]!.shape[axis]!;
    const cc = [...c];
    cc[axis] = along;
    data[i] = xs[k]!.data[cc.reduce((acc, v, d) => acc + v * strides(xs[k]!.shape)[d]!, 0)]!;
  }
  return { shape, data };
}

/** [..., M, K] · [..., K, N] with batch broadcasting (batch sizes equal or 1). */
export function matmul(a: Arr, b: Arr, ta = false, tb = false): Arr {
  const A = ta ? permute(a, [...a.shape.keys()].map((i, _, l) => (i >= l.length - 2 ? l.length * 2 - 3 - i : i))) : a;
  const B = tb ? permute(b, [...b.shape.keys()].map((i, _, l) => (i >= l.length - 2 ? l.length * 2 - 3 - i : i))) : b;
  const [m, k] = A.shape.slice(-2) as [number, number];
  const n = B.shape[B.shape.length - 1]!;
  const ab = size(A.shape.slice(0, -2));
  const bb = size(B.shape.slice(0, -2));
  const batchShape = ab >= bb ? A.shape.slice(0, -2) : B.shape.slice(0, -2);
  const batch = Math.max(ab, bb);
  const data = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const ao = (ab === 1 ? 0 : t) * m * k;
    const bo = (bb === 1 ? 0 : t) * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += A.data[ao + i * k + q]! * B.data[bo + q * n + j]!;
        data[t * m * n + i * n + j] = s;
      }
  }
  return { shape: [...batchShape, m, n], data };
}

export function softmax(x: Arr, axis: number, log: boolean): Arr {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const m = reduce(x, [ax], true, (v) => Math.max(...v));
  const z = zip([x, m], (a, b) => a - b);
  const lse = map(reduce(map(z, Math.exp), [ax], true, sum), Math.log);
  const ls = zip([z, lse], (a, b) => a - b);
  return log ? ls : map(ls, Math.exp);
}
