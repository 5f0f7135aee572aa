// EfficientNet against timm itself: two small timm EfficientNets (PyTorch padding + BN ε
// 1e-5, TF SAME + ε 1e-3), made and run in float64 by scripts/timm-fixtures-efficientnet.py
// (timm commit in test/fixtures/timm-efficientnet/manifest.json), give the same logits and
// activations here; import → export is byte-identical; the project's own weights exported
// are what timm loaded (strict) and checked.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { models, noGrad, tensor, type Tensor } from '../src/index.js';
import type { Model } from '../src/models/model.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { EfficientNetArchitecture } from '../src/efficientnet/model.js';
import { variantConfig, type EfficientNetConfig } from '../src/efficientnet/config.js';
import * as timm from '../src/efficientnet/timm.js';
import { useGpu } from './setup.js';
import { effnetIO as fixtureIO, effnetManifest, effnetStateDict as bytesOf, exportRecipe, fixtureModel, forwardOf } from './efficientnet-fixtures.js';
import { relErr } from './harness.js';

useGpu();
const M = effnetManifest();
const TOL = 1e-4;

/** Logits and the activations after the stem and each stage's last block (eval mode). */
async function run(net: Model, x: { shape: number[]; data: Float32Array }): Promise<{ logits: Float32Array; acts: Map<string, Float32Array> }> {
  const traced = new Map<string, Tensor>();
  const y = forwardOf(net, x, (name, t) => traced.set(name, t));
  const acts = new Map<string, Float32Array>();
  for (const [name, t] of traced) {
    const stage = /^blocks\.(\d+)\./.exec(name)?.[1];
    acts.set(stage === undefined ? name : `blocks.${stage}`, Float32Array.from(await t.data())); // the last block of a stage wins
  }
  return { logits: Float32Array.from(await y.data()), acts };
}

