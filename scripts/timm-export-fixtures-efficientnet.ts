/**
 * Exports of the project's own EfficientNets for timm to check
 * (scripts/timm-fixtures-efficientnet.py check-exports): for each fixture, the network of
 * test/efficientnet-fixtures.ts's recipe, its exportTimm file and the project's logits on
 * the fixture's inputs. Writes to a scratch folder (argument; default /tmp/effnet-export).
 *
 *   node scripts/run-ts.mjs scripts/timm-export-fixtures-efficientnet.ts /tmp/effnet-export
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { init, models } from '../src/index.js';
import { effnetIO, effnetManifest, exportRecipe, forwardOf } from '../test/efficientnet-fixtures.js';

const EXPORT_SEED = 7;
const out = process.argv[2] ?? '/tmp/effnet-export';
mkdirSync(out, { recursive: true });
const gpu = await init({ verbose: false });
for (const name of Object.keys(effnetManifest().fixtures)) {
  const net = exportRecipe(name, EXPORT_SEED);
  const io = effnetIO(name);
  const logits: Record<string, number[]> = {};
  for (const kind of ['odd', 'even']) logits[kind] = Array.from(await forwardOf(net, io.get(`input.${kind}`)!).data());
  writeFileSync(join(out, `${name}.export.safetensors`), await models.exportTimm(net));
  writeFileSync(join(out, `${name}.export.json`), JSON.stringify({ seed: EXPORT_SEED, logits }));
  console.log(`${name}: exported ${net.parameterCount()} parameters`);
  net.dispose();
}
await gpu.dispose();
process.exit(0);
