import { describe, expect, it } from 'vitest';
import { ops, tensor, noGrad, ShapeError, ValueError } from '../src/index.js';
import { checkOp, opTest, randArr, expectClose, toTensor } from './harness.js';
import { refConv2d, refSame, refWeightStandardize, refWeightStandardizeTimm } from './ref-conv.js';
import type { Arr } from './ref.js';
import * as RN from './ref-nn.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

describe('weightStandardize vs float64 reference (forward, dW, dgain)', () => {
  opTest('weightStandardize', '3×3 HWIO weight, gain ≠ 1', () =>
    checkOp({
      gpu: (w, g) => ops.weightStandardize(w, g),
      ref: (w, g) => refWeightStandardize(w, g),
      inputs: [randArr([3, 3, 2, 5], 1), randArr([5], 2, 0.5, 1.5)],
    }));
  opTest('weightStandardize', '1×1 weight with a large mean', () =>
    checkOp({
      gpu: (w, g) => ops.weightStandardize(w, g),
      ref: (w, g) => refWeightStandardize(w, g),
      inputs: [randArr([1, 1, 6, 3], 3, 4, 6), randArr([3], 4, -1, 1)],
      fwdTol: 1e-4,
      gradTol: 1e-3,
    }));
  it('one-pass statistics hold against a large common offset and an outlier in the first row (fan-in 1152)', async () => {
    // Column 0: 1000 ± 0.01 (the shift by the first element removes the offset); column 1:
    // an outlier of 50 in row 0 over values ± 1e-3 (the shift is far from the mean).
    const r = 1152;
    const w = randArr([3, 3, 128, 2], 11, -1, 1);
    for (let i = 0; i < r; i++) {
      w.data[2 * i] = 1000 + 0.01 * w.data[2 * i]!;
      w.data[2 * i + 1] = i === 0 ? 50 : 1e-3 * w.data[2 * i + 1]!;
    }
    const g = randArr([2], 12, 0.5, 1.5);
    const got = await ops.weightStandardize(toTensor(w), toTensor(g)).data();
    // 4.0e-4 measured, the same as the earlier two-pass kernel (f32 holds 1000 ± 0.01 to ~6e-5).
    expectClose(got, refWeightStandardize(w, g).data, 1e-3, 'Ŵ');
  });
  opTest('weightStandardize', 'eps clamp: a nearly constant column takes the constant-scale branch', () => {
    // Column 0 has N·var ≈ 4e-6 < eps = 1e-4; column 1 is ordinary.
    const w = randArr([2, 2, 1, 2], 5);
    for (let i = 0; i < 4; i++) w.data[i * 2] = 0.3 + 1e-3 * (i - 1.5);
    return checkOp({
      gpu: (w, g) => ops.weightStandardize(w, g),
      ref: (w, g) => refWeightStandardize(w, g),
      inputs: [w, randArr([2], 6, 0.5, 1.5)],
      h: 1e-7,
    });
  });
  opTest('weightStandardize', 'custom eps', () =>
    checkOp({
      gpu: (w, g) => ops.weightStandardize(w, g, { eps: 0.5 }),
      ref: (w, g) => refWeightStandardize(w, g, 0.5),
      inputs: [randArr([3, 1, 1, 4], 7, -0.2, 0.2), randArr([4], 8)],
    }));
  it('a NaN weight poisons its own output channel (reported, not hidden), both forms; the other channels stay exact', async () => {
    for (const form of ['reference', 'timm'] as const) {
      const w = Float32Array.from(randArr([3, 3, 2, 4], 71).data);
      w[2 * 4 + 1] = NaN; // an element of output channel 1
      const y = await ops.weightStandardize(tensor(w, [3, 3, 2, 4]), tensor(new Float32Array(4).fill(1), [4]), { form }).data();
      for (let i = 0; i < y.length; i++) expect(Number.isNaN(y[i]!), `${form}: element ${i} (channel ${i % 4})`).toBe(i % 4 === 1);
    }
  });

  it('rejects a gain of the wrong shape, a bad eps, form and scale', () => {
    const w = tensor(new Float32Array(12), [1, 1, 3, 4]);
    const g = tensor(new Float32Array(4), [4]);
    expect(() => ops.weightStandardize(w, tensor(new Float32Array(3), [3]))).toThrow(ShapeError);
    expect(() => ops.weightStandardize(w, g, { eps: 0 })).toThrow(ValueError);
    expect(() => ops.weightStandardize(w, g, { form: 'torch' as 'timm' })).toThrow(ValueError);
    expect(() => ops.weightStandardize(w, g, { form: 'timm', scale: Number.NaN })).toThrow(ValueError);
  });
  it('output columns have zero mean and N·var = gain² (NFNet invariant)', async () => {
    const w = toTensor(randArr([3, 3, 4, 6], 9));
    const g = toTensor(randArr([6], 10, 1, 2));
    const y = Float64Array.from(await noGrad(() => ops.weightStandardize(w, g)).data());
    const gains = await g.data();
    for (let c = 0; c < 6; c++) {
      let s = 0;
      let q = 0;
      for (let i = 0; i < 36; i++) s += y[i * 6 + c]!;
      for (let i = 0; i < 36; i++) q += y[i * 6 + c]! ** 2;
      expect(Math.abs(s)).toBeLessThan(1e-5);
      expect(q).toBeCloseTo(gains[c]! ** 2, 4);
    }
  });
});

