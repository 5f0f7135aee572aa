import { describe, expect } from 'vitest';
import { ops, tensor, ShapeError, ValueError } from '../src/index.js';
import { GAMMA, type ActivationKind } from '../src/ops/activation.js';
import * as N from './ref-nn.js';
import { arr } from './ref.js';
import { checkOp, gradsOf, opTest, randArr, toTensor } from './harness.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

const KINDS = Object.keys(GAMMA) as ActivationKind[];

describe('gamma-scaled activations', () => {
  for (const kind of KINDS) {
    opTest('activation', `${kind}: default gamma, odd size [3, 5]`, () =>
      checkOp({
        gpu: (x) => ops.activation(x, { kind }),
        ref: (x) => N.activation(x, kind, GAMMA[kind]),
        inputs: [randArr([3, 5], 11, -3, 3)],
      }));
    opTest('activation', `${kind}: fused per-channel bias on NHWC [2, 3, 3, 4], dx and dbias`, () =>
      checkOp({
        gpu: (x, b) => ops.activation(x, { kind, bias: b }),
        ref: (x, b) => N.activation(x, kind, GAMMA[kind], b),
        inputs: [randArr([2, 3, 3, 4], 12, -2, 2), randArr([4], 13)],
        gradTol: 2e-4,
      }));
    // Multiples of 16 take the mat4x4 entries (act_forward16 / act_backward16).
    opTest('activation', `${kind}: 16 elements per access, unbiased [5, 16] and biased over 16 channels`, async () => {
      await checkOp({ gpu: (x) => ops.activation(x, { kind }), ref: (x) => N.activation(x, kind, GAMMA[kind]), inputs: [randArr([5, 16], 18, -3, 3)] });
      await checkOp({
        gpu: (x, b) => ops.activation(x, { kind, bias: b }),
        ref: (x, b) => N.activation(x, kind, GAMMA[kind], b),
        inputs: [randArr([2, 3, 3, 16], 19, -2, 2), randArr([16], 20)],
        gradTol: 2e-4,
      });
    });
  }

  opTest('activation', 'fused bias over 32 channels, 16 per access (channels 0 and 16), two workgroups, on the mat4x4 entries', async () => {
    await checkOp({
      gpu: (x, b) => ops.activation(x, { kind: 'gelu', bias: b }),
      ref: (x, b) => N.activation(x, 'gelu', GAMMA.gelu, b),
      inputs: [randArr([2, 9, 9, 32], 21, -2, 2), randArr([32], 22)],
      gradTol: 2e-4,
    });
    const t = (shape: number[], seed: number) => toTensor(randArr(shape, seed));
    const [x, b, x8, b8] = [t([2, 9, 9, 32], 21), t([32], 22), t([4, 8], 23), t([8], 24)];
    gpu().profile.start();
    ops.activation(x, { kind: 'relu', bias: b }).dispose();
    ops.activation(x8, { kind: 'relu', bias: b8 }).dispose(); // 32 elements, but a bias of 8 channels: four per access
    expect((await gpu().profile.stop()).kernels.map((k) => k.kernel).sort()).toEqual(['activation/act_forward', 'activation/act_forward16']);
    for (const v of [x, b, x8, b8]) v.dispose();
  });

  opTest('activation', 'fused bias over 12 channels (four per invocation start at channel 0, 4, 8), two workgroups', () =>
    checkOp({
      gpu: (x, b) => ops.activation(x, { kind: 'gelu', bias: b }),
      ref: (x, b) => N.activation(x, 'gelu', GAMMA.gelu, b),
      inputs: [randArr([2, 9, 9, 12], 16, -2, 2), randArr([12], 17)],
      gradTol: 2e-4,
    }));

  opTest('activation', 'explicit gamma overrides the table; 1×1 spatial, batch 1, one channel', () =>
    checkOp({
      gpu: (x, b) => ops.activation(x, { kind: 'silu', gamma: 0.5, bias: b }),
      ref: (x, b) => N.activation(x, 'silu', 0.5, b),
      inputs: [randArr([1, 1, 1, 1], 14), randArr([1], 15)],
    }));

  opTest('activation', 'saturating inputs of ±1e4 stay finite (no inf/inf NaN) with exact gradients', async () => {
    const big = arr([6], [1e4, -1e4, 80, -80, 0, 1e-3]);
    for (const kind of ['gelu', 'gelu_erf', 'silu', 'tanh', 'sigmoid'] as const) {
      const y = await ops.activation(tensor(Float32Array.from(big.data), [6]), { kind }).data();
      const want = N.activation(big, kind, GAMMA[kind]).data;
      y.forEach((v, i) => expect(Math.abs(v - want[i]!), `${kind}(${big.data[i]})`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want[i]!))));
      const [dx] = await gradsOf((x) => ops.activation(x, { kind }), [big]);
      for (const v of dx!) expect(Number.isFinite(v), `${kind}' finite`).toBe(true);
    }
  });

  opTest('activation', 'gelu_erf: the exact form over [-9, 9], far tail included, and its distance from the tanh form', async () => {
    const xs = arr([13], [-9, -6, -4, -3, -2, -1, -0.5, 0, 0.5, 1, 2, 4, 9]);
    const y = await ops.activation(tensor(Float32Array.from(xs.data), [13]), { kind: 'gelu_erf', gamma: 1 }).data();
    const want = N.activation(xs, 'gelu_erf', 1).data;
    // Relative error everywhere, the tail (−9·Φ(−9) ≈ −1e-18) included: Φ is taken from its
    // small side. 1e-6 over [−4, 9]; 2e-5 beyond, where exp(−z²/2 − …) of an f32 argument near
    // −42 carries its rounding (7e-6 measured at −9).
    y.forEach((v, i) => {
      const tol = (xs.data[i]! < -4 ? 2e-5 : 1e-6) * Math.abs(want[i]!) + 1e-30;
      expect(Math.abs(v - want[i]!), `gelu_erf(${xs.data[i]})`).toBeLessThanOrEqual(tol);
    });
    expect(want[5]).toBeCloseTo(-0.15865525393145707, 14); // −Φ(−1), a tabulated value
    const tanhForm = N.activation(xs, 'gelu', 1).data;
    const gap = Math.max(...want.map((v, i) => Math.abs(v - tanhForm[i]!)));
    expect(gap).toBeGreaterThan(1e-4); // the two forms are not interchangeable at 1e-4
    expect(gap).toBeLessThan(1e-3);
  });

  opTest('activation', "relu'(0) = 0 (pinned at the kink, as the plain relu op)", async () => {
    const [dx] = await gradsOf((x) => ops.activation(x, { kind: 'relu', gamma: 1 }), [arr([3], [-1, 0, 1])]);
    expect(Array.from(dx!)).toEqual([0, 0, 1]);
  });

  opTest('activation', 'bad kind, bias shape and gamma are rejected before GPU work', () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    expect(() => ops.activation(x, { kind: 'swish' as ActivationKind })).toThrow(ValueError);
    expect(() => ops.activation(x, { kind: 'relu', bias: tensor(new Float32Array(2), [2]) })).toThrow(ShapeError);
    expect(() => ops.activation(x, { kind: 'relu', gamma: Number.NaN })).toThrow(ValueError);
  });
});
