import { describe, expect, it } from 'vitest';
import { ops, tensor, ShapeError, ValueError } from '../src/index.js';
import { setLayerNormLanes } from '../src/ops/layer-norm.js';
import { checkOp, expectClose, opTest, randArr, toTensor } from './harness.js';
import * as T from './ref-transformer.js';
import { useGpu } from './setup.js';

useGpu();

describe('layerNorm vs float64 reference (forward, dx, dweight, dbias)', () => {
  // [2, 3, 5]: odd rows and columns; [7, 3]: C = 3; [40, 9]: the per-column pass in chunks
  // (4096 / 9 columns → 40 rows in chunks of 32). C = 8 and 12: the vec4 path (C % 4 == 0),
  // [70, 12] with its per-column pass in chunks (3 vec4 columns → chunks of 32 rows).
  for (const shape of [[2, 3, 5], [7, 3], [40, 9], [1, 1], [3, 8], [70, 12], [1, 4]]) {
    opTest('layerNorm', `${JSON.stringify(shape)}, weight and bias ≠ 1, 0`, () => {
      const c = shape[shape.length - 1]!;
      return checkOp({
        gpu: (x, w, b) => ops.layerNorm(x, w, b),
        ref: (x, w, b) => T.layerNorm(x, w, b),
        inputs: [randArr(shape, 1, -2, 2), randArr([c], 2, 0.5, 1.5), randArr([c], 3)],
        // C = 1: x̂ = 0 and var + eps = 1e-6, so the reference's differences divide by ~1e-3.
        ...(c === 1 ? { gradTol: 1e-3 } : {}),
      });
    });
  }

  opTest('layerNorm', 'custom eps, rows shifted by a large common offset', () => {
    const x = randArr([3, 6], 4, 99, 101);
    return checkOp({
      gpu: (x, w, b) => ops.layerNorm(x, w, b, { eps: 0.1 }),
      ref: (x, w, b) => T.layerNorm(x, w, b, 0.1),
      inputs: [x, randArr([6], 5, 0.5, 1.5), randArr([6], 6)],
      fwdTol: 1e-4,
      gradTol: 1e-3,
      h: 1e-5,
    });
  });

  // The lane-parallel path (what a GPU runs), forced on the software adapter: 4 and 64
  // lanes per row, with rows shorter than the lanes (C = 5 < 64) and a partial last workgroup.
  for (const lanes of [4, 64]) {
    opTest('layerNorm', `${lanes} lanes per row (parallel row reduction)`, async () => {
      const prev = setLayerNormLanes(lanes);
      try {
        await checkOp({
          gpu: (x, w, b) => ops.layerNorm(x, w, b),
          ref: (x, w, b) => T.layerNorm(x, w, b),
          inputs: [randArr([3, 5, 5], 7, -2, 2), randArr([5], 8, 0.5, 1.5), randArr([5], 9)],
        });
        await checkOp({
          gpu: (x, w, b) => ops.layerNorm(x, w, b),
          ref: (x, w, b) => T.layerNorm(x, w, b),
          inputs: [randArr([5, 12], 14, -2, 2), randArr([12], 15, 0.5, 1.5), randArr([12], 16)],
        });
        // A row of 200 (longer than the lanes, not a multiple of them).
        const x = randArr([3, 200], 10, -3, 3);
        const w = randArr([200], 11);
        const b = randArr([200], 12);
        expectClose(await ops.layerNorm(toTensor(x), toTensor(w), toTensor(b)).data(), T.layerNorm(x, w, b), 1e-5);
      } finally {
        setLayerNormLanes(prev);
      }
    });
  }

  it('rows come out with mean 0 and variance var/(var + eps) (weight 1, bias 0)', async () => {
    const x = randArr([4, 192], 13, -1, 3);
    const y = await ops.layerNorm(toTensor(x), tensor(new Float32Array(192).fill(1), [192]), tensor(new Float32Array(192), [192])).data();
    for (let r = 0; r < 4; r++) {
      const row = Array.from(y.slice(r * 192, (r + 1) * 192));
      const mean = row.reduce((a, b) => a + b, 0) / 192;
      const v = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 192;
      expect(Math.abs(mean)).toBeLessThan(1e-6);
      expect(v).toBeCloseTo(1, 4);
    }
  });

  it('rejects mismatched weight/bias, a rank-0 x, bad eps and unknown options before GPU work', () => {
    const x = tensor(new Float32Array(12), [3, 4]);
    const w = tensor(new Float32Array(4), [4]);
    expect(() => ops.layerNorm(x, tensor(new Float32Array(3), [3]), w)).toThrow(ShapeError);
    expect(() => ops.layerNorm(x, w, tensor(new Float32Array(4), [1, 4]))).toThrow(ShapeError);
    expect(() => ops.layerNorm(tensor([1], []), tensor([1], [1]), tensor([1], [1]))).toThrow(ShapeError);
    expect(() => ops.layerNorm(x, w, w, { eps: 0 })).toThrow(ValueError);
    expect(() => ops.layerNorm(x, w, w, { eps: Number.NaN })).toThrow(ValueError);
    expect(() => ops.layerNorm(x, w, w, { esp: 1e-5 } as never)).toThrow(/did you mean 'eps'/);
    expect(() => setLayerNormLanes(3)).toThrow(ValueError);
  });
});
