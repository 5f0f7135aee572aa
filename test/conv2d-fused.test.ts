import { describe, expect, it } from 'vitest';
import { ops, noGrad, valueAndGrad, ShapeError, ValueError, type Tensor } from '../src/index.js';
const { GAMMA } = ops;
import { checkOp, expectClose, opTest, randArr, toTensor } from './harness.js';
import { refConv2d, refSame } from './ref-conv.js';
import * as RN from './ref-nn.js';
import { useGpu } from './setup.js';
import type { Arr } from './ref.js';

const { gpu } = useGpu();

interface FusedCase {
  name: string;
  x: number[];
  w: number[];
  stride?: number;
  groups?: number;
  activation: 'relu' | 'gelu' | 'silu' | 'identity';
  gamma?: number;
  bias: boolean;
  /** The kernel that applies the epilogue on SwiftShader with `subgroups` (else: an activation dispatch follows the conv). */
  fusedIn: string | null;
}

const CASES: FusedCase[] = [
  { name: 'band direct forward, bias + relu (gamma 1)', x: [2, 16, 16, 8], w: [3, 3, 8, 32], activation: 'relu', gamma: 1, bias: true, fusedIn: 'conv2d-band/forward_band' },
  { name: 'band direct forward, 2 groups of 32, stride 2, gelu with its default gamma', x: [2, 30, 26, 16], w: [3, 3, 8, 64], stride: 2, groups: 2, activation: 'gelu', bias: true, fusedIn: 'conv2d-band/forward_band' },
  { name: 'band direct forward, bias alone (identity)', x: [1, 18, 18, 4 * 3], w: [3, 3, 12, 64], activation: 'identity', bias: true, fusedIn: 'conv2d-band/forward_band' },
  { name: 'band direct forward, silu without bias', x: [1, 16, 20, 8], w: [3, 3, 8, 32], activation: 'silu', bias: false, fusedIn: 'conv2d-band/forward_band' },
  { name: 'quad direct forward (a grid too small for the band kernel), stride 2, bias + relu', x: [1, 14, 14, 32], w: [3, 3, 32, 64], stride: 2, activation: 'relu', gamma: 1, bias: true, fusedIn: 'conv2d-quad/forward_quad' },
  { name: 'quad small-channel forward, 1 → 16, bias + silu', x: [4, 12, 11, 1], w: [3, 3, 1, 16], activation: 'silu', bias: true, fusedIn: 'conv2d-small-quad/forward_quad' },
  { name: 'row-run direct forward, 2 groups of 8, bias + gelu', x: [2, 14, 14, 16], w: [3, 3, 8, 16], groups: 2, activation: 'gelu', bias: true, fusedIn: 'conv2d-rows/forward_rows' },
  { name: 'Winograd (no epilogue: the activation kernel follows)', x: [1, 8, 8, 16], w: [3, 3, 16, 16], activation: 'relu', gamma: 1, bias: true, fusedIn: null },
];

function reference(c: FusedCase, x: Arr, w: Arr, b: Arr | undefined): Arr {
  const s = c.stride ?? 1;
  const conv = refConv2d(x, w, { stride: [s, s], pads: [refSame(c.x[1]!, 3, s), refSame(c.x[2]!, 3, s)], groups: c.groups });
  return RN.activation(conv, c.activation, c.gamma ?? GAMMA[c.activation], b);
}

