// ViT timm interop against timm itself: two small timm VisionTransformers (odd 15 px with
// 5×5 patches and 3 channels, even 16 px with 4×4 patches and 2 channels; made and run in
// float64 by scripts/timm-fixtures-vit.py, timm commit in test/fixtures/timm-vit/manifest.json)
// give the same logits and per-block tokens here; import → export is byte-identical.
import { createHash } from 'node:crypto';
import { models } from '../src/index.js';
import type { Model } from '../src/models/model.js';
import { maxRelErr, relErr } from './harness.js';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, CheckpointError, type DecodedTensor } from '../src/io/safetensors.js';
import { ViTArchitecture } from '../src/vit/model.js';
import { vitConfig, type ViTConfig } from '../src/vit/config.js';
import { exportTimmViT, isTimmViT, loadTimmViT, timmViTArgs, vitConfigFromKeys, vitConfigFromName } from '../src/vit/timm.js';
import { buildViT as build, runViT as run, vitExportRecipe, vitFixtureIO as fixtureIO, vitManifest, vitStateDictBytes as fileBytes } from './timm-fixtures-vit.js';
import { useGpu } from './setup.js';

useGpu();
const TOL = 1e-4;
const M = vitManifest();
const tensorsOf = (name: string) => decodeSafetensors(fileBytes(name), 'timm state dict').tensors;

