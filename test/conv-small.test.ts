/**
 * The small-conv forward (src/ops/conv2d/small.ts, shaders/conv2d-small.wgsl and its quad
 * variant shaders/conv2d-small-quad.wgsl): ungrouped convs with 1–4 input channels, against
 * the float64 reference (forward, and dX / dW by central differences through the op), on
 * odd shapes: 7×9 maps, partial column blocks and channel tiles, strides 1 and 2, SAME /
 * VALID / explicit padding, dilation; and the table rows that send work to it (and not).
 */
import { describe, expect, it } from 'vitest';
import { ops, type Tensor } from '../src/index.js';
import { checkOp, opTest, randArr, expectClose, toTensor } from './harness.js';
import { refConv2d, refSame, type RefConvOpts } from './ref-conv.js';
import { useGpu } from './setup.js';
import { DEFAULT_CONV_TUNING, convAlgorithm, convGeometry, convTuning, type Conv2dOptions } from '../src/ops/conv2d/index.js';
import { isSmallConv, smallForward, smallQuadApplies } from '../src/ops/conv2d/small.js';

const { gpu } = useGpu();

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride?: [number, number];
  dilation?: [number, number];
  padding?: 'SAME' | 'VALID' | [[number, number], [number, number]];
}

function refOpts(c: Case): RefConvOpts {
  const stride = c.stride ?? [1, 1];
  const dilation = c.dilation ?? [1, 1];
  const pads: RefConvOpts['pads'] =
    c.padding === 'SAME'
      ? [refSame(c.x[1], c.w[0], stride[0], dilation[0]), refSame(c.x[2], c.w[1], stride[1], dilation[1])]
      : c.padding === undefined || c.padding === 'VALID' ? [[0, 0], [0, 0]] : c.padding;
  return { stride, dilation, pads };
}

const optsOf = (c: Case): Conv2dOptions => ({ stride: c.stride, dilation: c.dilation, padding: c.padding });

// Every case is one the table sends to the small kernel (asserted below).
const cases: Case[] = [
  { name: 'cin 1 → 16, 7×9 SAME stride 1 (a partial 8-column block)', x: [2, 7, 9, 1], w: [3, 3, 1, 16], padding: 'SAME' },
  { name: 'cin 2 → 8, 7×9 SAME stride 2 (4-column blocks)', x: [1, 7, 9, 2], w: [3, 3, 2, 8], stride: [2, 2], padding: 'SAME' },
  { name: 'cin 3 → 16, 7×9 VALID', x: [1, 7, 9, 3], w: [3, 3, 3, 16] },
  { name: 'cin 3 → 12 (a half 8-channel block), explicit padding wider than the filter, stride [2, 1]', x: [1, 7, 9, 3], w: [3, 3, 3, 12], stride: [2, 1], padding: [[3, 0], [1, 2]] },
  { name: 'cin 1 → 20, 5×5 filter, stride 2 = dilation 2, SAME', x: [1, 9, 7, 1], w: [5, 5, 1, 20], stride: [2, 2], dilation: [2, 2], padding: 'SAME' },
  { name: 'cin 4 → 8, 2×3 filter, dilation [1, 2], batch 2', x: [2, 7, 9, 4], w: [2, 3, 4, 8], dilation: [1, 2], padding: 'SAME' },
  { name: 'cin 2 → 16, 7×7 stem filter, stride 2, SAME', x: [1, 9, 9, 2], w: [7, 7, 2, 16], stride: [2, 2], padding: 'SAME' },
  // Column stride 1 and cout a multiple of 16: the quad variant on SwiftShader (checked below).
  { name: 'cin 1 → 32, 7×6 SAME, batch 2 (two 16-channel blocks, each padded to whole quads)', x: [2, 7, 6, 1], w: [3, 3, 1, 32], padding: 'SAME' },
  { name: 'cin 3 → 48, 5×11, stride [2, 1], dilation [2, 1], explicit padding', x: [1, 5, 11, 3], w: [3, 3, 3, 48], stride: [2, 1], dilation: [2, 1], padding: [[2, 1], [0, 3]] },
  { name: 'cin 2 → 16, 7×7 filter, SAME on 9×10 (all seven column taps from one row read)', x: [1, 9, 10, 2], w: [7, 7, 2, 16], padding: 'SAME' },
  { name: 'cin 1 → 16, 1×2 filter, VALID', x: [2, 5, 6, 1], w: [1, 2, 1, 16] },
];

