// The conv tuning lives on the device, not in module globals: init() applies the tune
// cache's 'conv' entry to the new device, the op reads it from there, and the next device
// starts from the defaults again. Each test owns its device.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { init, ops, type Gpu } from '../src/index.js';
import { tuneKey } from '../src/runtime/init.js';
import { DEFAULT_CONV_TUNING, convTuning, setConvTuning, type ConvTuning } from '../src/ops/conv2d/index.js';
import { randArr, toTensor } from './harness.js';

let gpu: Gpu | null = null;
const savedEnv = process.env.NFNET_TUNE_CACHE;
afterEach(async () => {
  await gpu?.dispose();
  gpu = null;
  if (savedEnv === undefined) delete process.env.NFNET_TUNE_CACHE;
  else process.env.NFNET_TUNE_CACHE = savedEnv;
});

describe('conv tuning on the device', () => {
  it('init() applies the tune cache to the device, the op runs on it, and the next device starts from the defaults', async () => {
    process.env.NFNET_TUNE_CACHE = 'off';
    gpu = await init({ verbose: false });
    const key = tuneKey(gpu.adapter);
    await gpu.dispose();

    const dir = mkdtempSync(path.join(tmpdir(), 'nfnet-tune-'));
    try {
      const cached: ConvTuning = { wg: 32, dwTargetThreads: 2048, winogradMinChannels: 8, winogradTile: 2, tiles: 'register' };
      process.env.NFNET_TUNE_CACHE = path.join(dir, 'tune.json');
      writeFileSync(process.env.NFNET_TUNE_CACHE, JSON.stringify({ schema: 'nfnet-webgpu-tune/1', adapters: { [key]: { configs: { conv: cached } } } }));
      gpu = await init({ verbose: false });
      expect(gpu.tuned).toEqual({ conv: cached });
      expect(convTuning()).toEqual(cached);
      // 8 channels: below the default threshold of 16, at the cached one of 8, on F(2×2).
      const x = toTensor(randArr([1, 6, 6, 8], 1));
      const w = toTensor(randArr([3, 3, 8, 8], 2));
      gpu.profile.start();
      ops.conv2d(x, w, { padding: 'SAME' }).dispose();
      expect((await gpu.profile.stop()).kernels.map((k) => k.kernel)).toContain('conv2d-winograd/output_transform');
      setConvTuning({ winogradTile: 4 }); // changes this device only
      await gpu.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    process.env.NFNET_TUNE_CACHE = 'off';
    gpu = await init({ verbose: false });
    expect(gpu.tuned).toBeNull();
    expect(convTuning()).toEqual(DEFAULT_CONV_TUNING);
  });
});