describe('EfficientNet against timm', () => {
  it(`fixtures come from timm ${M.timm.commit.slice(0, 12)}: both paddings, ds and MBConv blocks with and without residuals`, () => {
    expect(M.timm.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(Object.keys(M.fixtures).sort()).toEqual(['efficientnet_tiny', 'tf_efficientnet_tiny']);
    expect(M.fixtures.efficientnet_tiny!.blocks).toEqual([['DepthwiseSeparableConv', 'DepthwiseSeparableConv'], ['InvertedResidual', 'InvertedResidual', 'InvertedResidual'], ['InvertedResidual', 'InvertedResidual']]);
  });

  it('full-size timm models: all 16 parameter counts equal timm\'s, exactly', () => {
    expect(Object.keys(M.fullSizeParams)).toHaveLength(16);
    for (const [name, count] of Object.entries(M.fullSizeParams)) expect(new EfficientNetArchitecture(variantConfig(name)).layout.parameterCount, name).toBe(count);
  });

  for (const [name, fx] of Object.entries(M.fixtures)) {
    const { variant, overrides } = fx.project;

    it(`${name}: ${variant} + overrides is timm's network (${fx.params} parameters, the file's every name and shape)`, () => {
      const cfg = variantConfig(variant, overrides);
      const arch = new EfficientNetArchitecture(cfg);
      expect(arch.layout.parameterCount).toBe(fx.params);
      expect(arch.blocks.map((b) => b.stage)).toEqual(fx.blocks.flatMap((s, i) => s.map(() => i)));
      expect(arch.blocks.map((b) => b.block)).toEqual(fx.blocks.flat().map((t) => (t === 'DepthwiseSeparableConv' ? 'ds' : 'ir')));
      const { tensors } = decodeSafetensors(bytesOf(name));
      expect(timm.recognizes([...tensors.keys()])).toBe(true);
      // One num_batches_tracked per BatchNorm besides our tensors.
      expect(tensors.size).toBe(arch.layout.specs.length + arch.layout.specs.filter((s) => s.name.endsWith('running_var')).length);
    });

    it(`${name}: logits (odd and even inputs) and stem/stage activations within ${TOL} of timm's float64; import → export byte-identical`, async () => {
      const io = fixtureIO(name);
      const bytes = bytesOf(name);
      const net = fixtureModel(name);
      const report = models.importTimm(net, bytes);
      expect(report.ignored.length).toBe(net.layout.specs.filter((s) => s.name.endsWith('running_var')).length);
      expect(report.ignored.every((k) => k.endsWith('.num_batches_tracked'))).toBe(true);
      expect(report.loaded).toBe(net.layout.specs.length);
      for (const kind of ['odd', 'even']) {
        const { logits, acts } = await run(net, io.get(`input.${kind}`)!);
        expect(relErr(logits, io.get(`logits.${kind}`)!.data), `${kind} logits`).toBeLessThanOrEqual(TOL);
        if (kind !== 'odd') continue;
        const keys = [...io.keys()].filter((k) => k.startsWith('act.'));
        expect(keys.sort()).toEqual(['act.blocks.0', 'act.blocks.1', 'act.blocks.2', 'act.stem']);
        for (const key of keys) {
          const got = acts.get(key.slice(4))!;
          expect(got.length, key).toBe(io.get(key)!.data.length);
          expect(relErr(got, io.get(key)!.data), key).toBeLessThanOrEqual(TOL);
        }
      }
      expect(Buffer.from(await models.exportTimm(net)).equals(Buffer.from(bytes))).toBe(true);
      // The same network by its timm name, classes and input channels read from the file.
      const { variant: _v, numClasses: _n, inChannels: _c, ...rest } = { variant, ...overrides };
      const byName = models.importTimm(bytes, { variant, overrides: rest }).model;
      expect(byName.config).toEqual(net.config);
      expect(relErr((await run(byName, io.get('input.even')!)).logits, io.get('logits.even')!.data)).toBeLessThanOrEqual(TOL);
      net.dispose();
      byName.dispose();
    });

    it(`${name}: training mode (batch statistics) gives timm's logits and timm's updated running statistics, within ${TOL}`, async () => {
      const io = fixtureIO(name);
      // No dropout or drop-connect here: the timm fixture has none.
      const net = models.create(variant, { ...overrides, dropout: 0, stochDepthRate: 0 });
      models.importTimm(net, bytesOf(name));
      const x = io.get('input.odd')!;
      const logits = await noGrad(() => net.forward(tensor(x.data, x.shape), { training: true, seed: 1 })).data();
      expect(relErr(logits, io.get('train.logits.odd')!.data)).toBeLessThanOrEqual(TOL);
      const after = await net.state.read();
      const keys = [...io.keys()].filter((k) => k.startsWith('train.') && k.includes('running_'));
      expect(keys.length).toBe(2 * net.layout.specs.filter((s) => s.name.endsWith('running_var')).length);
      for (const key of keys) expect(relErr(after.get(key.slice(6))!, io.get(key)!.data), key).toBeLessThanOrEqual(TOL);
      net.dispose();
    });

    it(`${name}: padding and BN ε are exercised: flipping either breaks the ${TOL} agreement`, async () => {
      const io = fixtureIO(name);
      const base = variantConfig(variant, overrides);
      for (const flip of [{ padding: base.padding === 'same' ? 'symmetric' : 'same' }, { bnEps: base.bnEps === 1e-3 ? 1e-5 : 1e-3 }] as const) {
        const net = models.modelFromConfig({ ...base, ...flip });
        models.importTimm(net, bytesOf(name));
        const worst = Math.max(...(await Promise.all(['odd', 'even'].map(async (kind) => relErr((await run(net, io.get(`input.${kind}`)!)).logits, io.get(`logits.${kind}`)!.data)))));
        expect(worst, JSON.stringify(flip)).toBeGreaterThan(TOL);
        net.dispose();
      }
    });

    it(`${name}: the project's own weights, exported, are the file timm loaded with strict=True and matched to ${TOL}`, async () => {
      const checked = M.exports?.[name];
      expect(checked, 'scripts/timm-fixtures-efficientnet.py check-exports has run').toBeDefined();
      const net = exportRecipe(name, checked!.seed);
      const bytes = await models.exportTimm(net);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(checked!.sha256);
      for (const kind of ['odd', 'even']) expect(checked!.relErr[kind], kind).toBeLessThanOrEqual(TOL);
      net.dispose();
    });
  }

  it('configFromKeys names the timm network of a file; an unknown table is refused', () => {
    const fake = (cfg: EfficientNetConfig) => new Map(new EfficientNetArchitecture(cfg).layout.specs.map((s) => {
      const sh = s.shape.length === 4 ? [s.shape[3]!, s.shape[2]!, s.shape[0]!, s.shape[1]!] : s.shape.length === 2 ? [s.shape[1]!, s.shape[0]!] : [...s.shape];
      return [s.name, { name: s.name, dtype: 'F32' as const, shape: sh, bytes: new Uint8Array(0) }];
    }));
    expect(timm.configFromKeys(fake(variantConfig('tf_efficientnet_b3', { numClasses: 7, inChannels: 1 })))).toEqual(variantConfig('efficientnet_b3', { numClasses: 7, inChannels: 1 }));
    expect(() => timm.configFromKeys(fake(variantConfig('efficientnet_nano')))).toThrow(/match none of efficientnet_b0/);
    // Through the registry: the keys say EfficientNet, the table needs its name.
    expect(() => models.importTimm(bytesOf('efficientnet_tiny'))).toThrow(/match none of .*name the variant and its overrides/);
  });

  it('timm builder: a timm name by name; any other table as the block strings timm\'s builder took for the fixtures', () => {
    const family = models.familyOfVariant('efficientnet_b0');
    expect(family.timm!.builder(variantConfig('tf_efficientnet_b2', { numClasses: 10, inChannels: 1 })).code).toBe("timm.create_model(\"tf_efficientnet_b2\", num_classes=10, in_chans=1)");
    const { variant, overrides } = M.fixtures.tf_efficientnet_tiny!.project;
    const { kwargs } = family.timm!.builder(variantConfig(variant, overrides));
    const args = (M as unknown as { timmArgs: Record<string, unknown> }).timmArgs;
    expect(kwargs).toMatchObject({ arch_def: args.arch_def, channel_multiplier: args.channel_multiplier, depth_multiplier: args.depth_multiplier, channel_divisor: args.channel_divisor, stem_size: args.stem_size, num_features: args.num_features, pad_type: 'same', bn_eps: 1e-3 });
  });
});
