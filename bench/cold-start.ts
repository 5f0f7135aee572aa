/**
 * Cold start: where the first forward of a full-size F0 goes (64 px, batch 2, 1000
 * classes, 3 channels by default), against a second, warm forward. Device calls are
 * counted and timed by wrapping the GPUDevice (pipeline and shader-module builds, buffer
 * and bind-group creation, queue writes and submits), phase by phase. docs/bench.md,
 * "Cold start", has the figures.
 *
 *   node scripts/run-ts.mjs bench/cold-start.ts [--variant F0] [--res 64] [--batch 2]
 *       [--warmup]        build the forward's pipelines with warmup() before it
 *       [--import]        load the weights again as an import does (overlapping the warm-up)
 *       [--profile]       a third forward with GPU timestamps, by kernel family
 *       [--per-pipeline]  each blocking pipeline build with its time
 *       [--json]
 */
import { init, nfnet, noGrad, tidy, randn, warmup, empty } from '../src/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const variant = arg('variant', 'F0');
const res = Number(arg('res', '64'));
const batch = Number(arg('batch', '2'));
const json = process.argv.includes('--json');
/** Build the forward's pipelines with `warmup()` (in the background, during the model build) first. */
const useWarmup = process.argv.includes('--warmup');
const importWeights = process.argv.includes('--import');

/** Count and time the device calls that make a cold start cold. */
interface Tally { count: number; ms: number }
const tallies: Record<string, Tally> = {};
type Method = (...args: unknown[]) => unknown;
function wrap(obj: object, name: string, label: string, each?: (args: unknown[], ms: number) => void): void {
  const target = obj as Record<string, Method>;
  const f = target[name]!.bind(obj);
  target[name] = (...args: unknown[]) => {
    const t0 = performance.now();
    const r = f(...args);
    const ms = performance.now() - t0;
    const t = (tallies[label] ??= { count: 0, ms: 0 });
    t.count++;
    t.ms += ms;
    each?.(args, ms);
    return r;
  };
}
const snapshot = () => Object.fromEntries(Object.entries(tallies).map(([k, v]) => [k, { ...v }]));
function diff(a: Record<string, Tally>, b: Record<string, Tally>): Record<string, Tally> {
  const out: Record<string, Tally> = {};
  for (const [k, v] of Object.entries(b)) {
    const c = v.count - (a[k]?.count ?? 0);
    if (c) out[k] = { count: c, ms: v.ms - (a[k]?.ms ?? 0) };
  }
  return out;
}

const t0 = performance.now();
const gpu = await init({ verbose: false });
const initMs = performance.now() - t0;
const d = gpu.device;
wrap(d, 'createShaderModule', 'createShaderModule');
const perPipeline: [string, number][] = [];
wrap(d, 'createComputePipeline', 'createComputePipeline', (args, ms) => perPipeline.push([(args[0] as GPUComputePipelineDescriptor).label ?? '?', ms]));
wrap(d, 'createComputePipelineAsync', 'createComputePipelineAsync (issue only)');
wrap(d, 'createBuffer', 'createBuffer');
wrap(d, 'createBindGroup', 'createBindGroup');
wrap(d.queue, 'writeBuffer', 'queue.writeBuffer');
wrap(d.queue, 'submit', 'queue.submit');

const phases: { phase: string; ms: number; calls?: Record<string, Tally> }[] = [{ phase: 'init (adapter + device)', ms: initMs }];
async function phase<T>(name: string, f: () => T | Promise<T>): Promise<T> {
  const before = snapshot();
  const t = performance.now();
  const r = await f();
  phases.push({ phase: name, ms: performance.now() - t, calls: diff(before, snapshot()) });
  return r;
}

