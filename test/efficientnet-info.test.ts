// EfficientNet's plan (no GPU): timm's exact parameter counts for all 16 timm names, the
// compound scaling, and the config checks.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LimitError, ValueError } from '../src/runtime/errors.js';
import { models } from '../src/index.js';
import { EfficientNetArchitecture } from '../src/efficientnet/model.js';
import { B0_STAGES, makeDivisible, planBlocks, roundHalfEven, TIMM_VARIANTS, validateConfig, variantConfig, VARIANTS } from '../src/efficientnet/config.js';

/**
 * sum(p.numel() for p in model.parameters()) of timm's own models (timm aa4b5850, built
 * with pretrained=False and 1000 classes by scripts/timm-fixtures-efficientnet.py, which
 * records them in test/fixtures/timm-efficientnet/manifest.json).
 */
const TIMM_PARAMS: Record<string, number> = {
  efficientnet_b0: 5_288_548, efficientnet_b1: 7_794_184, efficientnet_b2: 9_109_994, efficientnet_b3: 12_233_232,
  efficientnet_b4: 19_341_616, efficientnet_b5: 30_389_784, efficientnet_b6: 43_040_704, efficientnet_b7: 66_347_960,
  tf_efficientnet_b0: 5_288_548, tf_efficientnet_b1: 7_794_184, tf_efficientnet_b2: 9_109_994, tf_efficientnet_b3: 12_233_232,
  tf_efficientnet_b4: 19_341_616, tf_efficientnet_b5: 30_389_784, tf_efficientnet_b6: 43_040_704, tf_efficientnet_b7: 66_347_960,
};

const arch = (v: string, o = {}) => new EfficientNetArchitecture(variantConfig(v, o));

