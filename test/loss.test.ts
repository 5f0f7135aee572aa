import { beforeAll, describe, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ops, tensor, valueAndGrad, DTypeError, ShapeError, ValueError, type Tensor } from '../src/index.js';
import * as N from './ref-nn.js';
import { arr, type Arr } from './ref.js';
import { checkOp, expectClose, opTest, rand, randArr, toTensor } from './harness.js';
import { useGpu } from './setup.js';

useGpu();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ids = (n: number, c: number, seed: number) => Array.from(rand(n, seed, 0, c), Math.floor);
const i32 = (v: number[]) => tensor(Int32Array.from(v), [v.length]);

/** Positive soft targets whose rows sum to 1. */
function softTargets(n: number, c: number, seed: number): Arr {
  const d = rand(n * c, seed, 0.1, 1);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += d[r * c + j]!;
    for (let j = 0; j < c; j++) d[r * c + j]! /= s;
  }
  return arr([n, c], d);
}

describe('softmaxCrossEntropy', () => {
  for (const [n, c, eps] of [[4, 5, 0], [3, 7, 0.1], [1, 1, 0.1], [1, 2, 0]] as const) {
    opTest('softmaxCrossEntropy', `class ids, [${n}, ${c}], smoothing ${eps}: reference and gradient`, () => {
      const labels = ids(n, c, 31);
      const labelsT = i32(labels);
      return checkOp({
        gpu: (z) => ops.softmaxCrossEntropy(z, labelsT, { labelSmoothing: eps }),
        ref: (z) => N.softmaxCrossEntropy(z, N.oneHot(labels, c), eps),
        inputs: [randArr([n, c], 32, -3, 3)],
      });
    });
  }

  opTest('softmaxCrossEntropy', 'soft f32 targets [3, 4], smoothing 0.2: gradients for logits and targets', () =>
    checkOp({
      gpu: (z, t) => ops.softmaxCrossEntropy(z, t, { labelSmoothing: 0.2 }),
      ref: (z, t) => N.softmaxCrossEntropy(z, t, 0.2),
      inputs: [randArr([3, 4], 33, -2, 2), softTargets(3, 4, 34)],
    }));

  opTest('softmaxCrossEntropy', 'batch of 300 (more rows than one workgroup has threads)', () => {
    const labels = ids(300, 3, 35);
    const labelsT = i32(labels);
    return checkOp({
      gpu: (z) => ops.softmaxCrossEntropy(z, labelsT, { labelSmoothing: 0.1 }),
      ref: (z) => N.softmaxCrossEntropy(z, N.oneHot(labels, 3), 0.1),
      inputs: [randArr([300, 3], 36, -2, 2)],
      wrt: [],
    });
  });

  opTest('softmaxCrossEntropy', 'matches TF.js CPU tf.losses.softmaxCrossEntropy with label smoothing 0.1 to 1e-4 (value and gradient)', async () => {
    const [n, c] = [5, 6];
    const labels = ids(n, c, 37);
    const z = randArr([n, c], 38, -4, 4);
    const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), c);
    const zt = tf.tensor2d(Float32Array.from(z.data), [n, c]);
    const lossFn = (v: tf.Tensor) => tf.losses.softmaxCrossEntropy(onehot, v, undefined, 0.1) as tf.Scalar;
    const tfLoss = await lossFn(zt).data();
    const tfGrad = await tf.grad(lossFn)(zt).data();
    const [loss, [g]] = await valueAndGrad((v: Tensor) => ops.softmaxCrossEntropy(v, i32(labels), { labelSmoothing: 0.1 }))(toTensor(z));
    expectClose(await loss.data(), tfLoss, 1e-4, 'loss vs TF.js');
    expectClose(await g!.data(), tfGrad, 1e-4, 'gradient vs TF.js');
    // Dense one-hot labels give the same loss as class ids.
    const dense = await ops.softmaxCrossEntropy(toTensor(z), toTensor(N.oneHot(labels, c)), { labelSmoothing: 0.1 }).data();
    expectClose(dense, tfLoss, 1e-4, 'dense one-hot vs TF.js');
    tf.dispose([onehot, zt]);
  });

  opTest('softmaxCrossEntropy', 'stable for logits of ±1e4: exact finite loss and gradient', async () => {
    const z = arr([3, 3], [1e4, -1e4, 0, -1e4, -1e4, -1e4, 1e4, 1e4 - 1, -1e4]);
    const labels = [1, 2, 0];
    const want = N.softmaxCrossEntropy(z, N.oneHot(labels, 3), 0.1);
    const [loss, [g]] = await valueAndGrad((v: Tensor) => ops.softmaxCrossEntropy(v, i32(labels), { labelSmoothing: 0.1 }))(toTensor(z));
    const got = await loss.data();
    expect(Number.isFinite(got[0]!)).toBe(true);
    expectClose(got, want, 1e-6, 'loss');
    // d/dz = (softmax − t')/N, computed in float64.
    const zs = Array.from(z.data);
    const wantGrad = labels.flatMap((id, r) => {
      const row = zs.slice(3 * r, 3 * r + 3);
      const m = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
      return row.map((v, j) => (Math.exp(v - m) / s - (0.9 * (j === id ? 1 : 0) + 0.1 / 3)) / 3);
    });
    expectClose(await g!.data(), wantGrad, 1e-6, 'gradient');
  });

  opTest('softmaxCrossEntropy', 'a class id outside [0, C) gives NaN rather than a silent 0', async () => {
    const loss = await ops.softmaxCrossEntropy(tensor(new Float32Array(6), [2, 3]), i32([0, 3])).data();
    expect(Number.isNaN(loss[0]!)).toBe(true);
  });

  opTest('softmaxCrossEntropy', 'rejects mismatched shapes, dtypes and smoothing before GPU work', () => {
    const z = tensor(new Float32Array(6), [2, 3]);
    expect(() => ops.softmaxCrossEntropy(z, i32([0, 1, 2]))).toThrow(ShapeError);
    expect(() => ops.softmaxCrossEntropy(z, tensor(new Float32Array(4), [2, 2]))).toThrow(ShapeError);
    expect(() => ops.softmaxCrossEntropy(z, tensor(new Uint32Array(2), [2]))).toThrow(DTypeError);
    expect(() => ops.softmaxCrossEntropy(tensor(new Float32Array(6), [6]), i32([0]))).toThrow(ShapeError);
    expect(() => ops.softmaxCrossEntropy(z, i32([0, 1]), { labelSmoothing: 1.5 })).toThrow(ValueError);
  });
});
