import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ops, tensor, valueAndGrad, ShapeError, ValueError, type Tensor } from '../src/index.js';
import * as N from './ref-nn.js';
import * as R from './ref.js';
import { checkOp, expectClose, opTest, randArr, toTensor } from './harness.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SHAPES: [number, number, number, number][] = [
  [2, 4, 4, 3], // even: no padding
  [1, 5, 5, 2], // odd: SAME pads one row/column after
  [2, 5, 6, 1], // odd H, even W
  [1, 1, 1, 4], // 1×1 spatial: one window holding a single value
  [1, 3, 1, 2], // W = 1
  [2, 5, 4, 8], // channels a multiple of 4: four channels per invocation, odd H
  [3, 16, 16, 8], // four channels per invocation over more than one workgroup
];

describe('avgPool 2×2 stride 2 SAME (NHWC)', () => {
  for (const shape of SHAPES) {
    opTest('avgPool', `${JSON.stringify(shape)}: float64 reference and gradient`, () =>
      checkOp({
        gpu: (x) => ops.avgPool(x),
        ref: (x) => N.avgPool(x, [2, 2], [2, 2], 'SAME'),
        inputs: [randArr(shape, 21)],
      }));

    opTest('avgPool', `${JSON.stringify(shape)}: matches TF.js CPU avgPool 'same' to 1e-4 (forward; gradient where unpadded)`, async () => {
      const x = randArr(shape, 22);
      const xs = tf.tensor4d(Float32Array.from(x.data), shape);
      const pooled = tf.avgPool(xs, 2, 2, 'same');
      const got = await ops.avgPool(toTensor(x)).data();
      expect(pooled.shape).toEqual(N.avgPool(x, [2, 2], [2, 2], 'SAME').shape);
      expectClose(got, await pooled.data(), 1e-4, 'forward vs TF.js');
      // Gradient of Σ pooled ⊙ r. TF.js CPU's avgPool gradient always divides by the full
      // window (k²), even for border windows its forward averaged over fewer values, so it
      // is not the derivative of its own forward there; compare only where nothing is padded
      // (the padded case is checked against central differences above).
      const padded = shape[1] % 2 === 1 || shape[2] % 2 === 1;
      const r = randArr(pooled.shape as number[], 23);
      const tfGrad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(v as tf.Tensor4D, 2, 2, 'same'), tf.tensor(Float32Array.from(r.data), r.shape))))(xs);
      const rT = toTensor(r);
      const [, [g]] = await valueAndGrad((v: Tensor) => ops.sum(ops.mul(ops.avgPool(v), rT)))(toTensor(x));
      if (!padded) expectClose(await g!.data(), await tfGrad.data(), 1e-4, 'gradient vs TF.js');
      tf.dispose([xs, pooled, tfGrad]);
    });
  }

  opTest('avgPool', '1×1 input: the gradient is dy itself (TF.js CPU gives dy/4, not the derivative of its forward)', async () => {
    const x = randArr([1, 1, 1, 2], 28);
    const xs = tf.tensor4d(Float32Array.from(x.data), [1, 1, 1, 2]);
    const tfGrad = await tf.grad((v: tf.Tensor) => tf.sum(tf.avgPool(v as tf.Tensor4D, 2, 2, 'same')))(xs).data();
    const [, [g]] = await valueAndGrad((v: Tensor) => ops.sum(ops.avgPool(v)))(toTensor(x));
    expect(Array.from(await g!.data())).toEqual([1, 1]);
    expect(Array.from(tfGrad)).toEqual([0.25, 0.25]);
    xs.dispose();
  });

  opTest('avgPool', "3×3 stride 2 SAME (pad both sides) and 2×2 stride 1 'VALID' match TF.js", async () => {
    const x = randArr([1, 6, 5, 2], 24);
    const xs = tf.tensor4d(Float32Array.from(x.data), [1, 6, 5, 2]);
    const cases = [
      { o: { size: 3, stride: 2, padding: 'SAME' as const }, tfOut: tf.avgPool(xs, 3, 2, 'same') },
      { o: { size: 2, stride: 1, padding: 'VALID' as const }, tfOut: tf.avgPool(xs, 2, 1, 'valid') },
    ];
    for (const { o, tfOut } of cases) {
      const y = ops.avgPool(toTensor(x), o);
      expect(y.shape).toEqual(tfOut.shape);
      expectClose(await y.data(), await tfOut.data(), 1e-4, JSON.stringify(o));
    }
    tf.dispose([xs, ...cases.map((c) => c.tfOut)]);
  });

  opTest('avgPool', 'overlapping windows: 3×3 stride 2 SAME and 2×2 stride 1 VALID gradients', async () => {
    await checkOp({
      gpu: (x) => ops.avgPool(x, { size: 3, stride: 2 }),
      ref: (x) => N.avgPool(x, [3, 3], [2, 2], 'SAME'),
      inputs: [randArr([1, 5, 4, 2], 25)],
    });
    await checkOp({
      gpu: (x) => ops.avgPool(x, { size: 2, stride: 1, padding: 'VALID' }),
      ref: (x) => N.avgPool(x, [2, 2], [1, 1], 'VALID'),
      inputs: [randArr([2, 3, 4, 1], 29)],
    });
  });

  opTest('avgPool', 'windows that tile the input (stride = size, no padding) take the direct backward; padded ones the general one', async () => {
    const gradKernels = async (shape: number[], size: number, padding: 'SAME' | 'VALID', seed: number) => {
      const ref = (x: R.Arr) => N.avgPool(x, [size, size], [size, size], padding);
      await checkOp({ gpu: (x) => ops.avgPool(x, { size, stride: size, padding }), ref, inputs: [randArr(shape, seed)] });
      const x = toTensor(randArr(shape, seed));
      const f = valueAndGrad((v: Tensor) => ops.sum(ops.avgPool(v, { size, stride: size, padding })));
      gpu().profile.start();
      const [y, [dx]] = await f(x);
      const kernels = (await gpu().profile.stop()).kernels.map((k) => k.kernel);
      for (const t of [x, y, dx!]) t.dispose();
      return kernels.filter((k) => k.startsWith('pool/avg_pool_backward'));
    };
    expect(await gradKernels([2, 6, 8, 8], 2, 'SAME', 51)).toEqual(['pool/avg_pool_backward_tiling']); // four channels per invocation
    expect(await gradKernels([1, 9, 6, 3], 3, 'VALID', 52)).toEqual(['pool/avg_pool_backward_tiling']); // one channel, 3×3 windows
    expect(await gradKernels([1, 7, 6, 4], 2, 'SAME', 53)).toEqual(['pool/avg_pool_backward']); // SAME pads the odd H
    expect(await gradKernels([1, 7, 6, 4], 2, 'VALID', 54)).toEqual(['pool/avg_pool_backward']); // VALID drops the last row
  });

  opTest('avgPool', 'rejects non-NHWC input and bad options before GPU work', () => {
    expect(() => ops.avgPool(tensor(new Float32Array(4), [2, 2]))).toThrow(ShapeError);
    expect(() => ops.avgPool(tensor(new Float32Array(4), [1, 2, 2, 1]), { stride: 0 })).toThrow(ValueError);
    expect(() => ops.avgPool(tensor(new Float32Array(4), [1, 2, 2, 1]), { padding: 'same' as 'SAME' })).toThrow(ValueError);
  });
});

