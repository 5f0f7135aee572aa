// Model fidelity: parameter counts agree with the plan, every non-transition block is the
// identity at init, signal propagation behaves as the β/α rule says, and the whole forward
// pass agrees with an independent TF.js CPU implementation built from the same weights.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { assign, nfnet, randn, ShapeError, ValueError, type Tensor } from '../src/index.js';
import { useGpu } from './setup.js';
import { tfNfnetForward } from './tf-nfnet.js';
import { maxRelErr } from './harness.js';

useGpu();
beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('NFNet model', () => {
  it('creates exactly the parameters `nfnet info` counts, with the reference init', async () => {
    for (const v of ['pico', 'nano', 'micro']) {
      const m = nfnet.create(v, { seed: 3 });
      expect(m.parameterCount(), v).toBe(nfnet.info(v).params);
      expect(Array.from(await m.state.get('stages.0.block0.skipGain').data())).toEqual([0]);
      expect(Array.from(await m.state.get('stem.conv0.gain').data()).every((g) => g === 1)).toBe(true);
      const fc = await m.state.get('head.fc.weight').data();
      const std = Math.sqrt(fc.reduce((s, x) => s + x * x, 0) / fc.length);
      expect(std).toBeGreaterThan(0.007);
      expect(std).toBeLessThan(0.013); // N(0, 0.01²)
      m.dispose();
    }
  });

  it('every non-transition block is the identity at initialisation (skip_gain = 0)', async () => {
    const m = nfnet.create('micro', { seed: 1 });
    const outs: { name: string; t: Tensor }[] = [];
    const x = randn([2, 16, 16, 3], { seed: 5 });
    m.forward(x, { trace: (name, t) => outs.push({ name, t: t.view(t.shape) }) }).dispose();
    const blocks = nfnet.planBlocks(m.config);
    let checked = 0;
    for (let i = 0; i < blocks.length; i++) {
      if (blocks[i]!.projection) continue;
      const before = await outs[i]!.t.data();
      const after = await outs[i + 1]!.t.data();
      expect(Array.from(after), outs[i + 1]!.name).toEqual(Array.from(before));
      checked++;
    }
    expect(checked).toBe(2);
    m.dispose();
  });

  it('signal propagation: α² growth within a stage, a reset at each transition', async () => {
    const m = nfnet.create('micro', { seed: 1 });
    const r = await nfnet.signalPropagation(m, { batch: 8, resolution: 32, residual: true });
    const init = await nfnet.signalPropagation(m, { batch: 8, resolution: 32 });
    const v = r.points.map((p) => p.avgChannelVariance);
    // stem → stage 0 block 0 (a projection without pooling, input variance ≈ 1): + α².
    expect(v[1]! - v[0]!).toBeGreaterThan(0.6 * 0.04);
    expect(v[1]! - v[0]!).toBeLessThan(1.4 * 0.04);
    // Transitions reset (drop), non-transition blocks only add.
    const blocks = nfnet.planBlocks(m.config);
    blocks.forEach((b, i) => {
      if (b.transition) expect(v[i + 1]!).toBeLessThan(v[i]!);
      else expect(v[i + 1]!).toBeGreaterThan(v[i]!);
    });
    // skip gains restored to 0 afterwards: the init report shows flat stages.
    expect(init.points[3]!.avgChannelVariance).toBeCloseTo(init.points[2]!.avgChannelVariance, 6);
    m.dispose();
  });

  it('agrees with an independent TF.js CPU implementation to 1e-4', async () => {
    const m = nfnet.create('pico', { seed: 7 });
    // Non-zero skip gains and biases so every branch contributes.
    for (const [p, t] of m.state.entries()) {
      if (p.kind === 'skipGain') assign(t, Float32Array.of(0.7));
      if (p.kind === 'bias') assign(t, Float32Array.from({ length: t.size }, (_, i) => 0.01 * ((i % 5) - 2)));
    }
    const x = randn([2, 28, 28, 1], { seed: 11 });
    const ours = await m.forward(x).data();
    const weights = new Map<string, tf.Tensor>();
    for (const [p, t] of m.state.entries()) weights.set(p.name, tf.tensor(await t.data(), t.shape as number[]));
    const theirs = tfNfnetForward(m.config, weights, tf.tensor4d(await x.data(), [2, 28, 28, 1]));
    const err = maxRelErr(ours, await theirs.data());
    expect(err).toBeLessThan(1e-4);
    m.dispose();
  });

  it('rejects wrong inputs before any GPU work', async () => {
    const m = nfnet.create('pico');
    const x = randn([1, 28, 28, 3]);
    expect(() => m.forward(x)).toThrow(ShapeError);
    expect(() => m.forward(x)).toThrow(/expected NHWC images \[N, H, W, 1\], got \[1, 28, 28, 3\]/);
    expect(() => nfnet.create('nf-resnet-50', { numClasses: 0 })).toThrow(ValueError);
    m.dispose();
  });

  it('builds an NF-ResNet (7×7 stem + 3×3 max pool, ResNet bottlenecks) with the planned parameters', async () => {
    const m = nfnet.create('nf-resnet-26', { numClasses: 10 });
    expect(m.parameterCount()).toBe(nfnet.info('nf-resnet-26', { numClasses: 10 }).params);
    const names: string[] = [];
    const logits = m.forward(randn([1, 32, 32, 3], { seed: 1 }), { trace: (name) => names.push(name) });
    expect(logits.shape).toEqual([1, 10]);
    expect(Array.from(await logits.data()).every(Number.isFinite)).toBe(true);
    expect(names.length).toBe(1 + 8);
    m.dispose();
  });
});
