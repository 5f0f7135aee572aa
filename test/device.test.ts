// The runtime's contract with the device: adapter facts, the profiler, WGSL errors as
// KernelError with file:line, binding mismatches caught before dispatch, and device loss
// reported as DeviceLostError rather than a hang. Each test owns its device.
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceLostError, KernelError, defineKernel, init, ops, randn, tensor, type Gpu } from '../src/index.js';
import { backend } from '../src/runtime/init.js';

let gpu: Gpu | null = null;
afterEach(async () => {
  await gpu?.dispose();
  gpu = null;
});

describe('device', () => {
  it('reports the adapter, features and limits, and profiles kernels by name', async () => {
    gpu = await init({ verbose: false });
    expect(gpu.adapter.platform).toBe('node');
    expect(gpu.limits.maxComputeWorkgroupsPerDimension).toBeGreaterThanOrEqual(65535);
    expect(gpu.features.length).toBeGreaterThan(0);
    const x = randn([64, 64], { seed: 1 });
    await gpu.sync();
    gpu.profile.start();
    ops.matmul(randn([96, 64], { seed: 3 }), randn([64, 12], { seed: 2 })).dispose(); // narrower than a quad band, more than 64 rows: the tiled kernel
    ops.exp(x).dispose();
    const report = await gpu.profile.stop();
    expect(['timestamp', 'wall']).toContain(report.mode);
    expect(report.kernels.map((k) => k.kernel)).toEqual(expect.arrayContaining(['matmul/matmul', 'elementwise/unary']));
    expect(report.kernels.every((k) => k.calls >= 1 && k.totalMs >= 0)).toBe(true);
  });

  it('a WGSL compile error becomes a KernelError naming the shader, its own line and the message', async () => {
    gpu = await init({ verbose: false });
    // Line 4 of this source, after common.wgsl is prepended and the directive hoisted.
    const bad = defineKernel('broken', `
diagnostic(off, derivative_uniformity);
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() { out[0] = undefined_name; }`, 'main');
    const out = tensor([0]);
    backend().dispatch({ kernel: bad, bindings: { out: out.buffer }, workgroups: 1 });
    const err = await gpu.sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(String((err as Error).message)).toMatch(/shaders\/broken\.wgsl:4:\d+: .*undefined_name/);
  });

  it('binding mismatches are KernelErrors before anything is recorded', async () => {
    gpu = await init({ verbose: false });
    const k = defineKernel('ok', `
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(1) fn main() { dst[0] = src[0]; }`, 'main');
    const a = tensor([1]);
    const before = gpu.counters().dispatches;
    expect(() => backend().dispatch({ kernel: k, bindings: { src: a.buffer }, workgroups: 1 })).toThrow(/binding 'dst' was not given/);
    expect(() => backend().dispatch({ kernel: k, bindings: { src: a.buffer, dst: a.buffer }, workgroups: 1 })).toThrow(/bound both read-only and read_write/);
    expect(() => backend().dispatch({ kernel: k, bindings: { src: a.buffer, dst: a.buffer, extra: a.buffer }, workgroups: 1 })).toThrow(/declares no binding 'extra'/);
    expect(gpu.counters().dispatches).toBe(before);
  });

  it('device loss rejects pending and later work with DeviceLostError, never hangs', async () => {
    gpu = await init({ verbose: false });
    const x = randn([1000], { seed: 2 });
    const pending = ops.exp(x).data();
    gpu.device.destroy();
    await expect(pending).rejects.toThrow(DeviceLostError);
    await new Promise((r) => setTimeout(r, 10));
    expect(() => ops.exp(x)).toThrow(DeviceLostError);
    expect(() => ops.exp(x)).toThrow(/device was lost \(destroyed\)/);
  });

  it('fast mode (Dawn toggles) computes the same results', async () => {
    gpu = await init({ verbose: false, fast: true });
    expect(gpu.fast).toBe(true);
    const y = await ops.matmul(tensor([1, 2, 3, 4], [2, 2]), tensor([5, 6, 7, 8], [2, 2])).data();
    expect(Array.from(y)).toEqual([19, 22, 43, 50]);
  });
});
