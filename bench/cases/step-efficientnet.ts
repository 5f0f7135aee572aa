/**
 * A whole EfficientNet training step (forward with training-mode BatchNorm, label-smoothed
 * CE, backward, the Trainer's optimizer step, one 2-element readback): `Trainer.trainStep`
 * on efficientnet_nano at 28 px, ours vs the same step in TF.js ops
 * (bench/peers/tfjs-efficientnet.ts) on TF.js WebGPU. `details`: dispatches, submits and
 * readbacks per step, peak pooled memory and the kernel breakdown (step.ts's stepDetails).
 */
import type { Batch } from '../../src/data/loader.js';
import { create } from '../../src/models/registry.js';
import { Trainer } from '../../src/nfnet/train.js';
import { variantConfig } from '../../src/efficientnet/config.js';
import { register, type BenchCase, type Runner } from '../registry.js';
import { tfjsEfficientNetStep } from '../peers/tfjs-efficientnet.js';
import { stepDetails } from './step.js';

function randomBatch(n: number, res: number, ch: number, classes: number): Batch {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return {
    images: Float32Array.from({ length: n * res * res * ch }, rnd),
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
    shape: [n, res, res, ch],
  };
}

function stepCase(variant: string, batch: number): BenchCase {
  const cfg = variantConfig(variant);
  const res = cfg.trainResolution;
  return {
    name: `step/${variant}/b${batch}x${res}`,
    group: 'step',
    flops: 0,
    bytes: 0,
    reps: 3,
    peerReps: 2,
    heavy: true,
    items: { count: batch, unit: 'img' },
    note: 'ours: Trainer.trainStep (ops.batchNorm, depthwise fast path, AGC off, weight decay, Nesterov, EMA, dropout/drop-connect, loss+accuracy readback); TF.js: bench/peers/tfjs-efficientnet.ts (tf.moments BN, depthwiseConv2d, tf.variableGrads, plain momentum, loss readback)',
    async ours({ gpu }) {
      const model = create(variant);
      const trainer = new Trainer(model, { totalSteps: 10_000, lr: 0.1, warmupSteps: 0, clipping: 0, ema: true });
      const b = randomBatch(batch, res, cfg.inChannels, cfg.numClasses);
      const runner: Runner = {
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
      return runner;
    },
    async peer({ tfjs }) {
      const r = tfjsEfficientNetStep(tfjs, cfg, { batch, resolution: res });
      return { ...r, details: async () => ({ params: r.paramCount, numTensors: tfjs.tf.memory().numTensors }) };
    },
  };
}

register(stepCase('efficientnet_nano', 16));
