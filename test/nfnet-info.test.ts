// `nfnet info` against the published figures (NFNet paper, Table: parameter counts; F0 FLOPs).
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LimitError, nfnet, ValueError } from '../src/index.js';

const PUBLISHED_M = { F0: 71.5, F1: 132.6, F2: 193.8, F3: 254.9, F4: 316.1, F5: 377.2, F6: 438.4, F7: 499.5 };

describe('nfnet info', () => {
  for (const [v, m] of Object.entries(PUBLISHED_M)) {
    it(`${v} has ${m}M parameters at the paper's rounding`, () => {
      expect(Math.round(nfnet.info(v).params / 1e5) / 10).toBe(m);
    });
  }

  it('F0 has 12.38 G multiply-adds at 256 px (and the test resolution is the default)', () => {
    const i = nfnet.info('F0');
    expect(i.resolution).toBe(256);
    expect(Math.round(i.macs / 1e7) / 100).toBe(12.38);
    expect(nfnet.info('F0', { resolution: 192 }).macs).toBeLessThan(i.macs);
  });

  it('NF-ResNet-50 has the ResNet-50 parameter count (25.56M)', () => {
    expect(Math.round(nfnet.info('nf-resnet-50').params / 1e4) / 100).toBe(25.56);
  });

  it('the β rule: β = 1/expected std, reset after each stage\'s first block, carried into the next stage', () => {
    const blocks = nfnet.planBlocks(nfnet.variantConfig('F0'));
    const a = 0.2;
    const betas = blocks.map((b) => b.beta);
    // stage 0 (1 block), stage 1 (2 blocks), stage 2 first block.
    expect(betas[0]).toBeCloseTo(1, 12);
    expect(betas[1]).toBeCloseTo(1 / Math.sqrt(1 + a * a), 12);
    expect(betas[2]).toBeCloseTo(1 / Math.sqrt(1 + a * a), 12);
    expect(betas[3]).toBeCloseTo(1 / Math.sqrt(1 + 2 * a * a), 12);
    expect(blocks.map((b) => b.transition)).toEqual([false, true, false, true, false, false, false, false, false, true, false, false]);
    // Stochastic depth grows linearly with the block index.
    expect(blocks[11]!.stochDepth).toBeCloseTo((0.25 * 11) / 12, 12);
  });

  it('the per-stage table sums to the total', () => {
    const i = nfnet.info('F1');
    expect(i.stages.reduce((s, x) => s + x.params, 0)).toBe(i.params);
    expect(i.stages.reduce((s, x) => s + x.macs, 0)).toBe(i.macs);
  });

  it('rejects unknown variants and bad overrides with a ValueError', () => {
    expect(() => nfnet.info('F9')).toThrow(ValueError);
    expect(() => nfnet.info('F9')).toThrow(/unknown variant 'F9'.*F0/);
    expect(() => nfnet.info('nano', { numClasses: 0 })).toThrow(/numClasses must be a positive integer, got 0/);
  });

  it('nfnet.create and nfnet.info check every override before planning (no GPU needed to refuse)', () => {
    const refuse = (o: Record<string, unknown>, cls: typeof ValueError, re: RegExp) => {
      expect(() => nfnet.create('pico', o as never)).toThrow(cls);
      expect(() => nfnet.create('pico', o as never)).toThrow(re);
    };
    refuse({ dephts: [1, 1] }, ValueError, /nfnet\.create: unknown option 'dephts' \(did you mean 'depths'\?\)/);
    refuse({ sead: 1 }, ValueError, /did you mean 'seed'/);
    refuse({ variant: 'F0' }, ValueError, /unknown option 'variant'/);
    refuse({ depths: [-1, 1] }, ValueError, /variant pico: depths\[0\] must be a positive integer, got -1/);
    refuse({ depths: [Infinity, 1] }, ValueError, /depths\[0\] must be a positive integer, got Infinity/);
    refuse({ depths: [600, 600] }, LimitError, /1200 blocks, over the limit of 1024/);
    refuse({ depths: 'ab' }, ValueError, /depths must be an array of 1 to 16 integers/);
    refuse({ groupWidth: NaN }, ValueError, /groupWidth must be a positive integer, got NaN/);
    refuse({ family: 'foo' }, ValueError, /family must be 'nfnet' or 'nfresnet', got "foo"/);
    refuse({ activation: 'foo' }, ValueError, /activation must be .*'gelu'.*got "foo"/);
    refuse({ activation: 'gelu_erff' }, ValueError, /did you mean 'gelu_erf'/);
    refuse({ strides: [0, 2] }, ValueError, /strides\[0\] must be a positive integer, got 0/);
    refuse({ strides: [1, 3] }, ValueError, /strides must be 1 or 2 with transitionShortcut 'avgpool'/);
    refuse({ stem: [{ channels: 8, stride: 2 }] }, ValueError, /stem\[0\]\.kernel must be a positive integer, got undefined/);
    refuse({ stem: [{ channels: 8, stride: 2, kernel: 3, pad: 1 }] }, ValueError, /unknown option 'pad'/);
    refuse({ stem: null }, ValueError, /stem must be an array/);
    refuse({ widths: [16, 1e9] }, LimitError, /widths\[1\] = 1000000000 is over the limit of 16384/);
    refuse({ widths: [16.5, 32] }, ValueError, /widths\[0\] must be a positive integer/);
    refuse({ bottleneckRatio: 0 }, ValueError, /bottleneckRatio must be a number in \(0, 4\], got 0/);
    refuse({ finalConvMult: -1 }, ValueError, /finalConvMult must be a non-negative integer, got -1/);
    refuse({ trainResolution: 0 }, ValueError, /trainResolution must be a positive integer/);
    refuse({ testResolution: '28' }, ValueError, /testResolution must be a positive integer, got "28"/);
    refuse({ numClasses: 2.5 }, ValueError, /numClasses must be a positive integer, got 2.5/);
    refuse({ inChannels: 0 }, ValueError, /inChannels must be a positive integer, got 0/);
    refuse({ dropout: NaN }, ValueError, /dropout must be in \[0, 1\), got NaN/);
    refuse({ stemPool: 'no' }, ValueError, /stemPool must be true or false/);
    refuse({ seed: -1 }, ValueError, /seed must be a finite integer in \[0, 4294967295\], got -1/);
    expect(() => nfnet.create('pico', null as never)).toThrow(/nfnet\.create: options must be an object/);
    expect(() => nfnet.create(5 as never)).toThrow(/variant must be a variant name \(a string\), got 5/);
    expect(() => nfnet.create('nanno')).toThrow(/unknown variant 'nanno' \(did you mean 'nano'\?\)/);
    expect(() => nfnet.info('F0', { resolutoin: 224 } as never)).toThrow(/nfnet\.info: unknown option 'resolutoin' \(did you mean 'resolution'\?\)/);
    // A config made by hand (or read from a file) goes through the same check in the constructor.
    const good = nfnet.variantConfig('pico');
    expect(() => new nfnet.NFNetArchitecture({ ...good, depths: [Infinity, 1] })).toThrow(/depths\[0\] must be a positive integer/);
    expect(() => new nfnet.NFNetArchitecture({ ...good, extra: 1 } as never)).toThrow(/unknown option 'extra'/);
    const { activation: _drop, ...missing } = good;
    expect(() => new nfnet.NFNetArchitecture(missing as never)).toThrow(/variant pico: the config has no 'activation'/);
    // Every published variant passes its own check.
    for (const v of [...nfnet.VARIANTS, ...nfnet.TIMM_VARIANTS]) expect(() => nfnet.validateConfig(nfnet.variantConfig(v))).not.toThrow();
  });

  it('the CLI prints the table and JSON without a GPU', () => {
    const run = (...args: string[]) => execFileSync(process.execPath, ['scripts/run-ts.mjs', 'src/cli.ts', 'info', ...args], { encoding: 'utf8' });
    expect(run('F0')).toMatch(/parameters\s+71,489,284/);
    const j = JSON.parse(run('F3', '--res', '320', '--json'));
    expect(j).toMatchObject({ variant: 'F3', resolution: 320 });
    expect(j.params).toBeGreaterThan(254.85e6);
    expect(j.macs).toBeGreaterThan(0);
  });

  it('the CLI refuses a malformed number by its flag, not reading \'3.5\' as 3', () => {
    const fail = (...args: string[]) => spawnSync(process.execPath, ['scripts/run-ts.mjs', 'src/cli.ts', ...args], { encoding: 'utf8' });
    const half = fail('info', 'nano', '--res', '3.5');
    expect(half.status).not.toBe(0);
    expect(half.stderr).toMatch(/--res <pixels>' argument '3\.5' is invalid\. expected a whole number, got '3\.5'/);
    expect(fail('train', '--lr', '0.1x').stderr).toMatch(/--lr <x>' argument '0\.1x' is invalid\. expected a number, got '0\.1x'/);
    expect(fail('train', '--epochs', '').stderr).toMatch(/expected a whole number, got ''/);
  });
});
