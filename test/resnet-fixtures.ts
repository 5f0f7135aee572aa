/**
 * The BN-ResNet timm fixtures (test/fixtures/timm-resnet/, made by
 * scripts/timm-fixtures-resnet.py from timm itself) and the recipe of the models whose
 * exports timm checked (scripts/timm-export-fixtures-resnet.ts).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assign } from '../src/tensor/creation.js';
import { mulberry32 } from '../src/data/loader.js';
import type { Model } from '../src/models/model.js';
import { resnetConfig, type ResNetConfig } from '../src/resnet/config.js';
import { resnetFamily } from '../src/resnet/family.js';

export const RESNET_FIXTURE_DIR = resolve('test', 'fixtures', 'timm-resnet');

export interface ResNetFixtureManifest {
  timm: { repo: string; commit: string; torch: string };
  numClasses: number;
  inputs: Record<string, number[]>;
  fixtures: Record<string, { timmArgs: { block: string; layers: number[]; channels: number[] }; project: { variant: string; overrides: Record<string, unknown> }; params: number }>;
  fullSizeParams: Record<string, number>;
  exports?: Record<string, { sha256: string; seed: number; relErr: Record<string, number> }>;
}

export const resnetManifest = (): ResNetFixtureManifest => JSON.parse(readFileSync(join(RESNET_FIXTURE_DIR, 'manifest.json'), 'utf8'));
export const resnetStateDict = (name: string): Uint8Array => new Uint8Array(readFileSync(join(RESNET_FIXTURE_DIR, `${name}.safetensors`)));

/** A model of the family (through the registry's family, as `models.create` builds it). */
export function buildResNet(config: ResNetConfig, seed = 0): Model<ResNetConfig> {
  return resnetFamily.build(config, seed);
}

/**
 * A fixture's project model with its own weights (not timm's): initialised from `seed`, then
 * every BN weight, bias and running statistic drawn away from its init value, so an export
 * exercises them.
 */
export function resnetExportRecipe(name: string, seed: number): Model<ResNetConfig> {
  const { variant, overrides } = resnetManifest().fixtures[name]!.project;
  const model = buildResNet(resnetConfig(variant, overrides), seed);
  const rng = mulberry32(seed);
  for (const [p, t] of model.state.entries()) {
    const draw = p.kind === 'gain' ? () => 0.5 + rng() : p.kind === 'bias' ? () => 0.2 * (rng() - 0.5)
      : p.name.endsWith('running_mean') ? () => 0.4 * (rng() - 0.5) : p.name.endsWith('running_var') ? () => 0.5 + 1.5 * rng() : null;
    if (draw) assign(t, Float32Array.from({ length: t.size }, draw));
  }
  return model;
}
