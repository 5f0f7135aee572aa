/**
 * The shared-tile forward (src/ops/conv2d/shared-tiles.ts, shaders/conv2d-shared.wgsl),
 * forced on with `tuning.tiles: 'shared'` (on this software adapter 'auto' keeps the
 * register kernels): forward against the float64 reference on odd shapes (channels and
 * pixels not multiples of the 64 × 64 block or the 16-deep step, strides 1 and 2,
 * dilation, SAME / VALID / explicit padding, batch 2, 1×1 / 3×3 / a 7×7 RGB stem,
 * groups); dX (whose stride phases run the forward table, so this kernel) and dW by
 * central differences through the op; the table rows around it; bad settings.
 */
import { describe, expect, it } from 'vitest';
import { ValueError, ops, valueAndGrad, type Tensor } from '../src/index.js';
import { checkOp, opTest, randArr, toTensor } from './harness.js';
import { refConv2d, refSame, type RefConvOpts } from './ref-conv.js';
import { useGpu } from './setup.js';
import {
  DEFAULT_CONV_TUNING, convAlgorithm, convGeometry, convTiles, convTuning, setConvTuning, type Conv2dOptions, type ConvTuning,
} from '../src/ops/conv2d/index.js';

const { gpu } = useGpu();

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride?: [number, number];
  dilation?: [number, number];
  padding?: 'SAME' | 'VALID' | [[number, number], [number, number]];
  groups?: number;
  /** Also check dX and dW by central differences. */
  grads?: boolean;
}

function refOpts(c: Case): RefConvOpts {
  const stride = c.stride ?? [1, 1];
  const dilation = c.dilation ?? [1, 1];
  const pads: RefConvOpts['pads'] =
    c.padding === 'SAME'
      ? [refSame(c.x[1], c.w[0], stride[0], dilation[0]), refSame(c.x[2], c.w[1], stride[1], dilation[1])]
      : c.padding === undefined || c.padding === 'VALID' ? [[0, 0], [0, 0]] : c.padding;
  return { stride, dilation, pads, groups: c.groups ?? 1 };
}

const SHARED: Partial<ConvTuning> = { tiles: 'shared' };
const optsOf = (c: Case): Conv2dOptions => ({ stride: c.stride, dilation: c.dilation, padding: c.padding, groups: c.groups, tuning: SHARED });

const cases: Case[] = [
  { name: '3×3 SAME stride 1, 5 → 7 channels, batch 2 (a partial block everywhere)', x: [2, 5, 6, 5], w: [3, 3, 5, 7], padding: 'SAME', grads: true },
  { name: '3×3 SAME stride 2, 6 → 9 channels, 7×9 (dX in four stride phases)', x: [1, 7, 9, 6], w: [3, 3, 6, 9], stride: [2, 2], padding: 'SAME', grads: true },
  { name: '3×3 dilation 2, explicit padding [[2, 1], [0, 3]], stride [1, 2]', x: [1, 7, 8, 4], w: [3, 3, 4, 5], stride: [1, 2], dilation: [2, 2], padding: [[2, 1], [0, 3]], grads: true },
  { name: '3×3 VALID, 20 → 12 channels, batch 2 × 9×9 (3 row blocks, K = 180: 12 steps, the last partial)', x: [2, 9, 9, 20], w: [3, 3, 20, 12] },
  { name: '3×3 dilation 2 SAME, 16 → 64 channels on 8×8: M, N and K = 144 exact multiples of the block and step', x: [1, 8, 8, 16], w: [3, 3, 16, 64], dilation: [2, 2], padding: 'SAME' },
  { name: '1×1 stride 2 VALID, 8 → 70 channels (two column blocks)', x: [1, 5, 5, 8], w: [1, 1, 8, 70], stride: [2, 2] },
  { name: '1×1 stride 1 with explicit padding [[1, 0], [0, 1]] (not the pointwise GEMM)', x: [2, 3, 4, 3], w: [1, 1, 3, 5], padding: [[1, 0], [0, 1]], grads: true },
  { name: '7×7 stride 2 SAME stem, 3 → 16 channels, batch 2', x: [2, 11, 13, 3], w: [7, 7, 3, 16], stride: [2, 2], padding: 'SAME' },
  { name: 'grouped: groups 2, 6 → 10 channels, 3×3 SAME', x: [2, 5, 5, 6], w: [3, 3, 3, 10], padding: 'SAME', groups: 2, grads: true },
  { name: 'grouped: groups 3, 1×1 stride 1 (grouped 1×1 is not pointwise)', x: [1, 4, 4, 9], w: [1, 1, 3, 6], groups: 3 },
];

describe('conv2d shared-tile forward vs float64 reference', () => {
  cases.forEach((c, k) => {
    opTest('conv2d', `shared-tiles: ${c.name}`, async () => {
      const g = convGeometry(toTensor(randArr(c.x, 1)), toTensor(randArr(c.w, 2)), optsOf(c));
      expect(convAlgorithm('forward', g, convTuning(SHARED)).name).toBe('shared-tiles');
      await checkOp({
        gpu: (x, w) => ops.conv2d(x, w, optsOf(c)),
        ref: (x, w) => refConv2d(x, w, refOpts(c)),
        inputs: [randArr(c.x, 300 + k), randArr(c.w, 320 + k)],
        wrt: c.grads ? [0, 1] : [],
      });
    });
  });
});

