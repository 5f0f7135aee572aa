// BN-ResNet timm interop against timm itself: small timm ResNets (bottleneck and basic
// blocks; made and run in float64 eval mode by scripts/timm-fixtures-resnet.py, timm commit
// in test/fixtures/timm-resnet/manifest.json) give the same logits and activations here
// with the running statistics in use; the network read from the keys is the same;
// import → export is byte-identical; the project's own weights exported are what timm
// loaded (strict=True) and checked.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assign, models, noGrad, tensor, ValueError, type Tensor } from '../src/index.js';
import { CheckpointError } from '../src/io/safetensors.js';
import { RESNET_TIMM_VARIANTS, resnetConfig } from '../src/resnet/config.js';
import { ResNetArchitecture } from '../src/resnet/model.js';
import { decodeTimm, exportResNetTimm, loadResNetTimm, recognizesResNet, resnetConfigFromKeys, timmResNetArgs } from '../src/resnet/timm.js';
import { fixtureIO } from './timm-fixtures.js';
import { buildResNet, resnetExportRecipe, resnetManifest, resnetStateDict } from './resnet-fixtures.js';
import type { Model } from '../src/models/model.js';
import type { ResNetConfig } from '../src/resnet/config.js';
import { useGpu } from './setup.js';
import { relErr } from './harness.js';

useGpu();
const M = resnetManifest();
const TOL = 1e-4;

/** Logits and the activations after the stem and after each stage's last block. */
async function run(model: Model<ResNetConfig>, x: { shape: number[]; data: Float32Array }): Promise<{ logits: Float32Array; acts: Map<string, Float32Array> }> {
  const traced = new Map<string, Tensor>();
  const y = noGrad(() => model.forward(tensor(x.data, x.shape), { trace: (name, t) => traced.set(name.split('.')[0]!, t) }));
  const acts = new Map<string, Float32Array>();
  for (const [name, t] of traced) acts.set(name, Float32Array.from(await t.data()));
  return { logits: Float32Array.from(await y.data()), acts };
}

/** The io file of a fixture (fixtureIO reads from test/fixtures/timm/: ours are in its sibling folder). */
function io(name: string) {
  return fixtureIO(`../timm-resnet/${name}`);
}

