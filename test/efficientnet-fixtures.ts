/**
 * The EfficientNet timm fixtures (test/fixtures/timm-efficientnet/, made by
 * scripts/timm-fixtures-efficientnet.py from timm itself), a fixture's network by name, and
 * the recipe of the networks whose exports timm checked (scripts/timm-export-fixtures-efficientnet.ts).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { models, noGrad, tensor, type Tensor } from '../src/index.js';
import type { Model } from '../src/models/model.js';
import { assign } from '../src/tensor/creation.js';
import { mulberry32 } from '../src/data/loader.js';
import type { ConfigOverrides, EfficientNetConfig } from '../src/efficientnet/config.js';
import { fixtureIO as nfnetFixtureIO } from './timm-fixtures.js';

/** Relative to the repository root, where vitest and scripts/run-ts.mjs run. */
export const EFFNET_FIXTURE_DIR = resolve('test', 'fixtures', 'timm-efficientnet');

export interface EffnetManifest {
  timm: { commit: string };
  numClasses: number;
  fixtures: Record<string, { project: { variant: string; overrides: ConfigOverrides }; params: number; blocks: string[][] }>;
  fullSizeParams: Record<string, number>;
  exports?: Record<string, { sha256: string; seed: number; relErr: Record<string, number> }>;
}

export const effnetManifest = (): EffnetManifest => JSON.parse(readFileSync(join(EFFNET_FIXTURE_DIR, 'manifest.json'), 'utf8'));

export const effnetStateDict = (name: string): Uint8Array => new Uint8Array(readFileSync(join(EFFNET_FIXTURE_DIR, `${name}.safetensors`)));

/** Inputs as NHWC float32, logits and activations (NHWC) as float32 views of timm's float64 (the NFNet fixtures' reader). */
export const effnetIO = (name: string) => nfnetFixtureIO(join('..', 'timm-efficientnet', name));

/** A fixture's network through the registry: the timm name + the fixture's overrides. */
export function fixtureModel(name: string, seed = 0): Model<EfficientNetConfig> {
  const { variant, overrides } = effnetManifest().fixtures[name]!.project;
  return models.create(variant, { ...overrides, seed }) as Model<EfficientNetConfig>;
}

/** Logits of NHWC images, eval mode; `trace` sees the stem's and every block's output. */
export const forwardOf = (model: Model, x: { shape: number[]; data: Float32Array }, trace: (name: string, t: Tensor) => void = () => {}): Tensor =>
  noGrad(() => model.forward(tensor(x.data, x.shape), { trace }));

/** A fixture's network with the project's own weights: initialised from `seed`, BN and bias vectors and running statistics drawn away from their init. */
export function exportRecipe(name: string, seed: number): Model<EfficientNetConfig> {
  const net = fixtureModel(name, seed);
  const rng = mulberry32(seed);
  for (const [p, t] of net.state.entries()) {
    const draw = p.kind === 'gain' || p.name.endsWith('running_var') ? () => 0.5 + rng() : p.kind === 'bias' || p.name.endsWith('running_mean') ? () => 0.2 * (rng() - 0.5) : null;
    if (draw) assign(t, Float32Array.from({ length: t.size }, draw));
  }
  return net;
}
