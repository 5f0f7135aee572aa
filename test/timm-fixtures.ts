/**
 * The timm fixtures (test/fixtures/timm/, made by scripts/timm-fixtures.py from timm itself)
 * and the recipe of the models whose exports timm checked (scripts/timm-export-fixtures.ts).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assign } from '../src/tensor/creation.js';
import { mulberry32 } from '../src/data/loader.js';
import { decodeSafetensors, toFloat32 } from '../src/io/safetensors.js';
import { create, type NFNet } from '../src/nfnet/model.js';
import type { ConfigOverrides } from '../src/nfnet/variants.js';

/** Relative to the repository root, where vitest and scripts/run-ts.mjs run (bundling moves this file). */
export const FIXTURE_DIR = resolve('test', 'fixtures', 'timm');

export interface FixtureManifest {
  timm: { repo: string; commit: string; torch: string };
  numClasses: number;
  inputs: Record<string, number[]>;
  fixtures: Record<string, { timmConfig: Record<string, unknown>; project: { variant: string; overrides: ConfigOverrides }; params: number }>;
  fullSizeParams: Record<string, number>;
  exports?: Record<string, { sha256: string; seed: number; relErr: Record<string, number> }>;
}

export const manifest = (): FixtureManifest => JSON.parse(readFileSync(join(FIXTURE_DIR, 'manifest.json'), 'utf8'));

export const stateDictBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURE_DIR, `${name}.safetensors`)));

/** Inputs as NHWC float32, logits and activations (NHWC) as float32 views of timm's float64. */
export function fixtureIO(name: string): Map<string, { shape: number[]; data: Float32Array }> {
  const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(join(FIXTURE_DIR, `${name}.io.safetensors`))));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [key, t] of tensors) {
    const data = toFloat32(t);
    if (!key.startsWith('input.')) {
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

/**
 * A fixture's project model with its own weights (not timm's): initialised from `seed`, then
 * every gain, bias and skip gain drawn away from its init value, so an export exercises them.
 */
export function exportRecipeModel(name: string, seed: number): NFNet {
  const { variant, overrides } = manifest().fixtures[name]!.project;
  const model = create(variant, { ...overrides, seed });
  const rng = mulberry32(seed);
  for (const [p, t] of model.state.entries()) {
    const draw = p.kind === 'gain' ? () => 0.5 + rng() : p.kind === 'bias' ? () => 0.2 * (rng() - 0.5) : p.kind === 'skipGain' ? () => 0.4 + 0.8 * rng() : null;
    if (draw) assign(t, Float32Array.from({ length: t.size }, draw));
  }
  return model;
}
