/**
 * Batch normalization rows (ops.batchNorm) against TF.js WebGPU, on a ResNet-sized
 * activation: training forward (TF.js: tf.moments + tf.batchNorm), eval forward (tf.batchNorm
 * with given statistics) and training forward + backward (tf.grads), each followed by relu.
 * Every engine normalizes the same seeded host tensors, and TF.js's result is checked
 * against ours before timing. The `separate-relu` rows are ours with the activation as its
 * own op instead of fused: what the fusion saves.
 */
// Direct module imports (not src/index.js) keep a row runnable while unrelated ops are mid-edit.
import type * as TF from '@tensorflow/tfjs';
import { tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { valueAndGrad } from '../../src/autodiff/grad.js';
import { noGrad } from '../../src/autodiff/tape.js';
import { batchNorm } from '../../src/ops/batch-norm.js';
import { composite } from '../../src/ops/composite.js';
import { relu } from '../../src/ops/unary.js';
import { mul } from '../../src/ops/binary.js';
import { sum } from '../../src/ops/reduce.js';
import { register, type BenchCase, type Runner } from '../registry.js';
import { tfjsRunner, type TfjsPeer } from '../peers/tfjs.js';
import { hostRandn } from '../peers/layout.js';
import type { Gpu } from '../../src/runtime/init.js';

const SHAPE: [number, number, number, number] = [8, 32, 32, 128]; // 1M elements, the conv rows' activations
const C = SHAPE[3];
const N = SHAPE.reduce((a, b) => a * b, 1);
const EPS = 1e-5;

/** The host inputs every engine gets: x ~ N(0.5, 2²), weight ~ 1 ± 0.1, bias, running statistics, a cotangent. */
const host = {
  x: hostRandn(N, 1, 2).map((v) => v + 0.5),
  weight: hostRandn(C, 2, 0.1).map((v) => v + 1),
  bias: hostRandn(C, 3, 0.1),
  mean: hostRandn(C, 4, 0.5),
  variance: hostRandn(C, 5, 0.5).map((v) => 4 + v),
  dy: hostRandn(N, 6),
};

type Mode = 'train-fwd' | 'eval-fwd' | 'train-fwd+bwd';

interface Ours {
  x: Tensor; weight: Tensor; bias: Tensor; runningMean: Tensor; runningVar: Tensor; dy: Tensor;
}

function oursInputs(): Ours {
  return {
    x: tensor(host.x, SHAPE),
    weight: tensor(host.weight, [C]),
    bias: tensor(host.bias, [C]),
    runningMean: tensor(host.mean, [C]),
    runningVar: tensor(host.variance, [C]),
    dy: tensor(host.dy, SHAPE),
  };
}

/** One repetition of ours: the output (forward rows) or dx (fwd+bwd), for the cross-check. */
function oursWork(t: Ours, mode: Mode, fused: boolean): () => Promise<Tensor> {
  const training = mode !== 'eval-fwd';
  // Training output does not depend on the running statistics the repetitions keep moving.
  const bn = (x: Tensor, w: Tensor, b: Tensor) => fused
    ? batchNorm(x, w, b, t.runningMean, t.runningVar, { training, activation: 'relu' })
    : composite(() => relu(batchNorm(x, w, b, t.runningMean, t.runningVar, { training })));
  if (mode !== 'train-fwd+bwd') return async () => noGrad(() => bn(t.x, t.weight, t.bias));
  const f = valueAndGrad((x: Tensor, w: Tensor, b: Tensor) => sum(mul(bn(x, w, b), t.dy)));
  return async () => {
    const [loss, [dx, dw, db]] = await f(t.x, t.weight, t.bias);
    loss.dispose();
    dw!.dispose();
    db!.dispose();
    return dx!;
  };
}

function oursRunner(gpu: Gpu, mode: Mode, fused: boolean): Runner {
  const t = oursInputs();
  const work = oursWork(t, mode, fused);
  return {
    async run() {
      (await work()).dispose();
    },
    sync: () => gpu.sync(),
    dispose() {
      for (const v of Object.values(t)) v.dispose();
    },
    async result() {
      const y = await work();
      const d = (await y.data()) as Float32Array;
      y.dispose();
      return d;
    },
  };
}

function tfjsSide(tfjs: TfjsPeer, mode: Mode): Runner {
  const { tf } = tfjs;
  const x = tf.tensor(host.x, SHAPE);
  const weight = tf.tensor1d(host.weight);
  const bias = tf.tensor1d(host.bias);
  const mean = tf.tensor1d(host.mean);
  const variance = tf.tensor1d(host.variance);
  const dy = tf.tensor(host.dy, SHAPE);
  const bn = (xi: TF.Tensor, w: TF.Tensor, b: TF.Tensor): TF.Tensor => {
    if (mode === 'eval-fwd') return tf.relu(tf.batchNorm(xi, mean, variance, b, w, EPS));
    const m = tf.moments(xi, [0, 1, 2]);
    return tf.relu(tf.batchNorm(xi, m.mean, m.variance, b, w, EPS));
  };
  const g = tf.grads((xi: TF.Tensor, w: TF.Tensor, b: TF.Tensor) => tf.sum(tf.mul(bn(xi, w, b), dy)));
  const make = () => tf.tidy(() => {
    if (mode !== 'train-fwd+bwd') return bn(x, weight, bias);
    const [dx, dw, db] = g([x, weight, bias]);
    // Keep dw and db live work: TF.js computes them because tf.grads was asked for them.
    return tf.add(dx!, tf.add(tf.sum(dw!), tf.sum(db!)).mul(0));
  });
  const runner = tfjsRunner(tfjs, make, () => tf.dispose([x, weight, bias, mean, variance, dy]));
  return {
    ...runner,
    async result() {
      const y = make();
      const d = Float32Array.from(await y.data());
      y.dispose();
      return d;
    },
  };
}

/** Bytes of one repetition at the minimum: x read per pass over it, y/dx written, dy read. */
const BYTES: Record<Mode, number> = {
  'eval-fwd': 8 * N, // read x, write y
  'train-fwd': 12 * N, // statistics: read x; apply: read x, write y
  'train-fwd+bwd': 12 * N + 20 * N, // forward, then Σ pass (read x, dy) and dx pass (read x, dy, write dx)
};
const FLOPS: Record<Mode, number> = { 'eval-fwd': 4 * N, 'train-fwd': 7 * N, 'train-fwd+bwd': 20 * N };

function bnCase(mode: Mode, fused = true): BenchCase {
  const shape = SHAPE.join('x');
  const peerNote = mode === 'eval-fwd'
    ? 'TF.js: relu(tf.batchNorm(x, running mean, running var, bias, weight))'
    : mode === 'train-fwd'
      ? 'TF.js: relu(tf.batchNorm(x, tf.moments(x, [0,1,2]), …)); ours also updates the running statistics in place'
      : 'gradient of Σ relu(BN(x))·dY w.r.t. x, weight, bias: ours valueAndGrad, TF.js tf.grads of tf.moments + tf.batchNorm; checked on dx';
  return {
    name: `batchNorm/${shape}/${mode}${fused ? '' : '/separate-relu'}`,
    group: 'norm',
    flops: FLOPS[mode],
    bytes: BYTES[mode],
    reps: 5,
    // TF.js's training forward + backward takes 4–8 s a call on SwiftShader.
    peerReps: mode === 'train-fwd+bwd' ? 2 : 3,
    note: fused ? `relu fused; ${peerNote}` : 'ours with relu as its own op after batchNorm (activation: identity), to measure the fusion; no peer',
    async ours({ gpu }) {
      return oursRunner(gpu, mode, fused);
    },
    ...(fused ? { async peer({ tfjs }: { tfjs: TfjsPeer }) { return tfjsSide(tfjs, mode); } } : {}),
  };
}

register(
  bnCase('train-fwd'),
  bnCase('train-fwd', false),
  bnCase('eval-fwd'),
  bnCase('eval-fwd', false),
  bnCase('train-fwd+bwd'),
  bnCase('train-fwd+bwd', false),
);
