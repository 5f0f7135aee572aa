// ViT configs and plans against timm (no GPU): exact parameter counts of timm's own models
// (counted by timm/models/vision_transformer.py at commit aa4b5850, pretrained=False), the
// small variants' counts (timm's VisionTransformer built with the same sizes), every field
// checked with a typed error, and the resolution rule of a fixed position embedding.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LimitError, models, ShapeError, ValueError } from '../src/index.js';
import { ViTArchitecture } from '../src/vit/model.js';
import { CONFIG_FIELDS, VARIANTS, validateConfig, vitConfig } from '../src/vit/config.js';

/** sum(p.numel() for p in timm.create_model(name).parameters()). */
const TIMM_PARAMS = {
  vit_tiny_patch16_224: 5_717_416,
  vit_small_patch16_224: 22_050_664,
  vit_base_patch16_224: 86_567_656,
  // VisionTransformer(img_size, patch_size, embed_dim, depth, num_heads, in_chans, num_classes=10) with the table's sizes.
  vit_pico_patch7_28: 27_978,
  vit_nano_patch4_28: 88_666,
  vit_nano_patch4_32: 90_922,
};

const arch = (name: string, o?: Record<string, unknown>) => new ViTArchitecture(vitConfig(name, o));

describe('ViT variants', () => {
  for (const [name, count] of Object.entries(TIMM_PARAMS)) {
    it(`${name} has timm's parameter count, ${count.toLocaleString('en-US')}, declared and planned`, () => {
      const a = arch(name);
      expect(a.layout.parameterCount).toBe(count);
      expect(a.plan(a.config.imageSize).reduce((s, l) => s + l.params, 0)).toBe(count);
    });
  }

  it('lists every variant, and the small ones are small (for tests and demos)', () => {
    expect([...VARIANTS].sort()).toEqual(Object.keys(TIMM_PARAMS).sort());
    for (const v of ['vit_pico_patch7_28', 'vit_nano_patch4_28', 'vit_nano_patch4_32']) expect(arch(v).layout.parameterCount).toBeLessThan(100_000);
    expect(vitConfig('vit_pico_patch7_28')).toMatchObject({ inChannels: 1, imageSize: 28, patchSize: 7, numClasses: 10 });
    expect(vitConfig('vit_nano_patch4_32')).toMatchObject({ inChannels: 3, imageSize: 32, patchSize: 4 });
  });

  it('ViT-B/16 at 224 px: 17.56 G multiply-adds (linears + the two attention products), 197 tokens', () => {
    const plan = arch('vit_base_patch16_224').plan(224);
    const macs = plan.reduce((s, l) => s + l.macs, 0);
    // patch embed 196·768·768, per block 197·768·(3·768 + 768 + 2·3072) + 2·197²·768, head 768·1000.
    const perBlock = 197 * 768 * (3 * 768 + 768 + 2 * 3072) + 2 * 197 * 197 * 768;
    expect(macs).toBe(196 * 768 * 768 + 12 * perBlock + 768 * 1000);
    expect(Math.round(macs / 1e7) / 100).toBe(17.56);
    expect(plan.find((l) => l.name === 'pos_embed')!.out).toEqual([197, 768]);
    expect(plan.find((l) => l.name === 'blocks.11.attn.sdpa')!.detail).toBe('12 heads × 64');
  });

  it('declares timm\'s names, linear weights (in, out), and no weight decay for embeddings, norms and biases', () => {
    const specs = arch('vit_pico_patch7_28').layout.specs;
    const by = new Map(specs.map((s) => [s.name, s]));
    expect(by.get('patch_embed.proj.weight')).toMatchObject({ shape: [49, 32], kind: 'weight', unitAxis: 1 });
    expect(by.get('blocks.1.attn.qkv.weight')).toMatchObject({ shape: [32, 96], kind: 'weight', unitAxis: 1 });
    expect(by.get('blocks.0.mlp.fc1.weight')).toMatchObject({ shape: [32, 128], kind: 'weight', unitAxis: 1 });
    expect(by.get('head.weight')).toMatchObject({ shape: [32, 10], kind: 'weight', unitAxis: 1 });
    expect(arch('vit_pico_patch7_28').classifier).toEqual(['head.weight']); // the Trainer's AGC leaves it unclipped
    expect(by.get('cls_token')).toMatchObject({ shape: [1, 1, 32], kind: 'bias', unitAxis: null });
    expect(by.get('pos_embed')).toMatchObject({ shape: [1, 17, 32], kind: 'bias', unitAxis: null });
    expect(by.get('blocks.0.norm1.weight')).toMatchObject({ kind: 'gain' });
    expect(by.get('norm.bias')).toMatchObject({ kind: 'bias' });
    expect(specs.filter((s) => s.kind === 'weight').every((s) => /(proj|qkv|fc1|fc2|head)\.weight$/.test(s.name))).toBe(true);
  });
});

