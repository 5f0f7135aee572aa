/**
 * Exports of the project's own ViTs for timm to check (scripts/timm-fixtures-vit.py
 * check-exports): for each ViT fixture, the model of test/timm-fixtures-vit.ts's recipe, its
 * export, timm's builder arguments for it (timmViTArgs) and the project's logits on the
 * fixture's input. Writes to a scratch folder (argument; default /tmp/timm-export-vit).
 *
 *   node scripts/run-ts.mjs scripts/timm-export-fixtures-vit.ts /tmp/timm-export-vit
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { init } from '../src/index.js';
import { exportTimmViT, timmViTArgs } from '../src/vit/timm.js';
import { runViT, vitExportRecipe, vitFixtureIO, vitManifest } from '../test/timm-fixtures-vit.js';

const EXPORT_SEED = 7;
const out = process.argv[2] ?? '/tmp/timm-export-vit';
mkdirSync(out, { recursive: true });
const gpu = await init({ verbose: false });
for (const name of Object.keys(vitManifest().fixtures)) {
  const m = vitExportRecipe(name, EXPORT_SEED);
  const { logits } = await runViT(m, vitFixtureIO(name).get('input')!);
  writeFileSync(join(out, `${name}.export.safetensors`), await exportTimmViT(m));
  writeFileSync(join(out, `${name}.export.json`), JSON.stringify({ timmArgs: timmViTArgs(m.config), seed: EXPORT_SEED, logits: Array.from(logits) }));
  console.log(`${name}: exported ${m.parameterCount()} parameters`);
  m.dispose();
}
await gpu.dispose();
process.exit(0);
