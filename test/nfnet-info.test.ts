// `nfnet info` against the published figures (NFNet paper, Table: parameter counts; F0 FLOPs).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nfnet, ValueError } from '../src/index.js';

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

  it('the CLI prints the table and JSON without a GPU', () => {
    const run = (...args: string[]) => execFileSync(process.execPath, ['scripts/run-ts.mjs', 'src/cli.ts', 'info', ...args], { encoding: 'utf8' });
    expect(run('F0')).toMatch(/parameters\s+71,489,284/);
    const j = JSON.parse(run('F3', '--res', '320', '--json'));
    expect(j).toMatchObject({ variant: 'F3', resolution: 320 });
    expect(j.params).toBeGreaterThan(254.85e6);
    expect(j.macs).toBeGreaterThan(0);
  });
});
