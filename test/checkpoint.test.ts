// Checkpoints: safetensors round trip and validation, exact resume, nothing half-loaded,
// and the timm importer on a fixture this test generates (our weights written out in
// timm's names and PyTorch layouts).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { data, models, nfnet, ShapeError } from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/node.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors, type HostTensor } from '../src/io/safetensors.js';
import { loadSplits } from '../src/cli/datasets.js';
import { useGpu } from './setup.js';

useGpu();

const values = async (m: models.Model) => Promise.all(m.state.params.map(async (t) => Array.from(await t.data())));

function tinySet(): data.ImageSet {
  const n = 24;
  const images = Uint8Array.from({ length: n * 28 * 28 }, (_, i) => (i * 2654435761) >>> 24);
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % 10), count: n, height: 28, width: 28, channels: 1, classes: 10 };
}

describe('safetensors', () => {
  it('round-trips tensors and metadata, and names the tensor in a truncated file', () => {
    const t: Record<string, HostTensor> = {
      'a/w': { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      b: { dtype: 'I32', shape: [2], data: Int32Array.from([-1, 7]) },
    };
    const bytes = encodeSafetensors(t, { note: 'hi' });
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ note: 'hi' });
    expect(back.tensors.get('a/w')!.shape).toEqual([2, 3]);
    expect(Array.from(new Float32Array(back.tensors.get('a/w')!.bytes.slice().buffer))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4))).toThrow(/tensor 'b' ends at byte 32 but the data section has 28 bytes \(truncated\)/);
    const corrupt = bytes.slice();
    corrupt[10] = 0x7b; // break the JSON
    expect(() => decodeSafetensors(corrupt)).toThrow(CheckpointError);
    expect(() => decodeSafetensors(bytes.subarray(0, 5))).toThrow(/too short/);
  });
});

describe('checkpoints', () => {
  it('resuming continues bit-identically to an unbroken run', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ckpt-'));
    const file = path.join(dir, 'run.safetensors');
    const opts = { totalSteps: 10, lr: 0.05, warmupSteps: 2, seed: 4 };
    const loaderOpts = { batchSize: 8, shuffle: true, seed: 9, cropPadding: 2, flip: true, mean: [0.3], std: [0.3] };

    // Unbroken: 4 steps, saving after step 2.
    const model = nfnet.create('pico', { seed: 1 });
    const trainer = new nfnet.Trainer(model, opts);
    const loader = new data.DataLoader(tinySet(), loaderOpts);
    const losses: number[] = [];
    let k = 0;
    for (const batch of loader.epoch()) {
      losses.push((await trainer.trainStep(batch)).loss);
      if (++k === 2) await saveCheckpoint(file, model, trainer, { loader: { ...loader.state, batchInEpoch: 2 } });
    }
    expect(losses.length).toBe(3);
    const finalParams = await values(model);
    expect(readdirSync(dir)).toEqual(['run.safetensors']); // temp file renamed away

    // Resumed from the file into fresh objects.
    const ck = loadCheckpoint(file);
    expect(ck.step).toBe(2);
    const model2 = nfnet.create('pico', { seed: 99 });
    const trainer2 = new nfnet.Trainer(model2, ck.trainOptions!);
    nfnet.restore(model2, ck, trainer2);
    const loader2 = new data.DataLoader(tinySet(), loaderOpts);
    loader2.restore(ck.loader!);
    const resumed: number[] = [];
    for (const batch of loader2.epoch(ck.loader!.batchInEpoch)) resumed.push((await trainer2.trainStep(batch)).loss);
    expect(resumed).toEqual(losses.slice(2));
    expect(await values(model2)).toEqual(finalParams);
    for (const t of [trainer, trainer2]) t.dispose();
    model.dispose();
    model2.dispose();
  });

  it('a mismatched checkpoint names the tensor and shapes, and changes nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ckpt-'));
    const nano = nfnet.create('nano', { seed: 1 });
    await saveCheckpoint(path.join(dir, 'nano.safetensors'), nano);
    const pico = nfnet.create('pico', { seed: 2 });
    const before = await values(pico);
    const ck = loadCheckpoint(path.join(dir, 'nano.safetensors'));
    expect(() => nfnet.restore(pico, ck)).toThrow(ShapeError);
    expect(() => nfnet.restore(pico, ck)).toThrow(/'stem\.conv0\.weight': expected shape \[3,3,1,8\], found \[3,3,1,16\]/);
    expect(await values(pico)).toEqual(before);
    // Truncated on disk: a clear error, nothing loaded.
    const bytes = readFileSync(path.join(dir, 'nano.safetensors'));
    writeFileSync(path.join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 100));
    expect(() => loadCheckpoint(path.join(dir, 'cut.safetensors'))).toThrow(/truncated/);
    // A model rebuilt from the checkpoint has the saved weights.
    const again = nfnet.modelFromCheckpoint(ck);
    expect(await values(again)).toEqual(await values(nano));
    for (const m of [nano, pico, again]) m.dispose();
  });

  it('a file from before the model-state redesign (docs/results\' Fashion-MNIST checkpoint) loads, agcExclude read as agcSkipGains', async () => {
    const ck = loadCheckpoint('docs/results/fashion-mnist/checkpoint.safetensors');
    expect(ck.trainOptions).toMatchObject({ lr: 0.15, clipping: 0.1, agcSkipGains: false, totalSteps: 7500 });
    expect(ck.trainOptions).not.toHaveProperty('agcExclude');
    // Its weights still score as when it was written (90.68% on all 10,000 test images).
    const { train, test } = loadSplits({ data: 'fashion-mnist' });
    const firstTest = { ...test, count: 500, images: test.images.subarray(0, 500 * 784), labels: test.labels.subarray(0, 500) };
    const model = nfnet.modelFromCheckpoint(ck, { useEma: true });
    const r = await nfnet.evaluate(model, new data.DataLoader(firstTest, { batchSize: 250, keepLast: true, ...data.channelStats(train) }));
    expect(r.accuracy).toBeGreaterThan(0.85);
    model.dispose();
    // The old default excluded only the classifier: the skip gains were clipped.
    const pico = nfnet.create('pico', { seed: 1 });
    const { tensors, metadata } = decodeSafetensors(await nfnet.encodeCheckpoint(pico));
    const oldOptions = { lr: 0.1, warmupSteps: 0, momentum: 0.9, weightDecay: 2e-5, clipping: 0.01, labelSmoothing: 0.1, ema: true, seed: 0, agcExclude: ['head.fc.weight'], totalSteps: 10 };
    const hostTensors = Object.fromEntries([...tensors].map(([name, t]): [string, HostTensor] => [name, { dtype: 'F32', shape: t.shape, data: new Float32Array(t.bytes.slice().buffer) }]));
    const oldFile = nfnet.decodeCheckpoint(encodeSafetensors(hostTensors, { ...metadata, trainOptions: JSON.stringify(oldOptions) }));
    expect(oldFile.trainOptions).toMatchObject({ agcSkipGains: true, clipping: 0.01 });
    pico.dispose();
  });

  it('docs/results\' nano-d checkpoint carries its --set overrides and scores with flip TTA', async () => {
    const ck = loadCheckpoint('docs/results/fashion-mnist-nano-d/checkpoint.safetensors');
    expect(ck.config).toMatchObject({ variant: 'nano', groupWidth: 32, depths: [1, 2], dropout: 0, stochDepthRate: 0 });
    // 91.55% (EMA, flip TTA) on all 10,000 test images when it was written.
    const { train, test } = loadSplits({ data: 'fashion-mnist' });
    const firstTest = { ...test, count: 500, images: test.images.subarray(0, 500 * 784), labels: test.labels.subarray(0, 500) };
    const model = nfnet.modelFromCheckpoint(ck, { useEma: true });
    expect(model.parameterCount()).toBe(72_333);
    const r = await nfnet.evaluate(model, new data.DataLoader(firstTest, { batchSize: 250, keepLast: true, ...data.channelStats(train) }), { flip: true });
    expect(r.accuracy).toBeGreaterThan(0.87);
    model.dispose();
  });
});

