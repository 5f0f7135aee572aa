/**
 * A whole BN-ResNet training step (forward with batch statistics and running-stat updates,
 * cross-entropy, backward, weight decay + Nesterov SGD, EMA of weights and running stats,
 * one 2-element readback): `Trainer.trainStep` on resnet_tiny (28×28×1), ours vs the same
 * step written in TF.js ops (bench/peers/tfjs-resnet.ts) on TF.js WebGPU. `details` as the
 * NFNet step rows (bench/cases/step.ts): dispatches, submits, readbacks, peak pooled memory,
 * the per-kernel profile of one step.
 */
import { models } from '../../src/index.js';
import { resnetConfig } from '../../src/resnet/config.js';
import { register, type BenchCase } from '../registry.js';
import { tfjsResNetStep } from '../peers/tfjs-resnet.js';
import { randomBatch, tfjsStepRunner, trainStepRunner } from './step.js';

function resnetStepCase(variant: string, batch: number, res: number, reps: number): BenchCase {
  const cfg = resnetConfig(variant);
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
    targets: [{ kind: 'ratio', min: 10 }],
    note: 'ours: Trainer.trainStep (BN with running-stat updates, weight decay, Nesterov, EMA, no AGC, loss+accuracy readback); TF.js: bench/peers/tfjs-resnet.ts (tf.moments BN without running stats, tf.variableGrads, plain momentum, loss readback)',
    ours: async ({ gpu }) => trainStepRunner(gpu, models.create(variant), randomBatch(batch, res, cfg.inChannels, cfg.numClasses), { clipping: 0 }),
    peer: async ({ tfjs }) => tfjsStepRunner(tfjs, tfjsResNetStep(tfjs, cfg, { batch, resolution: res })),
  };
}

register(resnetStepCase('resnet_tiny', 16, 28, 2));
