// The subgroup GEMM (shaders/matmul-subgroup.wgsl) on a device without 'subgroups': made
// here with init({ disableFeatures: ['subgroups'] }), as on an adapter that lacks them.
// Asking for it is a FeatureError, never a WGSL compile failure; GEMMs otherwise run on
// the kernels that need no subgroups; a tune cache's 'subgroup' choice falls back to 'auto'.
// Each test owns its device (init/dispose), as in conv-tuning.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FeatureError, ValueError, init, ops, type Gpu } from '../src/index.js';
import { tuneKey } from '../src/runtime/init.js';
import { backend } from '../src/runtime/init.js';
import { defineKernel } from '../src/runtime/kernel.js';
import { DEFAULT_GEMM_CONFIG, getGemmConfig, setGemmConfig } from '../src/ops/matmul.js';
import * as R from './ref.js';
import { expectClose, randArr, toTensor } from './harness.js';

let gpu: Gpu | null = null;
const savedEnv = process.env.NFNET_TUNE_CACHE;
afterEach(async () => {
  await gpu?.dispose();
  gpu = null;
  setGemmConfig(DEFAULT_GEMM_CONFIG);
  if (savedEnv === undefined) delete process.env.NFNET_TUNE_CACHE;
  else process.env.NFNET_TUNE_CACHE = savedEnv;
});

const withoutSubgroups = () => init({ verbose: false, disableFeatures: ['subgroups'] });

describe('subgroup GEMM on a device without subgroups', () => {
  it('the device reports no subgroups; tiles \'subgroup\' is refused with a FeatureError, other GEMMs still run', async () => {
    process.env.NFNET_TUNE_CACHE = 'off';
    gpu = await withoutSubgroups();
    expect(gpu.deviceFeatures).not.toContain('subgroups');
    expect(gpu.subgroupSize).toBeNull();
    expect(() => setGemmConfig({ tiles: 'subgroup' })).toThrow(FeatureError);
    expect(() => setGemmConfig({ tiles: 'subgroup' })).toThrow(/GEMM tiles 'subgroup' need the device feature 'subgroups'/);
    expect(getGemmConfig().tiles).toBe('auto');
    // A GEMM wide enough for the quad kernel takes the tiled one instead (the quad kernel needs subgroups too).
    const A = randArr([72, 8], 1); // more rows than small GEMMs hand to one-row products
    const B = randArr([8, 64], 2);
    gpu.profile.start();
    const c = ops.matmul(toTensor(A), toTensor(B));
    expect((await gpu.profile.stop()).kernels.map((k) => k.kernel)).toEqual(['matmul/matmul']);
    expectClose(await c.data(), R.matmul(A, B), 1e-5);
  });

  it('a config set before the device (nothing to check then) is refused at the GEMM, before any dispatch', async () => {
    process.env.NFNET_TUNE_CACHE = 'off';
    setGemmConfig({ tiles: 'subgroup' }); // no device yet: accepted
    gpu = await withoutSubgroups();
    const a = toTensor(randArr([9, 5], 3));
    const b = toTensor(randArr([5, 7], 4));
    const before = gpu.counters().dispatches;
    expect(() => ops.matmul(a, b)).toThrow(FeatureError);
    expect(gpu.counters().dispatches).toBe(before);
  });

  it('any kernel that enables subgroups is refused by the backend with a FeatureError, not a compile error', async () => {
    process.env.NFNET_TUNE_CACHE = 'off';
    gpu = await withoutSubgroups();
    const kernel = defineKernel('test-subgroup-probe', `enable subgroups;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(4) fn main(@builtin(local_invocation_index) i: u32) { out[i] = subgroupAdd(1u); }
`, 'main');
    expect(kernel.features).toEqual(['subgroups']);
    const out = toTensor(randArr([4], 5));
    expect(() => backend().dispatch({ kernel, bindings: { out }, workgroups: 1 })).toThrow(/kernel test-subgroup-probe\/main needs the device feature 'subgroups'/);
    await gpu.sync(); // nothing invalid was recorded
  });

  it('a tune cache\'s \'subgroup\' choice applies where the device has subgroups and becomes \'auto\' where it has not', async () => {
    process.env.NFNET_TUNE_CACHE = 'off';
    gpu = await init({ verbose: false });
    const key = tuneKey(gpu.adapter);
    const subgroupsOffered = gpu.deviceFeatures.includes('subgroups');
    await gpu.dispose();
    gpu = null;
    const dir = mkdtempSync(path.join(tmpdir(), 'nfnet-tune-'));
    try {
      process.env.NFNET_TUNE_CACHE = path.join(dir, 'tune.json');
      writeFileSync(process.env.NFNET_TUNE_CACHE, JSON.stringify({ schema: 'nfnet-webgpu-tune/1', adapters: { [key]: { configs: { gemm: { tiles: 'subgroup' } } } } }));
      if (subgroupsOffered) {
        gpu = await init({ verbose: false });
        expect(getGemmConfig().tiles).toBe('subgroup');
        await gpu.dispose();
        gpu = null;
        setGemmConfig(DEFAULT_GEMM_CONFIG);
      }
      gpu = await withoutSubgroups();
      expect(gpu.tuned).toEqual({ gemm: { tiles: 'subgroup' } });
      expect(getGemmConfig().tiles).toBe('auto');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('init refuses an unknown feature name in disableFeatures', async () => {
    await expect(init({ disableFeatures: ['subgroup' as never] })).rejects.toThrow(ValueError);
    await expect(init({ disableFeatures: ['subgroup' as never] })).rejects.toThrow(/disableFeatures\[\] must be one of 'timestamp-query', 'subgroups', 'shader-f16', got "subgroup" \(did you mean 'subgroups'\?\)/);
  });
});
