// BN-ResNet configs and plans (no GPU): exact parameter counts against timm's own models
// (timm aa4b5850 built with pretrained=False, parameters counted; buffers are not
// parameters), multiply-adds against the standard ResNet-50 figure, typed config errors.
import { describe, expect, it } from 'vitest';
import { LimitError, ValueError } from '../src/runtime/errors.js';
import { RESNET_VARIANTS, resnetConfig, validateResNetConfig } from '../src/resnet/config.js';
import { ResNetArchitecture } from '../src/resnet/model.js';
import { info } from '../src/models/registry.js';

/** sum(p.numel() for p in timm.models.resnet.<name>().parameters()), timm aa4b5850. */
const TIMM_PARAMS = { resnet18: 11_689_512, resnet34: 21_797_672, resnet26: 15_995_176, resnet50: 25_557_032, resnet101: 44_549_160 };
/** sum of running_mean + running_var + num_batches_tracked elements (the buffers) of resnet50 in timm: 53,173. */
const RESNET50_BUFFERS = 53_173;

const arch = (name: string, o?: Record<string, unknown>) => new ResNetArchitecture(resnetConfig(name, o));
const total = (name: string, res: number, key: 'params' | 'macs') => arch(name).plan(res).reduce((s, l) => s + l[key], 0);

