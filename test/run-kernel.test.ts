// runKernel: a kernel hacker's own kernel dispatched on tensors, checked against the
// bindings its WGSL declares before anything is allocated or recorded.
import { describe, expect, it } from 'vitest';
import { DTypeError, KernelError, ValueError, defineKernel, runKernel, tensor, zeros } from '../src/index.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

// out = alpha·x + y, plus a per-element count of calls into `hits` (accumulated in place).
const SCALED_ADD = defineKernel('test-scaled-add', `
struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> hits: array<f32>;
override WG: u32 = 64u;
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i >= params.n) { return; }
  out[i] = params.alpha * x[i] + y[i];
  hits[i] = hits[i] + 1.0;
}`, 'main');

describe('runKernel', () => {
  it('computes on tensors, allocates outputs given as shapes and writes those given as tensors in place', async () => {
    const n = 70; // two workgroups of 64, the second partial
    const xs = Array.from({ length: n }, (_, i) => i - 35);
    const ys = Array.from({ length: n }, (_, i) => 0.25 * i);
    const x = tensor(xs);
    const y = tensor(ys);
    const hits = zeros([n]);
    const spec = { inputs: { x, y }, outputs: { out: [n], hits }, params: { n, alpha: -1.5 }, workgroups: 2 };
    const first = runKernel(SCALED_ADD, spec);
    const second = runKernel(SCALED_ADD, { ...spec, overrides: { WG: 32 }, workgroups: [3, 1] as const }); // 96 ≥ 70 invocations
    expect(first.hits).toBe(hits);
    expect(second.out).not.toBe(first.out);
    const want = xs.map((v, i) => -1.5 * v + ys[i]!);
    expect(Array.from(await first.out.data())).toEqual(want);
    expect(Array.from(await second.out.data())).toEqual(want);
    expect(Array.from(await hits.data())).toEqual(new Array(n).fill(2));
  });

  it('rejects bad bindings, dtypes, params, overrides and workgroups before allocating or recording anything', async () => {
    const x = tensor([1, 2]);
    const y = tensor([3, 4]);
    const hits = zeros([2]);
    const yInt = tensor(new Int32Array([1, 2]));
    await gpu().sync();
    const dispatches = gpu().counters().dispatches;
    const live = gpu().poolStats().liveBuffers;
    const ok = { inputs: { x, y }, outputs: { out: [2], hits }, params: { n: 2, alpha: 1 }, workgroups: 1 };
    const cases: [object, typeof KernelError | typeof ValueError | typeof DTypeError, RegExp][] = [
      [{ ...ok, inputs: { x } }, KernelError, /binding 'y' \(read\) was not given in inputs/],
      [{ ...ok, outputs: { hits } }, KernelError, /binding 'out' \(read_write\) was not given in outputs/],
      [{ ...ok, inputs: { x, y, out: x } }, KernelError, /'out' is read_write in the WGSL, so it belongs in outputs, not inputs/],
      [{ ...ok, outputs: { out: [2], hits, x: [2] } }, KernelError, /'x' is read in the WGSL, so it belongs in inputs, not outputs/],
      [{ ...ok, inputs: { x, y, z: x } }, KernelError, /inputs\.z is not a binding of the kernel \(it has x \(read\), y \(read\), out \(read_write\), hits \(read_write\)\)/],
      [{ ...ok, inputs: { x, y: yInt } }, DTypeError, /'y' is an array of f32 in the WGSL, got a i32 tensor \[2\]/],
      [{ ...ok, inputs: { x, y: [1, 2] } }, ValueError, /inputs\.y must be a Tensor/],
      [{ ...ok, outputs: { out: [2.5], hits } }, ValueError, /outputs\.out must be a Tensor or a shape of non-negative integers, got \[2\.5\]/],
      [{ ...ok, params: { n: 2 } }, KernelError, /params\.alpha was not given/],
      [{ ...ok, params: { n: 2, alpha: 1, beta: 0 } }, KernelError, /params has no field 'beta'/],
      [{ ...ok, overrides: { TILE: 4 } }, KernelError, /declares no override 'TILE'/],
      [{ ...ok, workgroups: -1 }, ValueError, /workgroups must be a non-negative integer or \[x, y, z\?\] of them, got -1/],
      [{ ...ok, workgroups: [1.5, 1] }, ValueError, /workgroups must be/],
    ];
    for (const [spec, type, message] of cases) {
      const call = () => runKernel(SCALED_ADD, spec as Parameters<typeof runKernel>[1]);
      expect(call, String(message)).toThrow(type);
      expect(call, String(message)).toThrow(message);
    }
    // One buffer bound read-only and read_write: caught by the backend, the fresh output is freed.
    expect(() => runKernel(SCALED_ADD, { ...ok, outputs: { out: [2], hits: x } })).toThrow(/bound both read-only and read_write/);
    expect(gpu().counters().dispatches).toBe(dispatches);
    expect(gpu().poolStats().liveBuffers).toBe(live);
  });

  it('zero workgroups records nothing', () => {
    const before = gpu().counters().dispatches;
    const { out } = runKernel(SCALED_ADD, { inputs: { x: tensor([1]), y: tensor([2]) }, outputs: { out: [0], hits: zeros([0]) }, params: { n: 0, alpha: 1 }, workgroups: 0 });
    expect(out.shape).toEqual([0]);
    expect(gpu().counters().dispatches).toBe(before);
  });
});

describe('defineKernel reflects the element type runKernel checks', () => {
  it('scalars, vec4 forms and atomics', () => {
    const k = defineKernel('test-elements', `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> c: array<vec4i>;
@group(0) @binding(3) var<storage, read_write> d: array<atomic<u32>>;
@compute @workgroup_size(1) fn main() { atomicAdd(&d[0], u32(a[0] + b[0].x + f32(c[0].y))); }`, 'main');
    const element = Object.fromEntries(k.bindings.map((b) => [b.name, b.element]));
    expect(element).toEqual({ a: 'f32', b: 'f32', c: 'i32', d: 'u32' });
  });
});
