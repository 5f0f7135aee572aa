/**
 * Whole ViT training steps: `Trainer.trainStep` on the small ViTs, ours vs the same step
 * written in TF.js ops (bench/peers/tfjs-vit.ts) on TF.js WebGPU; `details` as the NFNet
 * step rows (bench/cases/step.ts).
 */
import { Model } from '../../src/models/model.js';
import { Trainer } from '../../src/nfnet/train.js';
import { ViTArchitecture } from '../../src/vit/model.js';
import { vitConfig } from '../../src/vit/config.js';
import { register, type BenchCase, type Runner } from '../registry.js';
import { tfjsVitStep } from '../peers/tfjs-vit.js';
import { randomBatch, stepDetails } from './step.js';

function vitStepCase(variant: string, batch: number, reps: number): BenchCase {
  const cfg = vitConfig(variant);
  const res = cfg.imageSize;
  return {
    name: `step/${variant}/b${batch}x${res}`,
    group: 'step',
    flops: 0,
    bytes: 0,
    reps,
    peerReps: reps,
    fullReps: reps + 1,
    heavy: true,
    items: { count: batch, unit: 'img' },
    targets: [{ kind: 'ratio', min: 1 }],
    note: 'ours: Trainer.trainStep (AGC, weight decay, Nesterov, EMA, drop-path, loss+accuracy readback); TF.js: bench/peers/tfjs-vit.ts (tf.variableGrads, plain momentum, loss readback)',
    async ours({ gpu }) {
      const model = new Model(new ViTArchitecture(cfg, 0));
      const trainer = new Trainer(model, { totalSteps: 10_000, lr: 0.1, warmupSteps: 0, ema: true });
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
      const r = tfjsVitStep(tfjs, cfg, { batch });
      return { ...r, details: async () => ({ params: r.paramCount, numTensors: tfjs.tf.memory().numTensors, tfjsBytes: tfjs.tf.memory().numBytes }) };
    },
  };
}

register(
  vitStepCase('vit_pico_patch7_28', 32, 2),
  vitStepCase('vit_nano_patch4_32', 16, 2),
);