describe('conv2d: the shared-tiles row', () => {
  const geo = (x: number[], w: number[], o: Conv2dOptions = {}) => convGeometry(toTensor(randArr(x, 1)), toTensor(randArr(w, 2)), o);
  const forward = (t: Partial<ConvTuning>, x: number[], w: number[], o: Conv2dOptions = {}) =>
    convAlgorithm('forward', geo(x, w, o), { ...DEFAULT_CONV_TUNING, ...t }).name;

  it("'auto' resolves by adapter (register here, on SwiftShader), and the register rows keep the work", () => {
    expect(gpu().adapter.software).toBe(true);
    expect(convTiles(DEFAULT_CONV_TUNING)).toBe('register');
    expect(convTiles({ ...DEFAULT_CONV_TUNING, tiles: 'shared' })).toBe('shared');
    expect(forward({}, [1, 8, 8, 8], [3, 3, 8, 8], { padding: 'SAME' })).toBe('direct');
    expect(forward({}, [1, 8, 8, 3], [7, 7, 3, 16], { stride: 2, padding: 'SAME' })).toBe('small');
  });

  it('with shared tiles, Winograd, the pointwise GEMM, depthwise and empty convs keep their rows', () => {
    expect(forward(SHARED, [1, 8, 8, 16], [3, 3, 16, 16], { padding: 'SAME' })).toBe('winograd');
    expect(forward({ ...SHARED, winogradMinChannels: 0 }, [1, 8, 8, 16], [3, 3, 16, 16], { padding: 'SAME' })).toBe('shared-tiles');
    expect(forward(SHARED, [1, 8, 8, 16], [1, 1, 16, 32])).toBe('pointwise-gemm');
    expect(forward(SHARED, [1, 8, 8, 4], [3, 3, 1, 4], { groups: 4, padding: 'SAME' })).toBe('depthwise');
    expect(forward(SHARED, [1, 8, 8, 0], [3, 3, 0, 4], { padding: 'SAME' })).toBe('empty');
    expect(forward(SHARED, [1, 8, 8, 3], [7, 7, 3, 16], { stride: 2, padding: 'SAME' })).toBe('shared-tiles');
    expect(forward(SHARED, [1, 8, 8, 5], [3, 3, 5, 8], { stride: 2, padding: 'SAME' })).toBe('shared-tiles');
  });

  it('runs the forward in one dispatch (no padded copy) and dX through it; dW stays on split-K', async () => {
    const c: Case = { name: '', x: [1, 6, 7, 5], w: [3, 3, 5, 6], stride: [2, 2], padding: 'SAME' };
    const x = toTensor(randArr(c.x, 5));
    const w = toTensor(randArr(c.w, 6));
    gpu().profile.start();
    ops.conv2d(x, w, optsOf(c)).dispose();
    const forwardKernels = (await gpu().profile.stop()).kernels;
    expect(forwardKernels.map((k) => [k.kernel, k.calls])).toEqual([['conv2d-shared/forward', 1]]);

    const loss = (a: Tensor, b: Tensor) => ops.sum(ops.conv2d(a, b, optsOf(c)));
    gpu().profile.start();
    const [value, grads] = await valueAndGrad(loss)(x, w);
    const kernels = (await gpu().profile.stop()).kernels;
    const calls = (name: string) => kernels.find((k) => k.kernel === name)?.calls ?? 0;
    // The forward, then dX's four stride phases (3 taps at stride 2: 2 and 1 per axis),
    // each a conv of dy through the forward table: three on this kernel, and the phase
    // with one unpadded tap (row phase 1, column phase 0 here) a pointwise GEMM.
    expect(calls('conv2d-shared/forward')).toBe(4);
    expect(calls('conv2d/scatter_phase')).toBe(4);
    expect(calls('conv2d/dw')).toBe(1); // 5 input channels: the split-K dW's 4×4 kernel
    expect(kernels.filter((k) => k.kernel.startsWith('conv2d/pad_input'))).toEqual([]); // any width
    for (const t of [value, ...grads, x, w]) t.dispose();
  });

  it('refuses a bad tiles setting with a ValueError before any GPU work', () => {
    const x = toTensor(randArr([1, 4, 4, 2], 7));
    const w = toTensor(randArr([3, 3, 2, 8], 8));
    const dispatches = gpu().counters().dispatches;
    expect(() => ops.conv2d(x, w, { tuning: { tiles: 'fast' as 'shared' } })).toThrow(ValueError);
    expect(() => ops.conv2d(x, w, { tuning: { tiles: 'fast' as 'shared' } })).toThrow(/tiles must be 'auto', 'register' or 'shared', .* got .*tiles="fast"/);
    expect(() => setConvTuning({ tiles: 1 as unknown as 'shared' })).toThrow(ValueError);
    expect(gpu().counters().dispatches).toBe(dispatches);
    expect(convTuning().tiles).toBe('auto'); // the refused value left the device's tuning alone
    x.dispose();
    w.dispose();
  });
});
