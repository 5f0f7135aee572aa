import { describe, expect, it } from 'vitest';
import { ops, tensor, noGrad, ShapeError, ValueError } from '../src/index.js';
import { checkOp, expectClose, opTest, randArr, toTensor } from './harness.js';
import * as T from './ref-transformer.js';
import { refConv2d } from './ref-conv.js';
import { useGpu } from './setup.js';

useGpu();

describe('patchify vs float64 reference (forward and its inverse scatter)', () => {
  for (const [shape, p] of [[[2, 6, 9, 3], 3], [[1, 4, 4, 5], 2], [[2, 2, 4, 1], 2], [[1, 3, 3, 2], 1], [[1, 4, 4, 2], 4]] as [number[], number][]) {
    opTest('patchify', `${JSON.stringify(shape)}, patch ${p}`, () =>
      checkOp({ gpu: (x) => ops.patchify(x, p), ref: (x) => T.patchify(x, p), inputs: [randArr(shape, 1)] }));
  }

  it('patchify + matmul with the HWIO weight flattened to [p·p·C, D] equals the p×p stride-p conv', async () => {
    const [n, h, w, c, d, p] = [2, 6, 9, 3, 5, 3];
    const x = randArr([n, h, w, c], 2);
    const k = randArr([p, p, c, d], 3);
    const viaPatches = noGrad(() => ops.matmul(ops.patchify(toTensor(x), p), ops.reshape(toTensor(k), [p * p * c, d])));
    const viaConv = noGrad(() => ops.conv2d(toTensor(x), toTensor(k), { stride: p }));
    expect(viaConv.shape).toEqual([n, h / p, w / p, d]);
    const conv = await viaConv.data();
    expectClose(await viaPatches.data(), conv, 1e-5, 'patchify·W vs conv2d');
    // And both against the float64 conv.
    expectClose(conv, refConv2d(x, k, { stride: [p, p] }), 1e-5, 'conv2d vs float64');
  });

  it('rejects a non-NHWC x, H or W not a multiple of p, and a bad patch size before GPU work', () => {
    const x = tensor(new Float32Array(2 * 6 * 8 * 3), [2, 6, 8, 3]);
    expect(() => ops.patchify(tensor(new Float32Array(6), [2, 3]), 1)).toThrow(ShapeError);
    expect(() => ops.patchify(x, 4)).toThrow(/multiples of the patch size 4/);
    expect(() => ops.patchify(x, 0)).toThrow(ValueError);
    expect(() => ops.patchify(x, 1.5)).toThrow(ValueError);
  });
});