describe('fusedConv2d: gamma · act(conv2d(x, w) + bias)', () => {
  CASES.forEach((c, k) => {
    opTest('fusedConv2d', `${c.name}: matches the float64 reference, in one dispatch where the kernel has the epilogue`, async () => {
      const [xa, wa] = [randArr(c.x, 200 + k), randArr(c.w, 300 + k)];
      const ba = c.bias ? randArr([c.w[3]!], 400 + k) : undefined;
      const [x, w] = [toTensor(xa), toTensor(wa)];
      const b = ba ? toTensor(ba) : undefined;
      const options = { stride: c.stride, groups: c.groups, padding: 'SAME' as const, bias: b, activation: c.activation, gamma: c.gamma };
      gpu().profile.start();
      const y = noGrad(() => ops.fusedConv2d(x, w, options));
      const kernels = (await gpu().profile.stop()).kernels.map((q) => q.kernel);
      const quads = gpu().adapter.software && gpu().features.includes('subgroups');
      if (c.fusedIn && quads) {
        expect(kernels).toContain(c.fusedIn);
        expect(kernels.filter((q) => q.startsWith('activation/'))).toEqual([]);
      } else if (c.activation !== 'identity' || c.bias) {
        expect(kernels.some((q) => q.startsWith('activation/'))).toBe(true);
      }
      expectClose(await y.data(), reference(c, xa, wa, ba), 1e-5, 'forward');
      for (const t of [x, w, y, b]) t?.dispose();
    });
  });

  opTest('fusedConv2d', 'gradients in x, w and bias against central differences of the float64 reference', () =>
    checkOp({
      gpu: (x, w, b) => ops.fusedConv2d(x, w, { stride: 2, padding: 'SAME', bias: b, activation: 'silu' }),
      ref: (x, w, b) => RN.activation(refConv2d(x, w, { stride: [2, 2], pads: [refSame(5, 3, 2), refSame(6, 3, 2)] }), 'silu', GAMMA.silu, b),
      inputs: [randArr([2, 5, 6, 4], 11), randArr([3, 3, 4, 8], 12), randArr([8], 13)],
    }));

  it('while a gradient is recorded it is conv2d then activation: the same values and gradients as those two ops', async () => {
    const [x, w, b] = [toTensor(randArr([2, 16, 16, 8], 1)), toTensor(randArr([3, 3, 8, 32], 2)), toTensor(randArr([32], 3))];
    const r = toTensor(randArr([2, 16, 16, 32], 4));
    const opts = { padding: 'SAME' as const };
    const fused = valueAndGrad((a: Tensor, c: Tensor, d: Tensor) => ops.sum(ops.mul(ops.fusedConv2d(a, c, { ...opts, bias: d, activation: 'gelu' }), r)));
    const plain = valueAndGrad((a: Tensor, c: Tensor, d: Tensor) => ops.sum(ops.mul(ops.activation(ops.conv2d(a, c, opts), { kind: 'gelu', bias: d }), r)));
    const [v1, g1] = await fused(x, w, b);
    const [v2, g2] = await plain(x, w, b);
    expect(await v1.data()).toEqual(await v2.data());
    for (let i = 0; i < 3; i++) expect(await g1[i]!.data()).toEqual(await g2[i]!.data());
    for (const t of [x, w, b, r, v1, v2, ...g1, ...g2]) t.dispose();
  });

  it('refuses bad options with typed errors before any GPU work', () => {
    const x = toTensor(randArr([1, 6, 6, 4], 5));
    const w = toTensor(randArr([3, 3, 4, 8], 6));
    const b = toTensor(randArr([8], 7));
    const before = gpu().counters().dispatches;
    expect(() => ops.fusedConv2d(x, w, { activation: 'relux' as 'relu' })).toThrow(/activation must be one of .*did you mean 'relu'/);
    expect(() => ops.fusedConv2d(x, w, { activation: 'relu', gamma: Number.NaN })).toThrow(ValueError);
    expect(() => ops.fusedConv2d(x, w, { bias: toTensor(randArr([4], 8)) })).toThrow(ShapeError);
    expect(() => ops.fusedConv2d(x, w, { bias: b, biass: b } as never)).toThrow(/did you mean 'bias'/);
    expect(() => ops.fusedConv2d(x, w, { bias: 'b' as unknown as Tensor })).toThrow(ValueError);
    expect(() => ops.fusedConv2d(x, w, { stride: 0, bias: b })).toThrow(ValueError);
    expect(gpu().counters().dispatches).toBe(before);
    for (const t of [x, w, b]) t.dispose();
  });
});

describe('fusedConv2d memory', () => {
  it('leaves nothing behind but its output, fused in the kernel or not (no intermediate conv output is kept)', async () => {
    const cases: [number[], number[]][] = [
      [[1, 8, 8, 16], [3, 3, 16, 16]], // Winograd: the activation kernel follows the conv
      [[2, 16, 16, 8], [3, 3, 8, 32]], // the band kernel applies it
      [[2, 6, 6, 4], [3, 3, 4, 8]], // the register-tiled direct forward: the activation kernel follows
    ];
    for (const [xs, ws] of cases) {
      const [x, w, b] = [toTensor(randArr(xs, 1)), toTensor(randArr(ws, 2)), toTensor(randArr([ws[3]!], 3))];
      await gpu().sync();
      const live = gpu().poolStats().liveBuffers;
      const y = noGrad(() => ops.fusedConv2d(x, w, { padding: 'SAME', bias: b, activation: 'relu' }));
      await gpu().sync();
      expect(gpu().poolStats().liveBuffers - live, `x ${xs.join('×')}`).toBe(1);
      for (const t of [x, w, b, y]) t.dispose();
    }
  });
});
