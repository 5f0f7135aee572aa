// Dispatches of more than 65535 workgroups per dimension are folded into a 2-D grid by the
// runtime (and unfolded by the kernels). These shapes need folding at 256 threads per
// workgroup; inputs are affine in the index so every position can be checked cheaply.
import { describe, expect, it } from 'vitest';
import { full, LimitError, ops, tensor, type Tensor } from '../src/index.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

const N = 65535 * 256 + 1001; // one more than fits in a single 65535-workgroup row, plus an odd tail
const P = 4099; // a prime period: a misplaced workgroup reads a different value

function firstMismatch(d: ArrayLike<number>, want: (i: number) => number): number {
  for (let i = 0; i < d.length; i++) if (d[i] !== want(i)) return i;
  return -1;
}

describe('dispatch folding beyond 65535 workgroups', () => {
  let a: Tensor;

  it(`fill and add on ${N} elements write every position exactly once`, async () => {
    const host = new Float32Array(N);
    for (let i = 0; i < N; i++) host[i] = i % P;
    a = tensor(host, [N]);
    const half = full([N], 0.5);
    const before = gpu().counters().dispatches;
    const y = ops.add(a, half);
    expect(gpu().counters().dispatches - before).toBe(1);
    const d = await y.data();
    expect(d.length).toBe(N);
    const bad = firstMismatch(d, (i) => (i % P) + 0.5);
    expect(bad, bad < 0 ? '' : `position ${bad}: got ${d[bad]}, want ${(bad % P) + 0.5}`).toBe(-1);
    half.dispose();
    y.dispose();
  });

  it(`a reduction with ${N} outputs (one thread each): [${N}, 2] summed over axis 1`, async () => {
    const host = new Float32Array(2 * N);
    for (let i = 0; i < N; i++) {
      host[2 * i] = i % P;
      host[2 * i + 1] = 1000 + (i % P);
    }
    // 8N bytes is 6 KB over 128 MiB, lavapipe's maxStorageBufferBindingSize (SwiftShader's is
    // larger): there the input is refused before any GPU work, with the limit named.
    if (8 * N > gpu().limits.maxStorageBufferBindingSize!) {
      expect(() => tensor(host, [N, 2])).toThrow(LimitError);
      expect(() => tensor(host, [N, 2])).toThrow(/maxStorageBufferBindingSize/);
      return;
    }
    const x = tensor(host, [N, 2]);
    const s = ops.sum(x, { axes: -1 });
    const ds = await s.data();
    expect(ds.length).toBe(N);
    const bad = firstMismatch(ds, (i) => 2 * (i % P) + 1000);
    expect(bad, bad < 0 ? '' : `sum at ${bad}: got ${ds[bad]}`).toBe(-1);
    x.dispose();
    s.dispose();
  });

  it(`sum and mean of all ${N} elements vs float64 (chunked passes)`, async () => {
    // Σ (i mod P) in closed form.
    const q = Math.floor(N / P);
    const r = N % P;
    const exact = (q * (P - 1) * P) / 2 + ((r - 1) * r) / 2;
    const s = await ops.sum(a).item();
    expect(Math.abs(s - exact) / exact).toBeLessThan(1e-6);
    const m = await ops.mean(a).item();
    expect(Math.abs(m - exact / N) / (exact / N)).toBeLessThan(1e-6);
    a.dispose();
  });
});