describe('timm importer', () => {
  /** Our name → timm's (the inverse of the importer's table, written independently here). */
  function timmName(ours: string): string {
    if (ours.startsWith('stem.')) return ours.replace(/^stem\.conv(\d)/, (_, i) => `stem.conv${Number(i) + 1}`);
    return ours
      .replace(/^stages\.(\d+)\.block(\d+)\./, 'stages.$1.$2.')
      .replace(/\.conv2\./, '.conv3.').replace(/\.conv1b\./, '.conv2b.').replace(/\.conv1\./, '.conv2.').replace(/\.conv0\./, '.conv1.')
      .replace(/\.shortcut\./, '.downsample.conv.').replace(/\.se\.fc0\./, '.attn_last.fc1.').replace(/\.se\.fc1\./, '.attn_last.fc2.')
      .replace(/\.skipGain$/, '.skipinit_gain').replace(/^head\.conv\./, 'final_conv.');
  }

  it('loads a timm-named OIHW state dict into the same weights', async () => {
    const src = nfnet.create('pico', { seed: 5 });
    const dict: Record<string, HostTensor> = {};
    for (const [p, t] of src.state.entries()) {
      const v = await t.data();
      const s = t.shape;
      let shape = [...s];
      let out: Float32Array = v;
      if (p.kind === 'weight' && s.length === 4) {
        const [h, w, i, o] = s as [number, number, number, number];
        out = new Float32Array(v.length);
        for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((a * i + b) * h + y) * w + x] = v[((y * w + x) * i + b) * o + a]!;
        shape = [o, i, h, w];
      } else if (p.kind === 'weight' && s.length === 2) {
        const [i, o] = s as [number, number];
        out = new Float32Array(v.length);
        for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[a * i + b] = v[b * o + a]!;
        shape = p.name.includes('.se.') ? [o, i, 1, 1] : [o, i];
      } else if (p.kind === 'gain') shape = [s[0]!, 1, 1, 1];
      dict[timmName(p.name)] = { dtype: 'F32', shape, data: out };
    }
    dict['stages.0.0.attn_last.num_batches_tracked'] = { dtype: 'I32', shape: [], data: Int32Array.of(0) };
    const dst = nfnet.create('pico', { seed: 6 });
    const report = nfnet.importTimm(dst, encodeSafetensors(dict));
    expect(report.loaded).toBe(src.state.params.length);
    expect(report.ignored).toEqual(['stages.0.0.attn_last.num_batches_tracked']);
    expect(await values(dst)).toEqual(await values(src));
    // A wrong shape is reported with names and shapes; nothing is written.
    const before = await values(dst);
    dict['final_conv.weight'] = { dtype: 'F32', shape: [64, 31, 1, 1], data: new Float32Array(64 * 31) };
    expect(() => nfnet.importTimm(dst, encodeSafetensors(dict))).toThrow(/'head\.conv\.weight': expected shape \[1,1,32,64\], found \[1,1,31,64\]/);
    expect(await values(dst)).toEqual(before);
    src.dispose();
    dst.dispose();
  });
});