describe('timm ViT fixtures: timm weights give timm outputs', () => {
  it(`come from timm ${M.timm.commit.slice(0, 12)}, an odd and an even network`, () => {
    expect(M.timm.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(Object.keys(M.fixtures).sort()).toEqual(['vit_even', 'vit_odd']);
    expect(M.fullSizeParams).toEqual({ vit_tiny_patch16_224: 5_717_416, vit_small_patch16_224: 22_050_664, vit_base_patch16_224: 86_567_656 });
  });

  for (const [name, fx] of Object.entries(M.fixtures)) {
    const { variant, overrides } = fx.project;

    it(`${name}: ${variant} + overrides is timm's network: parameter count and timm's arguments`, () => {
      const cfg = vitConfig(variant, overrides);
      expect(new ViTArchitecture(cfg).layout.parameterCount).toBe(fx.params);
      expect(timmViTArgs(cfg)).toEqual({ ...fx.timmArgs, mlp_ratio: 4 });
    });

    it(`${name}: logits and the tokens after the embedding and every block within ${TOL} of timm's float64; import → export byte-identical`, async () => {
      const io = fixtureIO(name);
      const tensors = tensorsOf(name);
      expect(isTimmViT([...tensors.keys()])).toBe(true);
      const m = build(vitConfig(variant, overrides));
      const report = loadTimmViT(m, tensors);
      expect(report).toEqual({ loaded: m.state.layout.specs.length, ignored: [] });
      const { logits, acts } = await run(m, io.get('input')!);
      expect(relErr(logits, io.get('logits')!.data), 'logits').toBeLessThanOrEqual(TOL);
      const keys = [...io.keys()].filter((k) => k.startsWith('act.'));
      expect(keys).toHaveLength(1 + (overrides.depth as number));
      for (const key of keys) {
        const got = acts.get(key.slice(4))!;
        expect(got.length, key).toBe(io.get(key)!.data.length);
        expect(relErr(got, io.get(key)!.data), key).toBeLessThanOrEqual(TOL);
      }
      // Export of an import: the very bytes timm wrote out.
      expect(Buffer.from(await exportTimmViT(m)).equals(Buffer.from(fileBytes(name)))).toBe(true);
      // The network read from the keys alone: every size but the heads, which no shape shows.
      expect(() => vitConfigFromKeys(tensors)).toThrow(CheckpointError);
      expect(() => vitConfigFromKeys(tensors)).toThrow(/width \d+ is none of timm's named ViTs and not a multiple of 64, so the number of heads cannot be told/);
      const heads = overrides.numHeads as number;
      expect(vitConfigFromKeys(tensors, heads)).toEqual({ ...vitConfig(variant, { ...overrides, stochDepthRate: 0 }), variant: 'vit-custom' });
      // Through the registry, by timm name: the same network, the same logits, the same bytes out.
      const { numClasses: _c, inChannels: _i, ...sizes } = overrides;
      const named = models.importTimm(fileBytes(name), { variant, overrides: sizes });
      expect(named.model.config).toEqual(m.config);
      expect(maxRelErr((await run(named.model as Model<ViTConfig>, io.get('input')!)).logits, logits)).toBe(0);
      expect(Buffer.from(await models.exportTimm(named.model)).equals(Buffer.from(fileBytes(name)))).toBe(true);
      named.model.dispose();
      m.dispose();
    });
  }

  it(`the project's own weights, exported, are the files timm loaded with strict=True and matched to ${TOL}`, async () => {
    for (const name of Object.keys(M.fixtures)) {
      const checked = M.exports?.[name];
      expect(checked, 'scripts/timm-fixtures-vit.py check-exports has run').toBeDefined();
      const m = vitExportRecipe(name, checked!.seed);
      const bytes = await exportTimmViT(m);
      expect(createHash('sha256').update(bytes).digest('hex'), name).toBe(checked!.sha256);
      expect(checked!.relErr, name).toBeLessThanOrEqual(TOL);
      m.dispose();
    }
  });

  it('the agreement is not loose: another head count or LayerNorm ε on the same weights breaks it', async () => {
    const name = 'vit_odd';
    const { variant, overrides } = M.fixtures[name]!.project;
    const io = fixtureIO(name);
    const worst = async (cfg: ViTConfig) => {
      const m = build(cfg);
      loadTimmViT(m, tensorsOf(name));
      const e = relErr((await run(m, io.get('input')!)).logits, io.get('logits')!.data);
      m.dispose();
      return e;
    };
    // One head instead of three (same weights, another attention); ε 1e-2 instead of 1e-6.
    expect(await worst(vitConfig(variant, { ...overrides, numHeads: 1 }))).toBeGreaterThan(TOL);
    expect(await worst(vitConfig(variant, { ...overrides, layerNormEps: 1e-2 }))).toBeGreaterThan(TOL);
  });
});

describe('timm ViT keys', () => {
  const base = () => tensorsOf('vit_odd');
  const withKey = (extra: Record<string, number[]>) => {
    const t = base();
    for (const [k, shape] of Object.entries(extra)) t.set(k, { name: k, dtype: 'F32', shape, bytes: new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)) } satisfies DecodedTensor);
    return t;
  };

  it('refuses timm ViT features this engine does not build, by name, before any GPU work', () => {
    expect(() => vitConfigFromKeys(withKey({ reg_token: [1, 4, 24], 'blocks.0.ls1.gamma': [24] }))).toThrow(/no register tokens, layer scale/);
    const noBias = base();
    noBias.delete('blocks.0.attn.qkv.bias');
    expect(() => vitConfigFromName('vit_tiny_patch16_224', noBias)).toThrow(/qkv without bias/);
  });

  it('reads the full-size names from their keys (shapes only) with their heads', () => {
    const fake = (dim: number, depth: number) => {
      const t = new Map<string, DecodedTensor>();
      const add = (k: string, shape: number[]) => t.set(k, { name: k, dtype: 'F32', shape, bytes: new Uint8Array(0) });
      add('cls_token', [1, 1, dim]);
      add('pos_embed', [1, 197, dim]);
      add('patch_embed.proj.weight', [dim, 3, 16, 16]);
      add('head.weight', [1000, dim]);
      for (let i = 0; i < depth; i++) add(`blocks.${i}.norm1.weight`, [dim]);
      add('blocks.0.attn.qkv.weight', [3 * dim, dim]);
      add('blocks.0.attn.qkv.bias', [3 * dim]);
      add('blocks.0.mlp.fc1.weight', [4 * dim, dim]);
      return t;
    };
    expect(vitConfigFromKeys(fake(192, 12))).toEqual(vitConfig('vit_tiny_patch16_224'));
    expect(vitConfigFromKeys(fake(384, 12))).toEqual(vitConfig('vit_small_patch16_224'));
    expect(vitConfigFromKeys(fake(768, 12))).toEqual(vitConfig('vit_base_patch16_224'));
    expect(vitConfigFromKeys(fake(768, 6))).toMatchObject({ variant: 'vit-custom', depth: 6, numHeads: 12 });
    expect(vitConfigFromKeys(fake(1024, 24))).toMatchObject({ variant: 'vit-custom', numHeads: 16 });
  });

  it('loads strictly: a missing tensor or a wrong shape is refused and nothing is half-loaded', async () => {
    const { variant, overrides } = M.fixtures.vit_odd!.project;
    const m = build(vitConfig(variant, overrides), 3);
    const before = await m.state.read();
    const missing = base();
    missing.delete('blocks.1.mlp.fc2.bias');
    expect(() => loadTimmViT(m, missing)).toThrow(/no timm tensor 'blocks.1.mlp.fc2.bias'/);
    const wrong = base();
    wrong.set('pos_embed', { ...wrong.get('pos_embed')!, shape: [1, 11, 24] });
    expect(() => loadTimmViT(m, wrong)).toThrow(/pos_embed/);
    const after = await m.state.read();
    for (const [k, v] of before) expect(Array.from(after.get(k)!), k).toEqual(Array.from(v));
    m.dispose();
  });
});
