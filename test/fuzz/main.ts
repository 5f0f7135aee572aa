/**
 * `npm run fuzz -- [--calls 2000] [--seed 1] [--area ops[,nfnet,…]] [--list 20] [--json file]`:
 * thousands of bad calls over the public API, classified (see runner.ts). Prints the class
 * counts, per area, and examples of every outcome that is not a typed error.
 */
import { writeFileSync } from 'node:fs';
import { init, type Gpu } from '../../src/index.js';
import { GENERATORS } from './generators.js';
import { NFNET_GENERATORS, prepareNfnetFuzz } from './nfnet-generators.js';
import { reinit, runFuzz, type Outcome } from './runner.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const calls = Number(arg('calls', '2000'));
const seed = Number(arg('seed', '1'));
const area = arg('area', '');
const list = Number(arg('list', '15'));
const areas = area ? area.split(',') : [];
const generators = [...GENERATORS, ...NFNET_GENERATORS].filter((g) => !areas.length || areas.includes(g.area));
if (!generators.length) throw new Error(`fuzz: no generator in area '${area}'`);
let gpu: Gpu = await init({ verbose: false });
await prepareNfnetFuzz();
const t0 = performance.now();
const report = await runFuzz({ calls, seed, generators, gpu: () => gpu, recover: async () => void (gpu = await reinit(gpu)) });
const seconds = (performance.now() - t0) / 1000;

const outcomes: Outcome[] = ['typed', 'plain', 'accepted', 'late', 'crashed', 'benign'];
console.log(`fuzz: ${calls} calls, seed ${seed}, ${generators.length} generators, ${seconds.toFixed(1)} s`);
console.log(outcomes.map((o) => `${o} ${report.counts[o]}`).join(' | '));
console.log(`typed errors after GPU work: ${report.gpuWorkBeforeError} | calls that leaked: ${report.leaks} | device works at the end: ${report.deviceOk}`);
const drawnAreas = [...new Set(generators.map((g) => g.area))];
const byGen = new Map(generators.map((g) => [g.name, g.area]));
for (const a of drawnAreas) {
  const rs = report.records.filter((r) => byGen.get(r.generator) === a);
  console.log(`  ${a.padEnd(9)} ${outcomes.map((o) => `${o} ${rs.filter((r) => r.outcome === o).length}`).join(', ')}`);
}
for (const o of outcomes.filter((x) => x !== 'typed' && x !== 'benign')) {
  const seen = new Set<string>();
  const rs = report.records.filter((r) => r.outcome === o && !seen.has(r.label) && seen.add(r.label));
  if (!rs.length) continue;
  console.log(`\n${o} (${rs.length} distinct calls; first ${Math.min(list, rs.length)}):`);
  for (const r of rs.slice(0, list)) console.log(`  ${r.label} → ${r.detail}`);
}
const flagged = report.records.filter((r) => r.leakedBytes || r.gpuWorkBeforeError);
if (flagged.length) {
  console.log(`\nleaks / GPU work before the error (first ${Math.min(list, flagged.length)} of ${flagged.length}):`);
  for (const r of flagged.slice(0, list)) console.log(`  ${r.label}: leaked ${r.leakedBytes} B, ${r.gpuWorkBeforeError} dispatches → ${r.outcome}: ${r.detail}`);
}
const json = arg('json', '');
if (json) writeFileSync(json, JSON.stringify({ calls, seed, seconds, counts: report.counts, gpuWorkBeforeError: report.gpuWorkBeforeError, leaks: report.leaks, deviceOk: report.deviceOk, records: report.records }, null, 1));
await gpu.dispose();
process.exit(0);