describe("weightStandardize, timm's form: N^-½·(W − mean)/sqrt(var + eps)·gain·scale", () => {
  opTest('weightStandardize', 'timm form, default eps 1e-5, 3×3 HWIO at init scale (var ≈ 1/N)', () =>
    checkOp({
      gpu: (w, g) => ops.weightStandardize(w, g, { form: 'timm' }),
      ref: (w, g) => refWeightStandardizeTimm(w, g, 1e-5),
      inputs: [randArr([3, 3, 4, 5], 21, -0.3, 0.3), randArr([5], 22, 0.5, 1.5)],
    }));
  opTest('weightStandardize', 'timm form with gamma folded into the scale (relu γ), 7×7 stem-like weight, gain < 0', () =>
    checkOp({
      gpu: (w, g) => ops.weightStandardize(w, g, { form: 'timm', scale: 1.7139588594436646 }),
      ref: (w, g) => refWeightStandardizeTimm(w, g, 1e-5, 1.7139588594436646),
      inputs: [randArr([7, 7, 1, 3], 23, -0.2, 0.2), randArr([3], 24, -1.5, 1.5)],
    }));
  opTest('weightStandardize', 'timm form, a nearly constant column: eps dominates, never clamps (gradient stays the full one)', () => {
    const w = randArr([2, 2, 1, 2], 25);
    for (let i = 0; i < 4; i++) w.data[i * 2] = 0.3 + 1e-3 * (i - 1.5);
    return checkOp({
      gpu: (w, g) => ops.weightStandardize(w, g, { form: 'timm', eps: 1e-5 }),
      ref: (w, g) => refWeightStandardizeTimm(w, g, 1e-5),
      inputs: [w, randArr([2], 26, 0.5, 1.5)],
      h: 1e-7,
      gradTol: 2e-3,
    });
  });
  it('timm and reference forms differ by (1 + eps·N)^-½ at init scale, as DESIGN.md states', async () => {
    const w = randArr([3, 3, 64, 4], 27, -1, 1);
    for (let i = 0; i < w.data.length; i++) w.data[i] = w.data[i]! * Math.sqrt(3 / 576); // var ≈ 1/N
    const g = randArr([4], 28, 1, 1);
    const timm = await ops.weightStandardize(toTensor(w), toTensor(g), { form: 'timm' }).data();
    const ref = await ops.weightStandardize(toTensor(w), toTensor(g)).data();
    const want = refWeightStandardizeTimm(w, g);
    expectClose(timm, want.data, 1e-5, 'timm Ŵ');
    const ratio = timm[0]! / ref[0]!;
    const variance = (c: number) => {
      const col = Array.from({ length: 576 }, (_, i) => w.data[i * 4 + c]!);
      const m = col.reduce((a, b) => a + b, 0) / 576;
      return col.reduce((a, b) => a + (b - m) ** 2, 0) / 576;
    };
    expect(ratio).toBeCloseTo(Math.sqrt(variance(0) / (variance(0) + 1e-5)), 5);
    expect(1 - ratio).toBeGreaterThan(2e-3); // a visible 0.3–0.8% per layer, not a near-constant-filter corner
  });
});