describe('ViT in the model registry', () => {
  it('info by timm name: parameters, multiply-adds, the stage table (embed, blocks, head) summing to the totals', () => {
    const i = models.info('vit_base_patch16_224');
    expect(i.params).toBe(TIMM_PARAMS.vit_base_patch16_224);
    expect(i.family).toBe('ViT');
    expect(i.stages.map((s) => [s.stage, s.blocks])).toEqual([['embed', 0], ['blocks', 12], ['head', 0]]);
    expect(i.stages.reduce((n, s) => n + s.params, 0)).toBe(i.params);
    expect(i.stages.reduce((n, s) => n + s.macs, 0)).toBe(i.macs);
    expect(i.summary).toMatch(/^width 768, 12 blocks, 12 heads of 64, 16×16 patches \(14×14 \+ class token = 197 tokens at 224 px\)/);
    expect(models.formatInfo(i)).toMatch(/blocks\s+12\s+768\s+197 tokens/);
    expect(models.info('vit_nano_patch4_28', { numClasses: 5 }).params).toBe(TIMM_PARAMS.vit_nano_patch4_28 - 5 * 49);
    expect(() => models.info('vit_base_patch16_224', { resolution: 384 })).toThrow(ShapeError);
  });

  it('names and overrides are checked through the registry too', () => {
    expect(() => models.info('vit_smal_patch16_224')).toThrow(/did you mean 'vit_small_patch16_224'/);
    expect(() => models.info('vit_pico_patch7_28', { numHeads: 3 })).toThrow(/embedDim 32 does not split into 3 heads/);
    expect(models.familyOfVariant('vit_tiny_patch16_224').name).toBe('vit');
    expect(models.modelNames()).toEqual(expect.arrayContaining(['vit_tiny_patch16_224', 'vit_pico_patch7_28', 'F0']));
  });

  it('the CLI prints ViT tables and JSON without a GPU, and refuses a resolution the position embedding was not learned for', () => {
    const run = (...args: string[]) => execFileSync(process.execPath, ['scripts/run-ts.mjs', 'src/cli.ts', 'info', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const text = run('vit_small_patch16_224');
    expect(text).toMatch(/parameters\s+22,050,664/);
    expect(text).toMatch(/ViT, width 384, 12 blocks, 6 heads of 64/);
    const j = JSON.parse(run('vit_nano_patch4_32', '--json'));
    expect(j).toMatchObject({ variant: 'vit_nano_patch4_32', family: 'ViT', resolution: 32, params: TIMM_PARAMS.vit_nano_patch4_32 });
    expect(() => run('vit_tiny_patch16_224', '--res', '384')).toThrow(/learned for 224×224 inputs/);
  });
});

describe('ViT configs are checked', () => {
  it('unknown names and fields get a did-you-mean', () => {
    expect(() => vitConfig('vit_tiny_patch16_244')).toThrow(ValueError);
    expect(() => vitConfig('vit_tiny_patch16_244')).toThrow(/unknown ViT variant 'vit_tiny_patch16_244' \(did you mean 'vit_tiny_patch16_224'\?\)/);
    expect(() => vitConfig('vit_pico_patch7_28', { embed_dim: 64 })).toThrow(/unknown option 'embed_dim' \(did you mean 'embedDim'\?\)/);
    expect(() => vitConfig('vit_pico_patch7_28', { family: 'nfnet' })).toThrow(/unknown option 'family'/);
  });

  it('every field: type, range, and how fields fit together', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ embedDim: 33 }, /embedDim 33 does not split into 2 heads/],
      [{ numHeads: 0 }, /numHeads must be a positive integer, got 0/],
      [{ depth: 1.5 }, /depth must be a positive integer, got 1.5/],
      [{ patchSize: 5 }, /imageSize 28 is not a multiple of patchSize 5/],
      [{ mlpRatio: 0 }, /mlpRatio must be a number in \(0, 16\]/],
      [{ mlpRatio: 0.01 }, /leaves the MLP no hidden units/],
      [{ layerNormEps: 0 }, /layerNormEps must be a positive finite number/],
      [{ stochDepthRate: 1 }, /stochDepthRate must be in \[0, 1\)/],
      [{ dropout: -0.1 }, /dropout must be in \[0, 1\)/],
      [{ numClasses: 0 }, /numClasses must be a positive integer/],
      [{ inChannels: '3' }, /inChannels must be a positive integer, got "3"/],
      [{ trainResolution: 32 }, /trainResolution 32 differs from imageSize 28: the position embedding is learned for 28×28 inputs only/],
    ];
    for (const [o, re] of bad) expect(() => vitConfig('vit_pico_patch7_28', o), JSON.stringify(o)).toThrow(re);
    expect(() => vitConfig('vit_pico_patch7_28', { embedDim: 20000 })).toThrow(LimitError);
    expect(() => vitConfig('vit_pico_patch7_28', { imageSize: 8192, patchSize: 1 })).toThrow(/tokens .* over the limit/);
    const { depth: _, ...missing } = vitConfig('vit_pico_patch7_28');
    expect(() => validateConfig(missing)).toThrow(/the config has no 'depth'/);
    expect(() => validateConfig({ ...vitConfig('vit_pico_patch7_28'), heads: 2 })).toThrow(/unknown option 'heads'/);
    expect(() => validateConfig(null)).toThrow(ValueError);
    expect(CONFIG_FIELDS).toHaveLength(Object.keys(vitConfig('vit_pico_patch7_28')).length);
  });

  it('an imageSize override moves the resolutions with it; the plan refuses other sizes with a ShapeError', () => {
    const c = vitConfig('vit_pico_patch7_28', { imageSize: 14 });
    expect(c).toMatchObject({ imageSize: 14, trainResolution: 14, testResolution: 14 });
    expect(new ViTArchitecture(c).layout.specs.find((s) => s.name === 'pos_embed')!.shape).toEqual([1, 5, 32]);
    const a = arch('vit_pico_patch7_28');
    expect(() => a.plan(30)).toThrow(ShapeError);
    expect(() => a.plan(30)).toThrow(/not a multiple of the patch size 7/);
    expect(() => a.plan(35)).toThrow(/learned for 28×28 inputs/);
  });
});
