/**
 * Exports of the project's own BN-ResNets for timm to check (scripts/timm-fixtures-resnet.py
 * check-exports): for each fixture, the model of test/resnet-fixtures.ts's recipe, its
 * exported file, timm's ResNet arguments for it and the project's logits on the fixture's
 * inputs. Writes to a scratch folder (argument; default /tmp/timm-export-resnet), never the repo.
 *
 *   node scripts/run-ts.mjs scripts/timm-export-fixtures-resnet.ts /tmp/timm-export-resnet
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { init, noGrad, tensor } from '../src/index.js';
import { exportResNetTimm, timmResNetArgs } from '../src/resnet/timm.js';
import { fixtureIO } from '../test/timm-fixtures.js';
import { resnetExportRecipe, resnetManifest } from '../test/resnet-fixtures.js';

const EXPORT_SEED = 7;
const out = process.argv[2] ?? '/tmp/timm-export-resnet';
mkdirSync(out, { recursive: true });
const gpu = await init({ verbose: false });
for (const name of Object.keys(resnetManifest().fixtures)) {
  const model = resnetExportRecipe(name, EXPORT_SEED);
  const io = fixtureIO(`../timm-resnet/${name}`);
  const logits: Record<string, number[]> = {};
  for (const kind of ['odd', 'even']) {
    const x = io.get(`input.${kind}`)!;
    const y = noGrad(() => model.forward(tensor(x.data, x.shape)));
    logits[kind] = Array.from(await y.data());
  }
  writeFileSync(join(out, `${name}.export.safetensors`), await exportResNetTimm(model));
  const meta = { timmArgs: timmResNetArgs(model.config), numClasses: model.config.numClasses, inChannels: model.config.inChannels, seed: EXPORT_SEED, logits };
  writeFileSync(join(out, `${name}.export.json`), JSON.stringify(meta));
  console.log(`${name}: exported ${model.state.parameterCount} parameters`);
  model.dispose();
}
await gpu.dispose();
process.exit(0);