describe('conv2d small-channel kernel vs float64 reference (forward, dx, dw)', () => {
  cases.forEach((c, k) => {
    opTest('conv2d', `small: ${c.name}`, async () => {
      const g = convGeometry(toTensor(randArr(c.x, 1)), toTensor(randArr(c.w, 2)), optsOf(c));
      expect(convAlgorithm('forward', g, DEFAULT_CONV_TUNING).name).toBe('small');
      await checkOp({
        gpu: (x, w) => ops.conv2d(x, w, optsOf(c)),
        ref: (x, w) => refConv2d(x, w, refOpts(c)),
        inputs: [randArr(c.x, 200 + k), randArr(c.w, 220 + k)],
      });
    });
  });

  // A conv down to few channels: its dX stride phases are forward convs of dy (cin' = 3,
  // cout' = 16), which the table sends to the small kernel.
  opTest('conv2d', 'small: cin 16 → 3, stride 2 SAME (dX phases on the small kernel)', async () => {
    const c: Case = { name: '', x: [1, 7, 9, 16], w: [3, 3, 16, 3], stride: [2, 2], padding: 'SAME' };
    await checkOp({
      gpu: (x, w) => ops.conv2d(x, w, optsOf(c)),
      ref: (x, w) => refConv2d(x, w, refOpts(c)),
      inputs: [randArr(c.x, 240), randArr(c.w, 241)],
    });
  });

  it('cout 4 and 28 on the kernel itself (the half block masked at the store) match the reference', async () => {
    const shapes: Case[] = [
      { name: '', x: [2, 7, 9, 3], w: [3, 3, 3, 4], padding: 'SAME' },
      { name: '', x: [1, 7, 9, 1], w: [3, 3, 1, 28], stride: [2, 2], padding: 'SAME' },
    ];
    for (const [k, c] of shapes.entries()) {
      const xa = randArr(c.x, 260 + k);
      const wa = randArr(c.w, 270 + k);
      const [x, w] = [xa, wa].map(toTensor) as [Tensor, Tensor];
      const g = convGeometry(x, w, optsOf(c));
      const y = smallForward(x, w, g, convTuning());
      const want = refConv2d(xa, wa, refOpts(c));
      expect(y.shape).toEqual(want.shape);
      expectClose(await y.data(), want, 1e-5, `forward ${c.w.join('×')}`);
      for (const t of [x, w, y]) t.dispose();
    }
  });
});

describe('conv2d: the table rows around the small kernel', () => {
  const geo = (x: number[], w: number[], o: Conv2dOptions = {}) => convGeometry(toTensor(randArr(x, 1)), toTensor(randArr(w, 2)), o);
  const forward = (x: number[], w: number[], o: Conv2dOptions = {}) => convAlgorithm('forward', geo(x, w, o), DEFAULT_CONV_TUNING).name;

  it('takes 1–4 input and ≥ 8 output channels (a multiple of 4), ungrouped, filters up to 7×7; the other rows keep the rest', () => {
    expect(forward([32, 28, 28, 1], [3, 3, 1, 16], { padding: 'SAME' })).toBe('small'); // the small net's first conv
    expect(forward([1, 28, 28, 3], [3, 3, 3, 16], { stride: 2, padding: 'SAME' })).toBe('small'); // an RGB stem
    expect(forward([1, 8, 8, 4], [7, 7, 4, 8], { padding: 'SAME' })).toBe('small');
    expect(forward([1, 8, 8, 5], [3, 3, 5, 16], { padding: 'SAME' })).toBe('direct'); // 5 input channels
    expect(forward([1, 8, 8, 3], [3, 3, 3, 5], { padding: 'SAME' })).toBe('direct'); // 5 output channels
    expect(forward([1, 8, 8, 1], [3, 3, 1, 18], { padding: 'SAME' })).toBe('direct'); // not a multiple of 4
    expect(forward([1, 8, 8, 4], [3, 3, 2, 16], { groups: 2, padding: 'SAME' })).toBe('direct'); // grouped
    expect(forward([1, 8, 8, 2], [3, 3, 1, 2], { groups: 2, padding: 'SAME' })).toBe('depthwise');
    expect(forward([1, 12, 12, 1], [9, 9, 1, 8])).toBe('direct'); // a filter wider than 7
    expect(forward([1, 8, 8, 16], [3, 3, 16, 16], { padding: 'SAME' })).toBe('winograd');
    expect(isSmallConv(geo([0, 8, 8, 1], [3, 3, 1, 16], { padding: 'SAME' }))).toBe(false); // nothing to compute
  });

  it('runs one dispatch (no padded copy of the input): the quad variant at column stride and dilation 1 with cout a multiple of 16, on SwiftShader', async () => {
    const x = toTensor(randArr([2, 7, 9, 1], 3));
    const quad = gpu().adapter.software && gpu().features.includes('subgroups');
    const cases = [
      [16, 1, quad ? 'conv2d-small-quad/forward_quad' : 'conv2d-small/forward'],
      [24, 1, 'conv2d-small/forward'], // not whole 16-channel blocks
      [16, 2, 'conv2d-small/forward'], // strided columns
      [16, [1, 2], 'conv2d-small/forward'], // dilated columns
    ] as const;
    for (const [cout, s, kernel] of cases) {
      const o: Conv2dOptions = typeof s === 'number' ? { padding: 'SAME', stride: s } : { padding: 'SAME', dilation: [s[0], s[1]] };
      const w = toTensor(randArr([3, 3, 1, cout], 4));
      expect(smallQuadApplies(convGeometry(x, w, o), DEFAULT_CONV_TUNING.wg)).toBe(kernel === 'conv2d-small-quad/forward_quad');
      gpu().profile.start();
      ops.conv2d(x, w, o).dispose();
      const kernels = (await gpu().profile.stop()).kernels;
      expect(kernels.map((k) => [k.kernel, k.calls])).toEqual([[kernel, 1]]);
      w.dispose();
    }
    x.dispose();
  });
});
