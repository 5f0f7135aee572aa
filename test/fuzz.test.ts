// Seeded fuzzing of the public API (ops, creation, autodiff, safetensors and data files,
// DataLoader): every generated call is bad, so every one must throw our typed error,
// record no GPU work before it, leave the pool's live bytes where they were, and leave a
// device that still computes a matmul correctly. `npm run fuzz` runs thousands.
import { describe, expect, it } from 'vitest';
import { GENERATORS } from './fuzz/generators.js';
import { NFNET_GENERATORS, prepareNfnetFuzz } from './fuzz/nfnet-generators.js';
import { deviceWorks, runFuzz } from './fuzz/runner.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

describe('fuzz: bad calls to the public API', () => {
  it('400 seeded bad calls: a typed error each, before GPU work, no leak, device still right', async () => {
    const generators = [...GENERATORS, ...NFNET_GENERATORS];
    expect(new Set(generators.map((g) => g.area))).toEqual(new Set(['ops', 'creation', 'autodiff', 'runtime', 'io', 'data', 'nfnet', 'train', 'optim', 'checkpoint']));
    await prepareNfnetFuzz();
    const report = await runFuzz({ calls: 400, seed: 20261206, generators, gpu, sanityEvery: 100 });
    const wrong = report.records.filter((r) => r.outcome !== 'typed' && r.outcome !== 'benign');
    expect(wrong.map((r) => `${r.label} → ${r.outcome}: ${r.detail}`)).toEqual([]);
    const gpuWork = report.records.filter((r) => r.gpuWorkBeforeError > 0);
    expect(gpuWork.map((r) => `${r.label}: ${r.gpuWorkBeforeError} dispatches`), 'GPU work before the typed error').toEqual([]);
    const leaks = report.records.filter((r) => r.leakedBytes !== 0);
    expect(leaks.map((r) => `${r.label}: ${r.leakedBytes} B`), 'pool live bytes back to the start').toEqual([]);
    expect(report.deviceOk, 'a matmul still matches the CPU after the run').toBe(true);
    // The run covered the table: most generators were drawn.
    expect(new Set(report.records.map((r) => r.generator)).size).toBeGreaterThan(generators.length * 0.9);
  });

  it('the device check itself fails on a wrong device state (it can detect breakage)', async () => {
    expect(await deviceWorks()).toBe(true);
    const g = gpu();
    await g.dispose(); // no device: the check must report false, not throw or pass
    expect(await deviceWorks()).toBe(false);
  });
});