describe('EfficientNet plan', () => {
  for (const [v, n] of Object.entries(TIMM_PARAMS)) {
    it(`${v} has timm's ${n.toLocaleString('en')} parameters (declared and planned)`, () => {
      const a = arch(v);
      expect(a.layout.parameterCount).toBe(n);
      expect(a.plan(a.config.testResolution).reduce((s, l) => s + l.params, 0)).toBe(n);
    });
  }

  it('is registered: models.info and the registry find every name; the stage table sums to the totals', () => {
    const i = models.info('tf_efficientnet_b4');
    expect(i).toMatchObject({ family: 'EfficientNet', params: TIMM_PARAMS.tf_efficientnet_b4, resolution: 380 });
    expect(i.stages.map((s) => s.stage)).toEqual(['stem', ...B0_STAGES.map((_, k) => `blocks.${k}`), 'head']);
    expect(i.stages.map((s) => s.blocks)).toEqual([0, 2, 4, 4, 6, 6, 8, 2, 0]);
    expect(i.stages.reduce((s, x) => s + x.params, 0)).toBe(i.params);
    expect(i.stages.reduce((s, x) => s + x.macs, 0)).toBe(i.macs);
    expect(i.summary).toMatch(/same padding, BN ε 0\.001/);
    for (const v of VARIANTS) expect(models.familyOfVariant(v).name).toBe('efficientnet');
    expect(() => models.info('efficientnet_b0', { numClases: 10 })).toThrow(/did you mean 'numClasses'/);
  });

  it('covers every timm name, and the small variants are ~100k parameters', () => {
    expect([...TIMM_VARIANTS].sort()).toEqual(Object.keys(TIMM_PARAMS).sort());
    for (const v of ['efficientnet_nano', 'efficientnet_micro']) {
      const n = arch(v).layout.parameterCount;
      expect(n).toBeGreaterThan(5_000);
      expect(n).toBeLessThan(120_000);
    }
  });

  it('B0 has the paper\'s 0.39 G multiply-adds at 224 px and 16 blocks; B7 55 blocks', () => {
    const a = arch('efficientnet_b0');
    expect(Math.round(a.plan(224).reduce((s, l) => s + l.macs, 0) / 1e7) / 100).toBe(0.39);
    expect(a.blocks.length).toBe(16);
    expect(arch('efficientnet_b7').blocks.length).toBe(55);
  });

  it('compound scaling: B4 (width 1.4, depth 1.8) from B0\'s table, by rounding and ceil', () => {
    const blocks = planBlocks(variantConfig('efficientnet_b4'));
    const perStage = B0_STAGES.map((_, i) => blocks.filter((b) => b.stage === i).length);
    expect(perStage).toEqual(B0_STAGES.map((s) => Math.ceil(s.repeats * 1.8))); // [2, 4, 4, 6, 6, 8, 2]
    expect(perStage).toEqual([2, 4, 4, 6, 6, 8, 2]);
    // 16·1.4 = 22.4 → 24, 40·1.4 = 56, 112·1.4 = 156.8 → 160, 320·1.4 = 448.
    expect(B0_STAGES.map((_, i) => blocks.find((b) => b.stage === i)!.outChannels)).toEqual([24, 32, 56, 112, 160, 272, 448]);
    // Stage 0 of B4 has two ds blocks: the second one has a residual (24 → 24, stride 1).
    expect(blocks.slice(0, 2).map((b) => [b.block, b.skip])).toEqual([['ds', false], ['ds', true]]);
    // SE of the block's input width: 0.25 · 24 = 6 for the first MBConv block (expanded to 144).
    expect(blocks[2]).toMatchObject({ inChannels: 24, midChannels: 144, seChannels: 6, stride: 2 });
    // Drop-connect grows linearly with the block index, 0.2 · i / n.
    expect(blocks[31]!.dropPath).toBeCloseTo((0.2 * 31) / 32, 12);
  });

  it('timm\'s rounding: to the nearest multiple, never 10% down; Python\'s round half to even', () => {
    expect([makeDivisible(22.4, 8), makeDivisible(35.2, 8), makeDivisible(10, 8), makeDivisible(3, 8), makeDivisible(20, 8)]).toEqual([24, 32, 16, 8, 24]);
    expect([roundHalfEven(2.5), roundHalfEven(3.5), roundHalfEven(1.4999), roundHalfEven(6)]).toEqual([2, 4, 1, 6]);
  });

  it('tf_ variants: TF SAME padding and BN ε 1e-3; the others symmetric and 1e-5', () => {
    expect(variantConfig('tf_efficientnet_b3')).toMatchObject({ padding: 'same', bnEps: 1e-3, bnMomentum: 0.1 });
    expect(variantConfig('efficientnet_b3')).toMatchObject({ padding: 'symmetric', bnEps: 1e-5, bnMomentum: 0.1 });
    // Both paddings give ceil(n/2) for the 3×3 s2 stem; they differ in which pixels they pad (checked by the timm fixtures).
    const outs = (v: string) => arch(v).plan(225).filter((l) => l.name === 'conv_stem')[0]!.out;
    expect(outs('tf_efficientnet_b0')).toEqual([113, 113, 32]);
    expect(outs('efficientnet_b0')).toEqual([113, 113, 32]);
  });

  it('every variant passes its own check; bad names and overrides are refused with typed errors', () => {
    for (const v of VARIANTS) expect(() => validateConfig(variantConfig(v))).not.toThrow();
    expect(() => variantConfig('efficientnet_b9')).toThrow(ValueError);
    expect(() => variantConfig('efficientnet_bo')).toThrow(/unknown EfficientNet variant 'efficientnet_bo' \(did you mean 'efficientnet_b0'\?\)/);
    expect(() => variantConfig(3 as never)).toThrow(/variant must be a variant name \(a string\), got 3/);
    const refuse = (o: Record<string, unknown>, cls: typeof ValueError, re: RegExp) => {
      expect(() => variantConfig('efficientnet_nano', o as never)).toThrow(cls);
      expect(() => variantConfig('efficientnet_nano', o as never)).toThrow(re);
    };
    refuse({ widthMultipler: 2 }, ValueError, /unknown option 'widthMultipler' \(did you mean 'widthMultiplier'\?\)/);
    refuse({ variant: 'x' }, ValueError, /unknown option 'variant'/);
    refuse({ widthMultiplier: 0 }, ValueError, /widthMultiplier must be a positive finite number, got 0/);
    refuse({ depthMultiplier: NaN }, ValueError, /depthMultiplier must be a positive finite number, got NaN/);
    refuse({ depthMultiplier: 1000 }, LimitError, /depthMultiplier = 1000 is over the limit of 16/);
    refuse({ widthMultiplier: 15, headChannels: 8000 }, LimitError, /headChannels 8000 scales to 120000 channels, over the limit of 8192/);
    refuse({ padding: 'SAME' }, ValueError, /padding must be 'same' or 'symmetric', got "SAME" \(did you mean 'same'\?\)/);
    refuse({ bnEps: -1 }, ValueError, /bnEps must be a positive finite number, got -1/);
    refuse({ bnMomentum: 2 }, ValueError, /bnMomentum must be in \[0, 1\], got 2/);
    refuse({ activation: 'gelu' }, ValueError, /activation must be 'silu' or 'relu', got "gelu"/);
    refuse({ dropout: 1 }, ValueError, /dropout must be in \[0, 1\), got 1/);
    refuse({ stochDepthRate: -0.1 }, ValueError, /stochDepthRate must be in \[0, 1\), got -0.1/);
    refuse({ numClasses: 0 }, ValueError, /numClasses must be a positive integer, got 0/);
    refuse({ inChannels: 1.5 }, ValueError, /inChannels must be a positive integer, got 1.5/);
    refuse({ channelDivisor: 0 }, ValueError, /channelDivisor must be a positive integer/);
    refuse({ stages: [] }, ValueError, /stages must be an array of 1 to 16 stages/);
    refuse({ stages: 'ab' }, ValueError, /stages must be an array/);
    const stage = B0_STAGES[1]!;
    refuse({ stages: [{ ...stage, kernel: 4 }] }, ValueError, /stages\[0\]\.kernel must be odd/);
    refuse({ stages: [{ ...stage, block: 'mb' }] }, ValueError, /stages\[0\]\.block must be 'ds' or 'ir', got "mb"/);
    refuse({ stages: [{ ...stage, repeats: 0 }] }, ValueError, /stages\[0\]\.repeats must be a positive integer, got 0/);
    refuse({ stages: [{ ...stage, repeats: 100 }] }, LimitError, /stages\[0\]\.repeats = 100 is over the limit of 64/);
    refuse({ stages: [{ ...stage, seRatio: 1 }] }, ValueError, /stages\[0\]\.seRatio must be in \[0, 1\), got 1/);
    refuse({ stages: [{ ...stage, expansion: 0 }] }, ValueError, /stages\[0\]\.expansion must be a positive finite number, got 0/);
    refuse({ stages: [{ ...B0_STAGES[0]!, expansion: 6 }] }, ValueError, /'ds'.*expansion must be 1, got 6/);
    refuse({ stages: [{ ...stage, pad: 1 }] }, ValueError, /unknown option 'pad'/);
    refuse({ stages: [{ ...stage, channels: undefined }] }, ValueError, /stages\[0\]\.channels must be a positive integer, got undefined/);
    refuse({ stages: [{ ...stage, repeats: 64 }, { ...stage, repeats: 64 }], depthMultiplier: 8 }, LimitError, /1024 blocks, over the limit of 512/);
    // A config made by hand (or read from a checkpoint) goes through the same check in the constructor.
    const good = variantConfig('efficientnet_nano');
    expect(() => new EfficientNetArchitecture({ ...good, extra: 1 } as never)).toThrow(/unknown option 'extra'/);
    const { bnEps: _drop, ...missing } = good;
    expect(() => new EfficientNetArchitecture(missing as never)).toThrow(/variant efficientnet_nano: the config has no 'bnEps'/);
    expect(() => new EfficientNetArchitecture({ ...good, family: 'nfnet' } as never)).toThrow(/family must be 'efficientnet'/);
  });

  it('the CLI prints EfficientNet tables and JSON without a GPU', () => {
    const run = (...args: string[]) => execFileSync(process.execPath, ['scripts/run-ts.mjs', 'src/cli.ts', 'info', ...args], { encoding: 'utf8' });
    const text = run('efficientnet_b0');
    expect(text).toMatch(/parameters\s+5,288,548/);
    expect(text).toMatch(/EfficientNet, silu, width ×1 depth ×1/);
    const j = JSON.parse(run('tf_efficientnet_b7', '--res', '224', '--json'));
    expect(j).toMatchObject({ variant: 'tf_efficientnet_b7', family: 'EfficientNet', resolution: 224, params: TIMM_PARAMS.tf_efficientnet_b7 });
  });
});
