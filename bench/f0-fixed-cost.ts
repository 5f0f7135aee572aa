/**
 * Where an F0 training step's per-step fixed cost goes: the work that does not scale with
 * the batch (optimizer, EMA, non-finite guard, weight standardization of 71M parameters,
 * recording: bind groups, pipeline lookups, uniform writes), measured part by part at a
 * small resolution so the per-image work stays small beside it.
 *
 *   node scripts/run-ts.mjs bench/f0-fixed-cost.ts [--variant F0] [--res 32] [--steps 3] [--json]
 *
 * Reports: step wall time at batch 1 and 2 (fixed ≈ 2·T(1) − T(2)); the CPU time to record
 * and submit a step, and within it the optimizer's and the EMA's; GPU time by part from
 * the profiler (timestamps on hardware, per-dispatch timing on SwiftShader).
 */
import { init, nfnet } from '../src/index.js';
import type { Batch } from '../src/data/loader.js';
import { hostRandn } from './peers/layout.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const variant = arg('variant', 'F0');
const res = Number(arg('res', '32'));
const steps = Number(arg('steps', '3'));
const json = process.argv.includes('--json');

const PARTS: [string, RegExp][] = [
  ['optimizer (AGC + decay + Nesterov)', /^optim\/sgd_step$/],
  ['EMA', /^optim\/ema_update$/],
  ['non-finite guard', /^optim\/(check_finite4?|finite_report)$/],
  ['weight standardization (fwd + bwd)', /^weight-standardize\//],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const batchOf = (n: number, channels: number): Batch => ({
  images: hostRandn(n * res * res * channels, n), labels: Int32Array.from({ length: n }, (_, i) => i % 1000), shape: [n, res, res, channels],
});

const gpu = await init();
const model = nfnet.create(variant, { numClasses: 1000 });
const trainer = new nfnet.Trainer(model, { totalSteps: 1000 });
const channels = model.config.inChannels;

// CPU time of the optimizer's and the EMA's recording, per step.
const cpu = { optimizer: 0, ema: 0 };
const timeMethod = (obj: object, name: string, into: keyof typeof cpu) => {
  const o = obj as Record<string, (...a: unknown[]) => unknown>;
  const f = o[name]!.bind(obj);
  o[name] = (...a: unknown[]) => {
    const t = performance.now();
    const r = f(...a);
    cpu[into] += performance.now() - t;
    return r;
  };
};
timeMethod(trainer.optimizer, 'step', 'optimizer');
if (trainer.ema) timeMethod(trainer.ema, 'update', 'ema');

async function timedStep(n: number) {
  cpu.optimizer = cpu.ema = 0;
  const t0 = performance.now();
  const pending = await trainer.submitStep(batchOf(n, channels));
  const recordMs = performance.now() - t0;
  await pending.result;
  return { wallMs: performance.now() - t0, recordMs, optimizerCpuMs: cpu.optimizer, emaCpuMs: cpu.ema };
}

await timedStep(1); // pipelines, first-touch allocation
const at1: Awaited<ReturnType<typeof timedStep>>[] = [];
const at2: Awaited<ReturnType<typeof timedStep>>[] = [];
for (let i = 0; i < steps; i++) {
  at1.push(await timedStep(1));
  at2.push(await timedStep(2));
}
gpu.profile.start();
await timedStep(1);
const prof = await gpu.profile.stop();
const gpuParts = PARTS.map(([part, re]) => {
  const ks = prof.kernels.filter((k) => re.test(k.kernel));
  return { part, ms: ks.reduce((s, k) => s + k.totalMs, 0), dispatches: ks.reduce((s, k) => s + k.calls, 0) };
});
const named = gpuParts.reduce((s, p) => s + p.ms, 0);
gpuParts.push({ part: 'the network (convs, activations, …)', ms: prof.totalMs - named, dispatches: prof.kernels.reduce((s, k) => s + k.calls, 0) - gpuParts.reduce((s, p) => s + p.dispatches, 0) });

const pick = (xs: typeof at1, k: keyof (typeof at1)[number]) => median(xs.map((x) => x[k]));
const report = {
  variant, res, params: model.parameterCount(), adapter: gpu.adapter.description || gpu.adapter.vendor, profileMode: prof.mode,
  stepMs: { batch1: pick(at1, 'wallMs'), batch2: pick(at2, 'wallMs'), fixedEstimate: 2 * pick(at1, 'wallMs') - pick(at2, 'wallMs') },
  cpuMs: { recordAndSubmit: pick(at1, 'recordMs'), optimizer: pick(at1, 'optimizerCpuMs'), ema: pick(at1, 'emaCpuMs') },
  gpuMs: { total: prof.totalMs, parts: gpuParts },
};
if (json) console.log(JSON.stringify(report, null, 2));
else {
  console.log(`${variant} at ${res} px, ${(report.params / 1e6).toFixed(1)}M parameters, ${report.adapter} (GPU times: ${prof.mode})`);
  console.log(`step wall: batch 1 ${report.stepMs.batch1.toFixed(0)} ms, batch 2 ${report.stepMs.batch2.toFixed(0)} ms → fixed ≈ ${report.stepMs.fixedEstimate.toFixed(0)} ms per step`);
  console.log(`CPU: record + submit ${report.cpuMs.recordAndSubmit.toFixed(0)} ms (optimizer ${report.cpuMs.optimizer.toFixed(1)} ms, EMA ${report.cpuMs.ema.toFixed(1)} ms)`);
  console.log(`GPU, batch 1, ${prof.totalMs.toFixed(0)} ms:`);
  for (const p of gpuParts) console.log(`  ${p.part.padEnd(40)} ${p.ms.toFixed(0).padStart(7)} ms  ${((100 * p.ms) / prof.totalMs).toFixed(1).padStart(5)}%  ${p.dispatches} dispatches`);
}
model.dispose();
trainer.dispose();
await gpu.dispose();