const model = await phase('build model (host init + upload)', () => nfnet.create(variant, { numClasses: 1000, inChannels: 3 }));
// --import: load weights as an import does last (ModelState.load of host arrays; here the
// model's own values, read back untimed), with warm-up, if asked, building meanwhile.
const weights = importWeights ? await model.state.read() : null;
const ready = useWarmup ? await phase('warmup: planning (pipelines start building)', () => {
  const p = warmup(() => model.forward(empty([batch, res, res, 3])));
  return { p };
}) : null;
if (weights) await phase('import weights (state.load)', () => model.state.load(weights));
if (ready) {
  const report = await phase('warmup: wait for the pipelines', () => ready.p);
  phases[phases.length - 1]!.phase += ` (${report.built} of ${report.pipelines})`;
}
await phase('model upload: GPU wait', () => gpu.sync());
const x = randn([batch, res, res, 3], { seed: 1 });
await phase('input: GPU wait', () => gpu.sync());
for (const which of ['first', 'second']) {
  const logits = await phase(`${which} forward: record (incl. pipeline creation)`, () => noGrad(() => tidy(() => model.forward(x))));
  await phase(`${which} forward: GPU wait + readback`, () => logits.data());
  logits.dispose();
}
/** Where a warm forward's GPU time goes, by kernel family (a third forward, profiled, so the two above are not slowed). */
let gpuByFamily: { family: string; ms: number; calls: number }[] = [];
if (process.argv.includes('--profile')) {
  gpu.profile.start();
  const logits = noGrad(() => tidy(() => model.forward(x)));
  await logits.data();
  logits.dispose();
  const report = await gpu.profile.stop();
  const families = new Map<string, { ms: number; calls: number }>();
  for (const k of report.kernels) {
    const f = families.get(k.kernel.split('/')[0]!) ?? { ms: 0, calls: 0 };
    f.ms += k.totalMs;
    f.calls += k.calls;
    families.set(k.kernel.split('/')[0]!, f);
  }
  gpuByFamily = [...families].map(([family, v]) => ({ family, ...v })).sort((a, b) => b.ms - a.ms);
}
const total = (w: string) => phases.filter((p) => p.phase.startsWith(w)).reduce((s, p) => s + p.ms, 0);
const summary = {
  variant, res, batch, adapter: gpu.adapter.description || gpu.adapter.device,
  loadavg: (await import('node:os')).loadavg().map((l) => Math.round(l * 100) / 100),
  firstForwardMs: total('first'), secondForwardMs: total('second'),
  /** From a built model to its first logits: import, warm-up and first forward. */
  builtToLogitsMs: total('import') + total('warmup') + total('first'),
  pipelines: gpu.cacheStats().pipelines, phases, gpuByFamily,
};
if (json) console.log(JSON.stringify(summary));
else {
  console.log(`${variant} ${res}px batch ${batch} on ${summary.adapter}; load average ${summary.loadavg.join(' ')}`);
  for (const p of phases) {
    const calls = Object.entries(p.calls ?? {}).map(([k, v]) => `${k} ×${v.count} ${v.ms.toFixed(0)} ms`).join(', ');
    console.log(`  ${p.phase.padEnd(48)} ${p.ms.toFixed(0).padStart(7)} ms  ${calls}`);
  }
  console.log(`  first forward ${summary.firstForwardMs.toFixed(0)} ms, second ${summary.secondForwardMs.toFixed(0)} ms, ${summary.pipelines} pipelines; built model to first logits ${summary.builtToLogitsMs.toFixed(0)} ms`);
  if (gpuByFamily.length) {
    const sum = gpuByFamily.reduce((t, f) => t + f.ms, 0);
    console.log(`  a third forward, profiled (${sum.toFixed(0)} ms of GPU time):`);
    for (const f of gpuByFamily) console.log(`    ${f.family.padEnd(24)} ${f.ms.toFixed(0).padStart(6)} ms  ${(100 * f.ms / sum).toFixed(1).padStart(5)}%  ${f.calls} dispatches`);
  }
}
if (process.argv.includes('--per-pipeline')) for (const [k, ms] of perPipeline) console.log(`    ${ms.toFixed(0).padStart(6)} ms  ${k}`);
model.dispose();
x.dispose();
await gpu.dispose();
process.exit(0);