describe('wsConv2d', () => {
  opTest('weightStandardize', "wsConv2d with timm's form and symmetric padding: forward and gradients for x, w and gain", () => {
    const ref = (x: Arr, w: Arr, g: Arr) => refConv2d(x, refWeightStandardizeTimm(w, g, 1e-5, 1.5), { stride: [2, 2], pads: [[1, 1], [1, 1]] });
    return checkOp({
      gpu: (x, w, g) => ops.wsConv2d(x, w, g, { stride: 2, padding: [[1, 1], [1, 1]], form: 'timm', scale: 1.5 }),
      ref,
      inputs: [randArr([1, 6, 5, 2], 31), randArr([3, 3, 2, 3], 32, -0.5, 0.5), randArr([3], 33, 0.5, 1.5)],
    });
  });
  opTest('weightStandardize', 'wsConv2d = conv2d(x, Ŵ): forward and gradients for x, w and gain', () => {
    const ref = (x: Arr, w: Arr, g: Arr) => refConv2d(x, refWeightStandardize(w, g), { stride: [2, 2], pads: [refSame(6, 3, 2), refSame(6, 3, 2)], groups: 2 });
    return checkOp({
      gpu: (x, w, g) => ops.wsConv2d(x, w, g, { stride: 2, padding: 'SAME', groups: 2 }),
      ref,
      inputs: [randArr([1, 6, 6, 4], 11), randArr([3, 3, 2, 6], 12), randArr([6], 13, 0.5, 1.5)],
    });
  });
  opTest('weightStandardize', 'wsConv2d with bias and activation = γ·gelu(conv2d(x, Ŵ) + b): forward and gradients for x, w, gain and bias', () => {
    const ref = (x: Arr, w: Arr, g: Arr, b: Arr) =>
      RN.activation(refConv2d(x, refWeightStandardize(w, g), { pads: [refSame(5, 3, 1), refSame(5, 3, 1)], groups: 2 }), 'gelu', 1.25, b);
    return checkOp({
      gpu: (x, w, g, b) => ops.wsConv2d(x, w, g, { padding: 'SAME', groups: 2, bias: b, activation: 'gelu', gamma: 1.25 }),
      ref,
      inputs: [randArr([2, 5, 5, 16], 41), randArr([3, 3, 8, 16], 42), randArr([16], 43, 0.5, 1.5), randArr([16], 44)],
    });
  });
  opTest('weightStandardize', 'wsConv2d with a bias alone (identity): forward and gradients for x, w, gain and bias', () => {
    const ref = (x: Arr, w: Arr, g: Arr, b: Arr) => RN.activation(refConv2d(x, refWeightStandardize(w, g)), 'identity', 1, b);
    return checkOp({
      gpu: (x, w, g, b) => ops.wsConv2d(x, w, g, { bias: b }),
      ref,
      inputs: [randArr([1, 4, 4, 4], 45), randArr([1, 1, 4, 8], 46), randArr([8], 47, 0.5, 1.5), randArr([8], 48)],
    });
  });
  it("refuses a bad epilogue (bias shape, activation, gamma) with typed errors before any GPU work", () => {
    const x = toTensor(randArr([1, 4, 4, 2], 14));
    const w = toTensor(randArr([3, 3, 2, 3], 15));
    const g = toTensor(randArr([3], 16));
    const bad = toTensor(randArr([4], 17));
    const before = gpu().counters().dispatches;
    expect(() => ops.wsConv2d(x, w, g, { bias: bad })).toThrow(ShapeError);
    expect(() => ops.wsConv2d(x, w, g, { activation: 'swish' as never })).toThrow(/wsConv2d: activation/);
    expect(() => ops.wsConv2d(x, w, g, { activation: 'relu', gamma: Number.NaN })).toThrow(ValueError);
    expect(() => ops.wsConv2d(x, w, g, { bias: g, activaton: 'relu' } as never)).toThrow(/activation/);
    expect(gpu().counters().dispatches).toBe(before);
    for (const t of [x, w, g, bad]) t.dispose();
  });
  it('outside a gradient the temporary Ŵ is freed', async () => {
    const x = toTensor(randArr([1, 4, 4, 2], 14));
    const w = toTensor(randArr([3, 3, 2, 3], 15));
    const g = toTensor(randArr([3], 16));
    await gpu().sync();
    const before = gpu().poolStats().liveBuffers;
    const y = ops.wsConv2d(x, w, g, { padding: 'SAME' });
    await gpu().sync();
    expect(gpu().poolStats().liveBuffers, 'only y stays live').toBe(before + 1);
    const want = refConv2d(randArr([1, 4, 4, 2], 14), refWeightStandardize(randArr([3, 3, 2, 3], 15), randArr([3], 16)), { pads: [[1, 1], [1, 1]] });
    expectClose(await y.data(), want, 1e-5);
  });
});
