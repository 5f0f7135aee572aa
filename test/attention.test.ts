import { describe, expect, it } from 'vitest';
import { ops, tensor, noGrad, LimitError, ShapeError, ValueError } from '../src/index.js';
import { checkOp, expectClose, opTest, randArr, toTensor } from './harness.js';
import * as T from './ref-transformer.js';
import { useGpu } from './setup.js';

useGpu();

describe('attention vs float64 reference (forward, dq, dk, dv)', () => {
  // P is [2, 2, 5, 5], 100 values: the softmax backward's masked-vec4 path, rows of 5
  // straddling vec4s (the cross and T = 33 cases below take its scalar path).
  opTest('attention', 'batch 2, heads 2, T = 5, d = 3, default scale d^-½', () =>
    checkOp({
      gpu: (q, k, v) => ops.attention(q, k, v),
      ref: (q, k, v) => T.attention(q, k, v, 1 / Math.sqrt(3)),
      inputs: [randArr([2, 2, 5, 3], 1, -2, 2), randArr([2, 2, 5, 3], 2, -2, 2), randArr([2, 2, 5, 3], 3)],
    }));

  opTest('attention', 'cross-attention shapes: T = 3 queries over S = 6 keys, d = 4, dv = 5, scale 0.7', () =>
    checkOp({
      gpu: (q, k, v) => ops.attention(q, k, v, { scale: 0.7 }),
      ref: (q, k, v) => T.attention(q, k, v, 0.7),
      inputs: [randArr([1, 3, 3, 4], 4, -2, 2), randArr([1, 3, 6, 4], 5, -2, 2), randArr([1, 3, 6, 5], 6)],
    }));

  opTest('attention', 'T = 33, d = 8 (vec4 loads and the quad GEMM), gradient to q and v only', () =>
    checkOp({
      gpu: (q, k, v) => ops.attention(q, k, v),
      ref: (q, k, v) => T.attention(q, k, v, 1 / Math.sqrt(8)),
      inputs: [randArr([1, 2, 33, 8], 7, -1, 1), randArr([1, 2, 33, 8], 8, -1, 1), randArr([1, 2, 33, 8], 9)],
      wrt: [0, 2],
      gradTol: 2e-4,
    }));

  it('a single token attends to itself: the output is v', async () => {
    const v = randArr([2, 1, 1, 3], 10);
    const out = await noGrad(() => ops.attention(toTensor(randArr([2, 1, 1, 3], 11)), toTensor(randArr([2, 1, 1, 3], 12)), toTensor(v))).data();
    expectClose(out, v, 1e-6);
  });

  it('large logits stay finite and right (softmax subtracts the row max)', async () => {
    // Logits ~3000–7000 that differ by thousands between rows.
    const qa = randArr([1, 4, 5, 2], 13, 40, 60);
    const va = randArr([1, 4, 5, 2], 14);
    const out = await ops.attention(toTensor(qa), toTensor(qa), toTensor(va), { scale: 1 }).data();
    expect(out.every(Number.isFinite)).toBe(true);
    expectClose(out, T.attention(qa, qa, va, 1), 1e-3);
  });

  it('rejects wrong ranks, mismatched shapes, a bad scale and unknown options before GPU work', () => {
    const t = (shape: number[]) => tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    const q = t([1, 2, 3, 4]);
    expect(() => ops.attention(t([2, 3, 4]), q, q)).toThrow(ShapeError);
    expect(() => ops.attention(q, t([1, 2, 3, 5]), q)).toThrow(/same dim/);
    expect(() => ops.attention(q, q, t([1, 2, 4, 4]))).toThrow(/same number of tokens/);
    expect(() => ops.attention(q, t([1, 3, 3, 4]), t([1, 3, 3, 4]))).toThrow(/batch and heads/);
    expect(() => ops.attention(q, q, q, { scale: Number.POSITIVE_INFINITY })).toThrow(ValueError);
    expect(() => ops.attention(q, q, q, { scal: 1 } as never)).toThrow(/did you mean 'scale'/);
    // 32768 tokens: the [1, 1, 32768, 32768] probabilities (4 GiB) exceed any binding limit.
    const long = t([1, 1, 32768, 1]);
    expect(() => ops.attention(long, long, long)).toThrow(LimitError);
  });
});
