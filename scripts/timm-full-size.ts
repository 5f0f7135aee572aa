// A full-size timm dm_nfnet_f0 state dict without timm: the project's own dm_nfnet_f0
// (71.5M parameters, its init) exported with exportTimm (286 MB, written once), then
// imported as `nfnet predict` / `train --init` import it, timed, with the peak RSS.
// The file is the input of the full-size commands in docs/timm.md. Not committed.
//   node scripts/run-ts.mjs scripts/timm-full-size.ts [/tmp/dm_nfnet_f0.safetensors]
import { existsSync, readFileSync } from 'node:fs';
import { init, nfnet } from '../src/index.js';
import { writeFileAtomic } from '../src/io/files.js';

const file = process.argv[2] ?? '/tmp/dm_nfnet_f0.safetensors';
const MiB = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const gpu = await init({ verbose: false });
if (!existsSync(file)) {
  const t = performance.now();
  const model = nfnet.create('dm_nfnet_f0');
  const bytes = await nfnet.exportTimm(model);
  writeFileAtomic(file, bytes);
  model.dispose();
  console.log(`wrote ${file}: ${bytes.length} bytes in ${((performance.now() - t) / 1000).toFixed(1)} s (create + exportTimm)`);
}
const raw = readFileSync(file);
const before = process.memoryUsage().rss;
const t = performance.now();
let calls = 0;
const { model, loaded } = nfnet.importTimm(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), { onProgress: () => calls++ });
const seconds = (performance.now() - t) / 1000;
console.log(
  `importTimm: ${model.config.variant}, ${model.parameterCount()} parameters, ${loaded} tensors in ${seconds.toFixed(1)} s ` +
    `(${calls} progress calls); RSS ${MiB(before)} with the file read, peak ${MiB(process.resourceUsage().maxRSS * 1024)}`,
);
model.dispose();
await gpu.dispose();
process.exit(0);