describe('BN-ResNet info', () => {
  for (const [name, count] of Object.entries(TIMM_PARAMS)) {
    it(`${name} has timm's ${count.toLocaleString('en')} parameters (layout and plan agree)`, () => {
      const a = arch(name);
      expect(a.layout.parameterCount).toBe(count);
      expect(total(name, 224, 'params')).toBe(count);
    });
  }

  it("resnet50's running statistics: one mean and one variance per BN channel (timm's buffers less the 53 num_batches_tracked)", () => {
    const running = arch('resnet50').layout.specs.filter((s) => s.kind === 'running').reduce((n, s) => n + s.shape[0]!, 0);
    const bns = arch('resnet50').layout.specs.filter((s) => s.name.endsWith('running_mean')).length;
    expect(bns).toBe(53);
    expect(running + bns).toBe(RESNET50_BUFFERS);
  });

  it('resnet50 has 4.09 G multiply-adds at 224 px (convs + fc, as timm hooks count them: 4,089,184,256), 7×7 at the end', () => {
    expect(total('resnet50', 224, 'macs')).toBe(4_089_184_256);
    const last = arch('resnet50').plan(224).filter((l) => l.kind === 'conv').at(-1)!;
    expect(last.out).toEqual([7, 7, 2048]);
  });

  it('timm defaults: 224 px training, 288 test, ImageNet classes, zero-init last BN', () => {
    const c = resnetConfig('resnet50');
    expect([c.trainResolution, c.testResolution, c.numClasses, c.inChannels, c.zeroInitLast]).toEqual([224, 288, 1000, 3, true]);
    const spec = arch('resnet50').layout.specs.find((s) => s.name === 'layer1.0.bn3.weight')!;
    expect(Array.from(spec.init(4))).toEqual([0, 0, 0, 0]);
    expect(Array.from(arch('resnet50').layout.specs.find((s) => s.name === 'layer1.0.bn2.weight')!.init(2))).toEqual([1, 1]);
  });

  it('the small variants: a few ten thousand parameters, shapes for 28×28×1 and 32×32×3', () => {
    const tiny = arch('resnet_tiny');
    // stem 3·3·1·16 + BN 32; layer1 2·(3·3·16·16) + 64; layer2 3·3·16·32 + 3·3·32·32 + 128 + 16·32 + 64; layer3 likewise ×2; fc 64·10 + 10
    expect(tiny.layout.parameterCount).toBe(144 + 32 + 4608 + 64 + 4608 + 9216 + 128 + 512 + 64 + 18432 + 36864 + 256 + 2048 + 128 + 650);
    expect(tiny.plan(28).at(-2)!.out).toEqual([7, 7, 64]);
    const micro = arch('resnet_micro');
    expect(micro.config.inChannels).toBe(3);
    expect(micro.plan(32).at(-2)!.out).toEqual([8, 8, 128]);
    expect(micro.layout.parameterCount).toBeGreaterThan(20_000);
    expect(micro.layout.parameterCount).toBeLessThan(100_000);
  });

  it("info through the registry: the family's summary and a stage table (stem, layer1…4, head) that sums to the totals", () => {
    const i = info('resnet50', { resolution: 224 });
    expect(i.family).toBe('BN-ResNet');
    expect(i.summary.split('\n')[0]).toBe('bottleneck blocks, depths 3-4-6-3, widths 256/512/1024/2048, ReLU');
    expect(i.summary).toMatch(/7×7 s2 → 64 \+ 3×3 s2 max pool/);
    expect(i.summary).toMatch(/ε 1e-5, momentum 0\.1/);
    expect(i.stages.map((s) => [s.stage, s.blocks, s.channels, s.resolution])).toEqual([
      ['stem', 0, 64, '56×56'], ['layer1', 3, 256, '56×56'], ['layer2', 4, 512, '28×28'], ['layer3', 6, 1024, '14×14'], ['layer4', 3, 2048, '7×7'], ['head', 0, 1000, '1×1'],
    ]);
    expect(i.stages.reduce((n, s) => n + s.params, 0)).toBe(i.params);
    expect(i.stages.reduce((n, s) => n + s.macs, 0)).toBe(i.macs);
  });

  it('refuses unknown names, unknown fields and bad values with typed errors before planning', () => {
    expect(RESNET_VARIANTS).toEqual(['resnet18', 'resnet34', 'resnet26', 'resnet50', 'resnet101', 'resnet_tiny', 'resnet_micro']);
    expect(() => resnetConfig('resnet51')).toThrow(ValueError);
    expect(() => resnetConfig('resnet51')).toThrow(/unknown ResNet variant 'resnet51' \(did you mean 'resnet50'\?\)/);
    expect(() => resnetConfig('resnet50', { dephts: [1] })).toThrow(/unknown option 'dephts' \(did you mean 'depths'\?\)/);
    expect(() => resnetConfig('resnet50', { family: 'vit' })).toThrow(/unknown option 'family'/);
    expect(() => resnetConfig('resnet50', { block: 'botleneck' })).toThrow(/block must be 'basic' or 'bottleneck'.*did you mean 'bottleneck'/);
    expect(() => resnetConfig('resnet50', { depths: [3, 4, 6] })).toThrow(/one entry per stage \(3\), got 4 and 4/);
    expect(() => resnetConfig('resnet50', { depths: [3, 0, 6, 3] })).toThrow(/depths\[1\] must be a positive integer, got 0/);
    expect(() => resnetConfig('resnet50', { channels: [64, 128, 256, 5000] })).toThrow(LimitError);
    expect(() => resnetConfig('resnet50', { stemKernel: 4 })).toThrow(/stemKernel must be odd/);
    expect(() => resnetConfig('resnet50', { bnEps: 0 })).toThrow(/bnEps must be in \(0, 1\)/);
    expect(() => resnetConfig('resnet50', { bnMomentum: 1.5 })).toThrow(/bnMomentum must be in \[0, 1\]/);
    expect(() => resnetConfig('resnet50', { dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    expect(() => resnetConfig('resnet50', { zeroInitLast: 'yes' })).toThrow(/zeroInitLast must be true or false/);
    expect(() => resnetConfig('resnet50', { numClasses: 0 })).toThrow(/numClasses must be a positive integer, got 0/);
    expect(() => resnetConfig(50)).toThrow(/variant must be a variant name/);
    const { stemPool: _dropped, ...partial } = resnetConfig('resnet_tiny');
    expect(() => validateResNetConfig(partial)).toThrow(/the config has no 'stemPool'/);
    expect(() => validateResNetConfig({ ...resnetConfig('resnet_tiny'), extra: 1 })).toThrow(/unknown option 'extra'/);
    expect(() => new ResNetArchitecture({ ...resnetConfig('resnet_tiny'), strides: [1, 2] })).toThrow(ValueError);
  });
});
