/**
 * Whole ViT training steps: `Trainer.trainStep` on the small ViTs, ours vs the same step
 * written in TF.js ops (bench/peers/tfjs-vit.ts) on TF.js WebGPU; `details` as the NFNet
 * step rows (bench/cases/step.ts).
 */
import { Model } from '../../src/models/model.js';
import { ViTArchitecture } from '../../src/vit/model.js';
import { vitConfig } from '../../src/vit/config.js';
import { register, type BenchCase } from '../registry.js';
import { tfjsVitStep } from '../peers/tfjs-vit.js';
import { randomBatch, tfjsStepRunner, trainStepRunner } from './step.js';

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
    ours: async ({ gpu }) => trainStepRunner(gpu, new Model(new ViTArchitecture(cfg, 0)), randomBatch(batch, res, cfg.inChannels, cfg.numClasses)),
    peer: async ({ tfjs }) => tfjsStepRunner(tfjs, tfjsVitStep(tfjs, cfg, { batch })),
  };
}

register(
  vitStepCase('vit_pico_patch7_28', 32, 2),
  vitStepCase('vit_nano_patch4_32', 16, 2),
);