describe('globalMeanPool', () => {
  it('[N, H, W, C] → [N, C]: reference and gradient, odd spatial size', () =>
    checkOp({
      gpu: (x) => ops.globalMeanPool(x),
      ref: (x) => R.reduce(x, [1, 2], false, (v) => R.sum(v) / v.length),
      inputs: [randArr([2, 3, 5, 4], 26)],
    }));
  it('1×1 spatial, batch 1', () =>
    checkOp({
      gpu: (x) => ops.globalMeanPool(x),
      ref: (x) => R.reduce(x, [1, 2], false, (v) => R.sum(v) / v.length),
      inputs: [randArr([1, 1, 1, 3], 27)],
    }));
});

describe('maxPool 3×3 stride 2 SAME (the NF-ResNet stem)', () => {
  for (const shape of [[2, 7, 7, 2], [1, 6, 5, 3], [1, 1, 1, 2]] as [number, number, number, number][]) {
    opTest('maxPool', `${JSON.stringify(shape)}: float64 reference and gradient`, () =>
      checkOp({
        gpu: (x) => ops.maxPool(x, { size: 3, stride: 2 }),
        ref: (x) => N.maxPool(x, [3, 3], [2, 2], 'SAME'),
        inputs: [randArr(shape, 31)],
      }));
  }

  opTest('maxPool', 'matches TF.js CPU maxPool \'same\' forward and gradient', async () => {
    const x = randArr([2, 7, 6, 3], 32);
    const xs = tf.tensor4d(Float32Array.from(x.data), [2, 7, 6, 3]);
    const r = randArr([2, 4, 3, 3], 33);
    const rt = tf.tensor(Float32Array.from(r.data), r.shape);
    const tfOut = tf.maxPool(xs, 3, 2, 'same');
    const tfGrad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, 3, 2, 'same'), rt)))(xs);
    expectClose(await ops.maxPool(toTensor(x), { size: 3, stride: 2 }).data(), await tfOut.data(), 1e-6, 'forward vs TF.js');
    const rT = toTensor(r);
    const [, [g]] = await valueAndGrad((v: Tensor) => ops.sum(ops.mul(ops.maxPool(v, { size: 3, stride: 2 }), rT)))(toTensor(x));
    expectClose(await g!.data(), await tfGrad.data(), 1e-5, 'gradient vs TF.js');
    tf.dispose([xs, rt, tfOut, tfGrad]);
  });

  // timm's NF-ResNet stem: nn.MaxPool2d(3, stride=2, padding=1). On even sizes TF SAME pads
  // after only, PyTorch both sides: the windows differ.
  for (const shape of [[1, 6, 6, 2], [2, 7, 4, 3]] as [number, number, number, number][]) {
    opTest('maxPool', `${JSON.stringify(shape)}: explicit PyTorch padding [[1, 1], [1, 1]], reference and gradient`, () =>
      checkOp({
        gpu: (x) => ops.maxPool(x, { size: 3, stride: 2, padding: [[1, 1], [1, 1]] }),
        ref: (x) => N.maxPool(x, [3, 3], [2, 2], [[1, 1], [1, 1]]),
        inputs: [randArr(shape, 34)],
      }));
  }
  opTest('avgPool', 'explicit asymmetric padding [[1, 0], [0, 1]], 3×3 stride 2 (padding not counted)', () =>
    checkOp({
      gpu: (x) => ops.avgPool(x, { size: 3, stride: 2, padding: [[1, 0], [0, 1]] }),
      ref: (x) => N.avgPool(x, [3, 3], [2, 2], [[1, 0], [0, 1]]),
      inputs: [randArr([1, 5, 6, 4], 35)],
    }));
  opTest('maxPool', 'explicit padding: even-size windows differ from SAME; a pad as wide as the window is rejected', async () => {
    const x = toTensor(randArr([1, 4, 4, 1], 36));
    const same = await ops.maxPool(x, { size: 3, stride: 2 }).data();
    const torch = await ops.maxPool(x, { size: 3, stride: 2, padding: [[1, 1], [1, 1]] }).data();
    expect(Array.from(same)).not.toEqual(Array.from(torch));
    expect(() => ops.maxPool(x, { size: 3, stride: 2, padding: [[3, 0], [0, 0]] })).toThrow(ValueError);
    expect(() => ops.maxPool(x, { size: 3, stride: 2, padding: [[1, 1]] as never })).toThrow(ValueError);
  });

  opTest('maxPool', 'at ties the whole gradient goes to the first maximum in row-major order', async () => {
    const x = tensor(new Float32Array(9).fill(1), [1, 3, 3, 1]);
    const [, [g]] = await valueAndGrad((v: Tensor) => ops.sum(ops.maxPool(v, { size: 3, stride: 3, padding: 'VALID' })))(x);
    expect(Array.from(await g!.data())).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
