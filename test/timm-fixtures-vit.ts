/**
 * The ViT timm fixtures (test/fixtures/timm-vit/, made by scripts/timm-fixtures-vit.py from
 * timm itself) and the recipe of the models whose exports timm checked
 * (scripts/timm-export-fixtures-vit.ts).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { noGrad } from '../src/autodiff/tape.js';
import { Model } from '../src/models/model.js';
import { assign } from '../src/tensor/creation.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { tensor } from '../src/tensor/creation.js';
import { mulberry32 } from '../src/data/loader.js';
import { decodeSafetensors, toFloat32 } from '../src/io/safetensors.js';
import { ViTArchitecture } from '../src/vit/model.js';
import { vitConfig, type ViTConfig } from '../src/vit/config.js';

/** Relative to the repository root, where vitest and scripts/run-ts.mjs run. */
export const VIT_FIXTURE_DIR = resolve('test', 'fixtures', 'timm-vit');

export interface VitManifest {
  timm: { commit: string };
  numClasses: number;
  fixtures: Record<string, { timmArgs: Record<string, number>; input: number[]; project: { variant: string; overrides: Record<string, unknown> }; params: number }>;
  fullSizeParams: Record<string, number>;
  exports?: Record<string, { sha256: string; seed: number; relErr: number }>;
}

export const vitManifest = (): VitManifest => JSON.parse(readFileSync(join(VIT_FIXTURE_DIR, 'manifest.json'), 'utf8'));
export const vitStateDictBytes = (name: string) => new Uint8Array(readFileSync(join(VIT_FIXTURE_DIR, `${name}.safetensors`)));

/** The fixture's input as NHWC, logits and tokens as float32 views of timm's float64. */
export function vitFixtureIO(name: string): Map<string, { shape: number[]; data: Float32Array }> {
  const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(join(VIT_FIXTURE_DIR, `${name}.io.safetensors`))));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [key, t] of tensors) {
    const data = toFloat32(t);
    if (key !== 'input') {
      out.set(key, { shape: t.shape, data });
      continue;
    }
    const [n, c, h, w] = t.shape as [number, number, number, number];
    const nhwc = new Float32Array(data.length);
    for (let b = 0; b < n; b++) for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      nhwc[((b * h + y) * w + x) * c + k] = data[((b * c + k) * h + y) * w + x]!;
    }
    out.set(key, { shape: [n, h, w, c], data: nhwc });
  }
  return out;
}

/** A ViT on the GPU. */
export const buildViT = (config: ViTConfig, seed = 0): Model<ViTConfig> => new Model(new ViTArchitecture(config, seed));
export type BuiltViT = Model<ViTConfig>;

/** Logits and the traced tokens (after the embedding, after each block) in eval mode. */
export async function runViT(m: BuiltViT, x: { shape: number[]; data: Float32Array }): Promise<{ logits: Float32Array; acts: Map<string, Float32Array> }> {
  const traced = new Map<string, Tensor>();
  const y = noGrad(() => m.forward(tensor(x.data, x.shape), { trace: (name, t) => traced.set(name, t) }));
  const acts = new Map<string, Float32Array>();
  for (const [name, t] of traced) acts.set(name, Float32Array.from(await t.data()));
  return { logits: Float32Array.from(await y.data()), acts };
}

/**
 * A fixture's project model with its own weights (not timm's): initialised from `seed`, then
 * every gain and bias (norms, biases, class token, position embedding) drawn away from its
 * init value, so an export exercises them.
 */
export function vitExportRecipe(name: string, seed: number): BuiltViT {
  const { variant, overrides } = vitManifest().fixtures[name]!.project;
  const m = buildViT(vitConfig(variant, overrides), seed);
  const rng = mulberry32(seed);
  for (const [p, t] of m.state.entries()) {
    const draw = p.kind === 'gain' ? () => 0.5 + rng() : p.kind === 'bias' ? () => 0.4 * (rng() - 0.5) : null;
    if (draw) assign(t, Float32Array.from({ length: t.size }, draw));
  }
  return m;
}
