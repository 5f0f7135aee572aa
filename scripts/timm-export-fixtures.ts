/**
 * Exports of the project's own models for timm to check (scripts/timm-fixtures.py
 * check-exports): for each timm fixture, the model of test/timm-fixtures.ts's recipe, its
 * exportTimm file, timm's NfCfg for it (timmNfCfg) and the project's logits on the fixture's
 * inputs. Writes to a scratch folder (argument; default /tmp/timm-export), never the repo.
 *
 *   node scripts/run-ts.mjs scripts/timm-export-fixtures.ts /tmp/timm-export
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { init, noGrad, tensor } from '../src/index.js';
import { exportTimm, timmNfCfg } from '../src/nfnet/timm.js';
import { exportRecipeModel, fixtureIO, manifest } from '../test/timm-fixtures.js';

const EXPORT_SEED = 7;
const out = process.argv[2] ?? '/tmp/timm-export';
mkdirSync(out, { recursive: true });
const gpu = await init({ verbose: false });
for (const name of Object.keys(manifest().fixtures)) {
  const model = exportRecipeModel(name, EXPORT_SEED);
  const io = fixtureIO(name);
  const logits: Record<string, number[]> = {};
  for (const kind of ['odd', 'even']) {
    const x = io.get(`input.${kind}`)!;
    const y = noGrad(() => model.forward(tensor(x.data, x.shape)));
    logits[kind] = Array.from(await y.data());
  }
  writeFileSync(join(out, `${name}.export.safetensors`), await exportTimm(model));
  const meta = { nfCfg: timmNfCfg(model.config), numClasses: model.config.numClasses, inChannels: model.config.inChannels, seed: EXPORT_SEED, logits };
  writeFileSync(join(out, `${name}.export.json`), JSON.stringify(meta));
  console.log(`${name}: exported ${model.parameterCount()} parameters`);
  model.dispose();
}
await gpu.dispose();
process.exit(0);