describe('BN-ResNet timm fixtures: timm weights give timm outputs', () => {
  it(`come from timm ${M.timm.commit.slice(0, 12)}: a bottleneck and a basic-block network`, () => {
    expect(M.timm.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(Object.keys(M.fixtures).sort()).toEqual(['resnet_basic_tiny', 'resnet_bottleneck_tiny']);
  });

  it("full-size timm ResNets: parameter counts equal timm's, exactly", () => {
    expect(Object.keys(M.fullSizeParams).sort()).toEqual([...RESNET_TIMM_VARIANTS].sort());
    for (const [name, count] of Object.entries(M.fullSizeParams)) expect(new ResNetArchitecture(resnetConfig(name)).layout.parameterCount, name).toBe(count);
  });

  for (const [name, fx] of Object.entries(M.fixtures)) {
    const { variant, overrides } = fx.project;

    it(`${name}: ${variant} + overrides is timm's network: parameter count and timm's ResNet arguments`, () => {
      const cfg = resnetConfig(variant, overrides);
      expect(new ResNetArchitecture(cfg).layout.parameterCount).toBe(fx.params);
      expect(timmResNetArgs(cfg)).toEqual(fx.timmArgs);
    });

    it(`${name}: logits (odd and even inputs) and stem/stage activations within ${TOL} of timm's float64; from the keys; import → export byte-identical`, async () => {
      const files = io(name);
      const bytes = resnetStateDict(name);
      const tensors = decodeTimm(bytes);
      expect(recognizesResNet([...tensors.keys()])).toBe(true);
      const model = buildResNet(resnetConfig(variant, overrides));
      const report = loadResNetTimm(model, tensors);
      expect(report.loaded).toBe(model.state.tensors.length);
      expect(report.ignored.length).toBe(model.layout.specs.filter((s) => s.name.endsWith('running_var')).length);
      expect(report.ignored.every((k) => k.endsWith('.num_batches_tracked'))).toBe(true);
      const first: Float32Array[] = [];
      for (const kind of ['odd', 'even']) {
        const { logits, acts } = await run(model, files.get(`input.${kind}`)!);
        expect(relErr(logits, files.get(`logits.${kind}`)!.data), `${kind} logits`).toBeLessThanOrEqual(TOL);
        first.push(logits);
        if (kind !== 'odd') continue;
        const keys = [...files.keys()].filter((k) => k.startsWith('act.'));
        expect(keys.sort()).toEqual(['act.layer1', 'act.layer2', 'act.layer3', 'act.layer4', 'act.stem']);
        for (const key of keys) {
          const got = acts.get(key.slice(4))!;
          expect(got.length, key).toBe(files.get(key)!.data.length);
          expect(relErr(got, files.get(key)!.data), key).toBeLessThanOrEqual(TOL);
        }
      }
      // The same network, read from the state dict's keys alone.
      const fromKeys = resnetConfigFromKeys(tensors);
      expect({ ...fromKeys, variant: '' }).toEqual({ ...resnetConfig(variant, overrides), variant: '' });
      expect(fromKeys.variant).toBe('resnet-custom');
      const again = buildResNet(fromKeys, 3);
      loadResNetTimm(again, tensors);
      expect(relErr((await run(again, files.get('input.odd')!)).logits, first[0]!)).toBe(0);
      // Export of an import: the very bytes timm wrote out (num_batches_tracked included).
      expect(Buffer.from(await exportResNetTimm(again)).equals(Buffer.from(bytes))).toBe(true);
      model.dispose();
      again.dispose();
    });

    it(`${name}: the running statistics are in use: with the initial mean 0 / variance 1 the ${TOL} agreement breaks`, async () => {
      const files = io(name);
      const model = buildResNet(resnetConfig(variant, overrides));
      loadResNetTimm(model, decodeTimm(resnetStateDict(name)));
      for (const [p, t] of model.state.entries()) {
        if (p.kind === 'running') assign(t, new Float32Array(t.size).fill(p.name.endsWith('running_var') ? 1 : 0));
      }
      expect(relErr((await run(model, files.get('input.odd')!)).logits, files.get('logits.odd')!.data)).toBeGreaterThan(100 * TOL);
      model.dispose();
    });

    it(`${name}: the project's own weights, exported, are the file timm loaded with strict=True and matched to ${TOL}`, async () => {
      const checked = M.exports?.[name];
      expect(checked, 'scripts/timm-fixtures-resnet.py check-exports has run').toBeDefined();
      const model = resnetExportRecipe(name, checked!.seed);
      const bytes = await exportResNetTimm(model);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(checked!.sha256);
      for (const kind of ['odd', 'even']) expect(checked!.relErr[kind], kind).toBeLessThanOrEqual(TOL);
      model.dispose();
    });
  }

  it('through the registry: importTimm finds the family from the keys or a timm name, exportTimm gives the bytes back, info and create know the names', async () => {
    const name = 'resnet_bottleneck_tiny';
    const bytes = resnetStateDict(name);
    const { model, ignored } = models.importTimm(bytes);
    expect(model.config.family).toBe('resnet');
    expect(ignored.every((k) => k.endsWith('num_batches_tracked'))).toBe(true);
    expect(Buffer.from(await models.exportTimm(model)).equals(Buffer.from(bytes))).toBe(true);
    const { numClasses: _, ...overrides } = M.fixtures[name]!.project.overrides;
    const named = models.importTimm(bytes, { variant: 'resnet50', overrides }).model;
    expect([named.config.variant, named.config.numClasses]).toEqual(['resnet50', M.numClasses]);
    expect(() => models.importTimm(bytes, { variant: 'resnet50' })).toThrow(/expected shape/);
    const fresh = models.importTimm(bytes, { freshHead: true, overrides: { numClasses: 3 }, seed: 4 });
    expect(fresh.ignored.filter((k) => k.startsWith('fc.')).sort()).toEqual(['fc.bias', 'fc.weight']);
    expect(fresh.model.config.numClasses).toBe(3);
    expect(models.info('resnet50').params).toBe(25_557_032);
    expect(models.info('resnet50', { resolution: 224 }).macs).toBe(4_089_184_256);
    expect(() => models.create('resnet5O')).toThrow(/did you mean 'resnet50'/);
    expect(models.families().find((f) => f.name === 'resnet')!.timm!.builder(named.config).code).toBe(
      'ResNet(block=Bottleneck, layers=[1, 2, 1, 1], channels=[4, 8, 8, 8], num_classes=5, in_chans=3)');
    for (const m of [model, named, fresh.model]) m.dispose();
  });

  it('the named timm models are recognised by their structure; timm-inexpressible configs are refused with every reason', async () => {
    const tiny = buildResNet(resnetConfig('resnet_tiny'));
    await expect(exportResNetTimm(tiny)).rejects.toThrow(ValueError);
    expect(() => timmResNetArgs(tiny.config)).toThrow(/3×3 s1 stem without max pool.*stem width 16.*3 stages/);
    expect(timmResNetArgs(resnetConfig('resnet101'))).toEqual({ block: 'Bottleneck', layers: [3, 4, 23, 3], channels: [64, 128, 256, 512] });
    tiny.dispose();
    expect(recognizesResNet(['stem.conv.weight', 'head.fc.weight'])).toBe(false);
    expect(() => resnetConfigFromKeys(new Map())).toThrow(CheckpointError);
  });
});
