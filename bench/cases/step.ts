/**
 * Whole training steps (forward, label-smoothed CE, backward, AGC + weight decay + Nesterov
 * SGD, EMA, one 2-element readback): `Trainer.trainStep`, ours vs the same step written in
 * TF.js ops (bench/peers/tfjs-nfnet.ts) on TF.js WebGPU.
 *
 * `details` (one extra step after the timed ones): dispatches / submits / readbacks per
 * step (gpu.counters() deltas), peak pooled GPU memory (pool.resetPeak() before the step,
 * poolStats().peakLiveBytes after), and the profiler's per-kernel breakdown of that step.
 */
import type { Batch } from '../../src/data/loader.js';
import { create } from '../../src/nfnet/model.js';
import { Trainer, type TrainOptions } from '../../src/nfnet/train.js';
import type { Model } from '../../src/models/model.js';
import type { TfjsPeer } from '../peers/tfjs.js';
import { variantConfig } from '../../src/nfnet/variants.js';
import { info as nfnetInfo } from '../../src/nfnet/index.js';
import { backend, type Gpu } from '../../src/runtime/init.js';
import { register, withCpuReference, type BenchCase, type Runner } from '../registry.js';
import { tfjsNfnetStep } from '../peers/tfjs-nfnet.js';

/** Kernel rows kept in a step breakdown; the rest is summed into `other`. */
const TOP_KERNELS = 12;

export function randomBatch(n: number, res: number, ch: number, classes: number): Batch {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return {
    images: Float32Array.from({ length: n * res * res * ch }, rnd),
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
    shape: [n, res, res, ch],
  };
}

export interface StepDetails {
  dispatchesPerStep: number;
  submitsPerStep: number;
  readbacksPerStep: number;
  peakPooledBytes: number;
  params: number;
  profile: { mode: string; totalMs: number; kernels: { kernel: string; calls: number; ms: number; share: number }[] };
}

export async function stepDetails(gpu: Gpu, step: () => Promise<unknown>, params: number): Promise<StepDetails> {
  await gpu.sync();
  const c0 = gpu.counters();
  backend().pool.resetPeak();
  await step();
  await gpu.sync();
  const c1 = gpu.counters();
  const peak = gpu.poolStats().peakLiveBytes;
  gpu.profile.start();
  await step();
  await gpu.sync();
  const prof = await gpu.profile.stop();
  const total = prof.totalMs || 1;
  const top = prof.kernels.slice(0, TOP_KERNELS).map((k) => ({ kernel: k.kernel, calls: k.calls, ms: k.totalMs, share: k.totalMs / total }));
  const rest = prof.kernels.slice(TOP_KERNELS);
  if (rest.length) {
    const ms = rest.reduce((s, k) => s + k.totalMs, 0);
    top.push({ kernel: `other (${rest.length} kernels)`, calls: rest.reduce((s, k) => s + k.calls, 0), ms, share: ms / total });
  }
  return {
    dispatchesPerStep: c1.dispatches - c0.dispatches,
    submitsPerStep: c1.submits - c0.submits,
    readbacksPerStep: c1.readbacks - c0.readbacks,
    peakPooledBytes: peak,
    params,
    profile: { mode: prof.mode, totalMs: prof.totalMs, kernels: top },
  };
}

/**
 * Ours: `Trainer.trainStep` on a model (every family), with the Trainer's defaults for the
 * model but a fixed lr 0.1 and no warm-up, and the step's `details`. The runner owns the model.
 */
export function trainStepRunner(gpu: Gpu, model: Model, b: Batch, options: Partial<TrainOptions> = {}): Runner {
  const trainer = new Trainer(model, { totalSteps: 10_000, lr: 0.1, warmupSteps: 0, ema: true, ...options });
  return {
    async run() {
      await trainer.trainStep(b);
    },
    sync: () => gpu.sync(),
    details: async () => ({ ...(await stepDetails(gpu, () => trainer.trainStep(b), model.parameterCount())) }),
    dispose() {
      trainer.dispose();
      model.dispose();
    },
  };
}

/** A TF.js step runner (bench/peers/tfjs-*.ts) with its parameter count and TF.js's memory as details. */
export function tfjsStepRunner(tfjs: TfjsPeer, r: Runner & { paramCount: number }): Runner {
  return { ...r, details: async () => ({ params: r.paramCount, numTensors: tfjs.tf.memory().numTensors, tfjsBytes: tfjs.tf.memory().numBytes }) };
}

function stepCase(variant: string, batch: number, res: number, o: { reps: number; peerReps?: number; fullOnly?: boolean; hardwareOnly?: boolean; peer: boolean; minPctRoofline?: number }): BenchCase {
  const cfg = variantConfig(variant, variant === 'nano' ? {} : { numClasses: 1000 });
  // With a roofline target, the step's model FLOPs: 3 × forward multiply-adds × 2 (forward,
  // dX and dW) per image; with no bytes counted, % roofline is against the FMA probe. (Not
  // `roofline: 'compute'`: that marks the probes that set the ceilings.) Other steps are
  // judged by their ratio.
  const flops = o.minPctRoofline ? 3 * 2 * batch * nfnetInfo(variant, { numClasses: cfg.numClasses, resolution: res }).macs : 0;
  return {
    name: `step/${variant}/b${batch}x${res}`,
    group: 'step',
    flops,
    bytes: 0,
    reps: o.reps,
    peerReps: o.peerReps ?? o.reps,
    fullReps: o.reps + 1,
    fullOnly: o.fullOnly,
    hardwareOnly: o.hardwareOnly,
    heavy: true,
    items: { count: batch, unit: 'img' },
    targets: o.peer ? [{ kind: 'ratio', min: 10 }] : o.minPctRoofline ? [{ kind: 'pctRoofline', min: o.minPctRoofline }] : [],
    note: o.peer
      ? 'ours: Trainer.trainStep (AGC, weight decay, Nesterov, EMA, dropout/stoch. depth, loss+accuracy readback); TF.js: bench/peers/tfjs-nfnet.ts (tf.variableGrads, plain momentum, loss readback)'
      : `ours only (TF.js would take minutes per step here)${o.minPctRoofline ? '; GFLOP/s by model FLOPs: 3 × forward multiply-adds × 2 per image' : ''}`,
    ours: async ({ gpu }) => trainStepRunner(gpu, create(variant, variant === 'nano' ? {} : { numClasses: 1000 }), randomBatch(batch, res, cfg.inChannels, cfg.numClasses)),
    ...(o.peer
      ? {
          peer: async ({ tfjs }) => tfjsStepRunner(tfjs, tfjsNfnetStep(tfjs, cfg, { batch, resolution: res })),
        }
      : {}),
  };
}

register(
  // TF.js cpu reference for the whole nano step in --full only (a minute a step).
  ...withCpuReference('full', stepCase('nano', 32, 28, { reps: 2, peerReps: 1, peer: true })),
  stepCase('F0', 1, 192, { reps: 1, fullOnly: true, peer: false }),
  // #20 item 4: at batch 8 the per-image work outweighs F0's per-step fixed cost.
  stepCase('F0', 8, 192, { reps: 1, fullOnly: true, peer: false, minPctRoofline: 50 }),
  // timm's other reference point (scripts/gpu-bench.sh); minutes per step on SwiftShader.
  stepCase('F0', 32, 192, { reps: 3, fullOnly: true, hardwareOnly: true, peer: false }),
);
