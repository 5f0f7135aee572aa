/**
 * A whole EfficientNet training step (forward with training-mode BatchNorm, label-smoothed
 * CE, backward, the Trainer's optimizer step, one 2-element readback): `Trainer.trainStep`
 * on efficientnet_nano at 28 px, ours vs the same step in TF.js ops
 * (bench/peers/tfjs-efficientnet.ts) on TF.js WebGPU. `details`: dispatches, submits and
 * readbacks per step, peak pooled memory and the kernel breakdown (step.ts's stepDetails).
 */
import { create } from '../../src/models/registry.js';
import { variantConfig } from '../../src/efficientnet/config.js';
import { register, type BenchCase } from '../registry.js';
import { tfjsEfficientNetStep } from '../peers/tfjs-efficientnet.js';
import { randomBatch, tfjsStepRunner, trainStepRunner } from './step.js';

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
    ours: async ({ gpu }) => trainStepRunner(gpu, create(variant), randomBatch(batch, res, cfg.inChannels, cfg.numClasses), { clipping: 0 }),
    peer: async ({ tfjs }) => tfjsStepRunner(tfjs, tfjsEfficientNetStep(tfjs, cfg, { batch, resolution: res })),
  };
}

register(stepCase('efficientnet_nano', 16));
