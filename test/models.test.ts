// The model-family registry: one door (create, info, checkpoints, timm import/export) for
// every family, with typed errors for names and configs no family builds.
import { describe, expect, it } from 'vitest';
import { models, nfnet, ValueError } from '../src/index.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/nfnet/checkpoint.js';
import { useGpu } from './setup.js';
import { stateDictBytes } from './timm-fixtures.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors, toFloat32 } from '../src/io/safetensors.js';

describe('model families (no GPU)', () => {
  it('info by any family\'s name equals the family\'s own plan; the stage table sums to the totals', () => {
    const i = models.info('nano');
    expect(i.params).toBe(nfnet.info('nano').params);
    expect(i.macs).toBe(nfnet.info('nano').macs);
    expect(i.family).toBe('NFNet');
    expect(i.stages.reduce((s, x) => s + x.params, 0)).toBe(i.params);
    expect(models.info('nf_resnet50').family).toBe('NF-ResNet');
    expect(models.formatInfo(i)).toMatch(/^nano {2}\(NFNet, gelu/);
  });

  it('unknown names get a did-you-mean over every family; bad overrides are refused by the family', () => {
    expect(() => models.info('nanno')).toThrow(ValueError);
    expect(() => models.info('nanno')).toThrow(/unknown model 'nanno' \(did you mean 'nano'\?\)/);
    expect(() => models.create(42 as never)).toThrow(/must be a string, got 42/);
    expect(() => models.info('nano', { numClases: 3 })).toThrow(/unknown option 'numClases' \(did you mean 'numClasses'\?\)/);
    expect(models.modelNames()).toEqual(expect.arrayContaining(['nano', 'F0', 'dm_nfnet_f0', 'nf_resnet50']));
  });

  it('a config no family owns is refused with a typed error', () => {
    expect(() => models.familyOfConfig({ family: 'capsnet' })).toThrow(/no model family builds a config of family "capsnet"/);
    expect(() => models.familyOfConfig(null)).toThrow(ValueError);
  });
});

describe('model families (GPU)', () => {
  useGpu();

  it('models.create builds the family\'s model; checkpoints rebuild it through the registry', async () => {
    const m = models.create('pico', { numClasses: 3, seed: 2 });
    expect(m).toBeInstanceOf(nfnet.NFNet);
    expect(m.parameterCount()).toBe(models.info('pico', { numClasses: 3 }).params);
    const ck = decodeCheckpoint(await encodeCheckpoint(m));
    const again = nfnet.modelFromCheckpoint(ck);
    expect(again.config).toEqual(m.config);
    m.dispose();
    again.dispose();
  });

  it('each family\'s training defaults and classifier: BN networks train without AGC unless asked; AGC never clips a classifier', () => {
    const nf = models.create('pico');
    const bn = models.create('resnet_tiny');
    const plain = new nfnet.Trainer(nf, { totalSteps: 2 });
    const bnTrainer = new nfnet.Trainer(bn, { totalSteps: 2 });
    const asked = new nfnet.Trainer(bn, { totalSteps: 2, clipping: 0.05 });
    expect(plain.options.clipping).toBe(nfnet.TRAIN_DEFAULTS.clipping);
    expect(bnTrainer.options.clipping).toBe(0);
    expect(asked.options.clipping).toBe(0.05);
    expect(asked.optimizer.clippedNames).not.toContain('fc.weight');
    expect(asked.optimizer.clippedNames).toContain('layer1.0.conv1.weight');
    expect(plain.optimizer.clippedNames).not.toContain('head.fc.weight');
    for (const t of [plain, bnTrainer, asked]) t.dispose();
    nf.dispose();
    bn.dispose();
  });

  it('a checkpoint whose config names no family is refused at decode', async () => {
    const m = models.create('pico');
    const bytes = await encodeCheckpoint(m);
    m.dispose();
    const { tensors, metadata } = decodeSafetensors(bytes, 'ck');
    const host = Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, data: toFloat32(t) }]));
    const forged = encodeSafetensors(host, { ...metadata, config: metadata.config!.replace('"family":"nfnet"', '"family":"capsnt"') });
    expect(() => decodeCheckpoint(forged)).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(forged)).toThrow(/metadata 'config' is not valid: .*no model family builds a config of family "capsnt"/);
  });

  it('models.importTimm finds the family from the keys, and exportTimm gives the same bytes back', async () => {
    const bytes = stateDictBytes('nf_resnet_tiny');
    const { model } = models.importTimm(bytes);
    expect(model).toBeInstanceOf(nfnet.NFNet);
    expect(model.config.family).toBe('nfresnet');
    expect(Buffer.from(await models.exportTimm(model)).equals(Buffer.from(bytes))).toBe(true);
    model.dispose();
    expect(() => models.importTimm(new Map([['blocks.0.weight', { dtype: 'F32', shape: [1], bytes: new Uint8Array(4) }]]) as never)).toThrow(/not those of any timm network this engine builds/);
  });
});
