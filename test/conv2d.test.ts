import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ops, tensor, valueAndGrad, ShapeError, ValueError, type Tensor } from '../src/index.js';
import { checkOp, opTest, randArr, expectClose, toTensor } from './harness.js';
import { refConv2d, refConv2dDw, refConv2dDx, refSame, type RefConvOpts } from './ref-conv.js';
import { useGpu } from './setup.js';
import * as R from './ref.js';
import { DEFAULT_CONV_TUNING, convAlgorithm, convDw, convGeometry, convTuning, setConvTuning, usesWinograd, type ConvPass, type ConvTuning } from '../src/ops/conv2d/index.js';
import { pointwiseDwSplits } from '../src/ops/conv2d/pointwise.js';
import { dwTaps, dwTapsApplies, tiledDw } from '../src/ops/conv2d/split-k-dw.js';
import { tileWorkgroupSize } from '../src/ops/conv2d/shared.js';
import { directBandApplies, directQuadApplies, directRowsApplies, rowRun, MIN_BAND_QUADS } from '../src/ops/conv2d/direct.js';
import { smallQuadApplies } from '../src/ops/conv2d/small.js';

const { gpu } = useGpu();

interface Case {
  name: string;
  x: number[];
  w: number[];
  stride?: number | [number, number];
  padding?: 'SAME' | 'VALID' | [[number, number], [number, number]];
  groups?: number;
  dilation?: number;
}

const pairOf = (v: number | [number, number] | undefined): [number, number] => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);

function refOpts(c: Case): RefConvOpts {
  const stride = pairOf(c.stride);
  const dilation = pairOf(c.dilation);
  const pads: RefConvOpts['pads'] =
    c.padding === 'SAME'
      ? [refSame(c.x[1]!, c.w[0]!, stride[0], dilation[0]), refSame(c.x[2]!, c.w[1]!, stride[1], dilation[1])]
      : c.padding === undefined || c.padding === 'VALID' ? [[0, 0], [0, 0]] : c.padding;
  return { stride, dilation, pads, groups: c.groups };
}

const cases: Case[] = [
  { name: '1×1, batch 1 (pointwise: on the GEMM core)', x: [1, 3, 3, 4], w: [1, 1, 4, 5] },
  { name: '1×1, batch 2, vec4 channels (pointwise: on the GEMM core)', x: [2, 3, 5, 8], w: [1, 1, 8, 12] },
  { name: '1×1, cin 16 → cout 36 (pointwise dW on the quad GEMM, a partial band)', x: [2, 3, 3, 16], w: [1, 1, 16, 36] },
  { name: '3×3 SAME stride 1, batch 2, cout 6 (not a tile multiple)', x: [2, 4, 5, 4], w: [3, 3, 4, 6], padding: 'SAME' },
  { name: '3×3 SAME stride 2 on odd 5×5', x: [1, 5, 5, 4], w: [3, 3, 4, 4], stride: 2, padding: 'SAME' },
  { name: '3×3 SAME stride 2 on even 6×6 (asymmetric pad)', x: [2, 6, 6, 4], w: [3, 3, 4, 8], stride: 2, padding: 'SAME' },
  { name: '3×3 VALID stride 1, odd channels', x: [1, 5, 4, 3], w: [3, 3, 3, 5] },
  { name: 'explicit padding, per-axis stride', x: [1, 5, 6, 2], w: [2, 3, 2, 3], stride: [2, 1], padding: [[1, 0], [2, 1]] },
  { name: 'explicit padding, stride [1, 2], cin 4 (dw contiguous-range path)', x: [2, 5, 7, 4], w: [2, 3, 4, 4], stride: [1, 2], padding: [[0, 1], [2, 1]] },
  { name: 'cin 6 (partial dx column tile), cout 8, SAME stride 2', x: [1, 5, 5, 6], w: [3, 3, 6, 8], stride: 2, padding: 'SAME' },
  { name: 'cout 12 (vec4 path, partial 8-wide tile), explicit pad wider than the kernel', x: [1, 4, 4, 4], w: [3, 3, 4, 12], padding: [[3, 0], [1, 2]] },
  { name: 'groups 2, stride 1 SAME (dx as a flipped forward)', x: [2, 5, 5, 8], w: [3, 3, 4, 8], groups: 2, padding: 'SAME' },
  { name: 'stride 2, top padding wider than the kernel (dX phase crops dy), odd width', x: [1, 6, 5, 4], w: [2, 2, 4, 4], stride: 2, padding: [[2, 1], [0, 3]] },
  { name: 'stride 2 with dilation 2, SAME', x: [1, 7, 7, 4], w: [3, 3, 4, 4], stride: 2, dilation: 2, padding: 'SAME' },
  { name: 'groups 2, SAME stride 2', x: [2, 5, 5, 8], w: [3, 3, 4, 8], groups: 2, stride: 2, padding: 'SAME' },
  { name: 'depthwise (groups = C)', x: [1, 5, 5, 4], w: [3, 3, 1, 4], groups: 4, padding: 'SAME' },
  { name: 'depthwise multiplier 2, stride 2 even', x: [2, 6, 6, 3], w: [3, 3, 1, 6], groups: 3, stride: 2, padding: 'SAME' },
  { name: '1×1 spatial input, 3×3 SAME', x: [2, 1, 1, 4], w: [3, 3, 4, 3], padding: 'SAME' },
  { name: '1×1 stride 2', x: [1, 5, 5, 4], w: [1, 1, 4, 4], stride: 2 },
  { name: 'dilation 2, SAME', x: [1, 6, 6, 4], w: [3, 3, 4, 4], dilation: 2, padding: 'SAME' },
];

describe('conv2d vs float64 reference (forward, dx, dw)', () => {
  cases.forEach((c, k) => {
    opTest('conv2d', c.name, () =>
      checkOp({
        gpu: (x, w) => ops.conv2d(x, w, { stride: c.stride, padding: c.padding, groups: c.groups, dilation: c.dilation }),
        ref: (x, w) => refConv2d(x, w, refOpts(c)),
        inputs: [randArr(c.x, 10 + k), randArr(c.w, 50 + k)],
      }));
  });

  it('a pointwise dW runs on the quad GEMM where that kernel applies (cout ≥ 16, cin ≥ 4), split over the pixels when one workgroup would do it all, else on the dW kernel', async (ctx) => {
    if (!(gpu().adapter.software && gpu().features.includes('subgroups'))) ctx.skip();
    // 48×48 pixels: K·N past what small GEMMs hand to one-row products (src/ops/matmul.ts).
    const kernelsOf = async (cin: number, cout: number, stride = 1) => {
      const x = toTensor(randArr([1, 48, 48, cin], 1));
      const w = toTensor(randArr([1, 1, cin, cout], 2));
      const dy = toTensor(randArr([1, stride === 1 ? 48 : 24, stride === 1 ? 48 : 24, cout], 3));
      gpu().profile.start();
      convDw(x, dy, convGeometry(x, w, { stride }), convTuning()).dispose();
      return (await gpu().profile.stop()).kernels.map((k) => k.kernel).sort();
    };
    // One quad workgroup's worth: four products over 576 pixels each, their partials summed.
    expect(await kernelsOf(16, 32)).toEqual(['conv2d/reduce_splits', 'matmul-quad/matmul']);
    expect(await kernelsOf(16, 16)).toEqual(['conv2d/reduce_splits', 'matmul-quad/matmul16']);
    expect(await kernelsOf(128, 128)).toEqual(['matmul-quad/matmul']); // 4 workgroups already
    // The dW kernel, split over the pixels (its partials summed by reduce_splits).
    expect(await kernelsOf(16, 12)).toEqual(['conv2d/dw_tiled', 'conv2d/reduce_splits']); // narrower than a band
    expect(await kernelsOf(16, 32, 2)).toEqual(['conv2d/dw_tiled', 'conv2d/reduce_splits']); // strided: not a plain GEMM
  });

  it('pointwiseDwSplits: enough workgroups for both threads, equal runs of at least 256 pixels', () => {
    // nano's 1×1 dWs at batch 32: 16×32 and 32×32 over 14×14 (6,272 pixels), 32×64 and 64×128 over 7×7 (1,568).
    expect(pointwiseDwSplits(6272, 16, 32)).toBe(4);
    expect(pointwiseDwSplits(6272, 32, 32)).toBe(4);
    expect(pointwiseDwSplits(1568, 32, 64)).toBe(4);
    expect(pointwiseDwSplits(1568, 64, 128)).toBe(2);
    expect(pointwiseDwSplits(8192, 128, 128)).toBe(1); // four workgroups of its own
    expect(pointwiseDwSplits(300, 16, 32)).toBe(1); // too few pixels to split
    expect(pointwiseDwSplits(1030, 16, 32)).toBe(2); // 1030 = 2 · 515: four would not divide it
  });

  it('tileWorkgroupSize: the tuned size for big grids, halved down to 16 while a grid would have fewer than 8 workgroups', () => {
    expect(tileWorkgroupSize(3136, 1, 64)).toBe(64); // the small net's second conv at batch 32
    expect(tileWorkgroupSize(512, 1, 64)).toBe(64); // exactly 8 workgroups
    expect(tileWorkgroupSize(448, 1, 64)).toBe(32); // 7 workgroups of 64, 14 of 32
    expect(tileWorkgroupSize(100, 1, 64)).toBe(16); // its second conv at batch 1: 7 workgroups
    expect(tileWorkgroupSize(56, 1, 64)).toBe(16); // its last conv at batch 1: 4, not 1
    expect(tileWorkgroupSize(100, 6, 64)).toBe(64); // six groups: 12 workgroups already
    expect(tileWorkgroupSize(10, 1, 8)).toBe(8); // a tuned size below the floor stays
  });

  it('the direct forward matches the reference on a grid of tuned workgroups (WG 64) and a shrunk one (WG 16)', async () => {
    // Stride 2, 8 → 8 channels: 16 images of 32×32 give 4,096 output rows, 512 tiles (8 workgroups of 64).
    for (const xs of [[16, 32, 32, 8], [1, 9, 9, 8]]) {
      const c: Case = { name: '', x: xs, w: [3, 3, 8, 8], stride: [2, 2], padding: 'SAME' };
      const [xa, wa] = [randArr(c.x, 30), randArr(c.w, 31)];
      const [x, w] = [xa, wa].map(toTensor) as [Tensor, Tensor];
      expect(convAlgorithm('forward', convGeometry(x, w, { stride: 2, padding: 'SAME' }), DEFAULT_CONV_TUNING).name).toBe('direct');
      const y = ops.conv2d(x, w, { stride: 2, padding: 'SAME' });
      expectClose(await y.data(), refConv2d(xa, wa, refOpts(c)), 1e-5, `x ${xs.join('×')}`);
      for (const t of [x, w, y]) t.dispose();
    }
  });

  // Groups of a multiple of 32 output channels (and vec4 input channels): forward_quad on
  // SwiftShader, its input rows shared across each quad (shaders/conv2d-quad.wgsl).
  const QUAD: Case[] = [
    { name: '16 → 32, stride 2 SAME on 5×7 (partial row tiles)', x: [1, 5, 7, 16], w: [3, 3, 16, 32], stride: [2, 2], padding: 'SAME' },
    { name: '8 → 2×32 in 2 groups, stride 2 on 5×5', x: [1, 5, 5, 8], w: [3, 3, 4, 64], stride: [2, 2], padding: 'SAME', groups: 2 },
  ];
  QUAD.forEach((c, k) => {
    opTest('conv2d', `quad-shared direct forward: ${c.name}`, async () => {
      const opts = { stride: c.stride, padding: c.padding, groups: c.groups };
      const g = convGeometry(toTensor(randArr(c.x, 1)), toTensor(randArr(c.w, 2)), opts);
      expect(convAlgorithm('forward', g, DEFAULT_CONV_TUNING).name).toBe('direct');
      expect(directQuadApplies(g, DEFAULT_CONV_TUNING.wg)).toBe(gpu().adapter.software && gpu().features.includes('subgroups'));
      await checkOp({ gpu: (x, w) => ops.conv2d(x, w, opts), ref: (x, w) => refConv2d(x, w, refOpts(c)), inputs: [randArr(c.x, 40 + k), randArr(c.w, 50 + k)] });
    });
  });

  // Grids of at least MIN_BAND_QUADS quads (32 pixels × 32 channels each): forward_band,
  // a band of the weights shared across each quad (shaders/conv2d-band.wgsl).
  const BAND: Case[] = [
    { name: '8 → 32, stride 2: 1,024 pixels (32 quads)', x: [16, 16, 16, 8], w: [3, 3, 8, 32], stride: [2, 2], padding: 'SAME' },
    { name: '8 → 2 bands of 32, stride 1, dilation 2, 300 pixels (partial quads and tiles)', x: [3, 10, 10, 8], w: [3, 3, 8, 64], padding: 'SAME', dilation: 2 },
    { name: '2 groups of 12 → 32, stride 2 VALID on 19×23 (odd edges)', x: [2, 19, 23, 24], w: [3, 3, 12, 64], stride: [2, 2], groups: 2 },
    { name: '16 → 32, 5×5 kernel, explicit asymmetric padding', x: [2, 13, 11, 16], w: [5, 5, 16, 32], padding: [[2, 1], [0, 3]] },
  ];
  BAND.forEach((c, k) => {
    it(`the band-shared direct forward: ${c.name}`, async () => {
      const opts = { stride: c.stride, padding: c.padding, groups: c.groups, dilation: c.dilation };
      const [xa, wa] = [randArr(c.x, 60 + k), randArr(c.w, 70 + k)];
      const [x, w] = [xa, wa].map(toTensor) as [Tensor, Tensor];
      const g = convGeometry(x, w, opts);
      expect(convAlgorithm('forward', g, DEFAULT_CONV_TUNING).name).toBe('direct');
      const band = gpu().adapter.software && gpu().features.includes('subgroups');
      expect(directBandApplies(g, g.n * g.ho * g.wo, DEFAULT_CONV_TUNING)).toBe(band);
      gpu().profile.start();
      const y = ops.conv2d(x, w, opts);
      const kernels = (await gpu().profile.stop()).kernels.map((q) => q.kernel);
      if (band) expect(kernels).toContain('conv2d-band/forward_band');
      expectClose(await y.data(), refConv2d(xa, wa, refOpts(c)), 1e-5, 'forward');
      for (const t of [x, w, y]) t.dispose();
    });
  });

  // Groups of 8, 16, 24 output channels (the band kernel's 32 do not divide them), stride 1 along the width: runs along output rows.
  /** A case with a per-axis dilation, and its tensors, geometry and the reference's options (refOpts takes one dilation). */
  type AxesCase = Omit<Case, 'dilation'> & { dilation?: [number, number] };
  const openCase = (c: AxesCase, seed: number) => {
    const opts = { stride: c.stride, padding: c.padding, groups: c.groups, dilation: c.dilation };
    const [xa, wa] = [randArr(c.x, seed), randArr(c.w, seed + 5)];
    const [x, w] = [xa, wa].map(toTensor) as [Tensor, Tensor];
    const ref = { ...refOpts({ ...c, dilation: undefined }), dilation: c.dilation ?? [1, 1] } as RefConvOpts;
    return { opts, xa, wa, x, w, g: convGeometry(x, w, opts), ref };
  };
  type RowsCase = AxesCase & { runs: number };
  const ROWS: RowsCase[] = [
    { name: "nano's 2 groups of 8, 3×3 SAME on 14×14 (runs of 7)", x: [2, 14, 14, 16], w: [3, 3, 8, 16], padding: 'SAME', groups: 2, runs: 7 },
    { name: '16 → 16 in one group (two column tiles), 2×3 kernel, asymmetric padding, 11 wide (runs of 6 and 5)', x: [1, 6, 11, 16], w: [2, 3, 16, 16], padding: [[1, 0], [2, 1]], runs: 6 },
    { name: '3 groups of 4 → 24, 3×1 kernel (one tap a row), stride 2 and dilation 2 down the height', x: [3, 9, 5, 12], w: [3, 1, 4, 24], stride: [2, 1], dilation: [2, 1], groups: 3, runs: 5 },
    { name: '8 → 8, 3×2 kernel VALID on 1×4×19 (runs of 7, 6 and 5 runs: a partial quad)', x: [1, 4, 19, 8], w: [3, 2, 8, 8], runs: 6 },
  ];
  ROWS.forEach((c, k) => {
    it(`the row-run direct forward: ${c.name}`, async () => {
      const { opts, xa, wa, x, w, g, ref } = openCase(c, 90 + k);
      expect(convAlgorithm('forward', g, DEFAULT_CONV_TUNING).name).toBe('direct');
      expect(rowRun(g.wo)).toBe(c.runs);
      const rows = gpu().adapter.software && gpu().features.includes('subgroups');
      expect(directRowsApplies(g, DEFAULT_CONV_TUNING)).toBe(rows);
      gpu().profile.start();
      const y = ops.conv2d(x, w, opts);
      const kernels = (await gpu().profile.stop()).kernels.map((q) => q.kernel);
      if (rows) expect(kernels).toContain('conv2d-rows/forward_rows');
      expectClose(await y.data(), refConv2d(xa, wa, ref), 1e-5, 'forward');
      for (const t of [x, w, y]) t.dispose();
    });
  });

  it('the row-run forward is what dX runs for 8-channel groups (stride 1 and each stride-2 phase), exact against the reference', async () => {
    for (const stride of [1, 2]) {
      const xs = [2, 7, 9, 16];
      const ws = [3, 3, 8, 16];
      const opts = { stride, padding: 'SAME' as const, groups: 2 };
      const [xa, wa] = [randArr(xs, 97 + stride), randArr(ws, 99 + stride)];
      const dya = randArr([xs[0]!, Math.ceil(xs[1]! / stride), Math.ceil(xs[2]! / stride), ws[3]!], 101 + stride);
      const [x, w, dy] = [xa, wa, dya].map(toTensor) as [Tensor, Tensor, Tensor];
      const f = valueAndGrad((xx: Tensor) => ops.sum(ops.mul(ops.conv2d(xx, w, opts), dy)));
      gpu().profile.start();
      const [v, [dx]] = await f(x);
      const kernels = (await gpu().profile.stop()).kernels;
      if (gpu().adapter.software && gpu().features.includes('subgroups')) {
        // Forward + one dX conv at stride 1; at stride 2 the four phases (kernels 2×2, 2×1, 1×2, 1×1; the forward itself strides the width).
        expect(kernels.find((q) => q.kernel === 'conv2d-rows/forward_rows')?.calls).toBe(stride === 1 ? 2 : 4);
      }
      expectClose(await dx!.data(), refConv2dDx(dya, wa, xs, refOpts({ name: '', x: xs, w: ws, stride, padding: 'SAME', groups: 2 })), 1e-5, 'dx');
      for (const t of [x, w, dy, v, dx!]) t.dispose();
    }
  });

  // dW with a lane owning the whole filter of a narrow group for a chunk of output rows.
  const DW_TAPS: AxesCase[] = [
    { name: "nano's 2 groups of 8, 3×3 SAME on 4×14×14 (chunks of 10 output rows, the last short)", x: [4, 14, 14, 16], w: [3, 3, 8, 16], padding: 'SAME', groups: 2 },
    { name: '2 groups of 4 → 16 each (two column tiles), 2×3 kernel, asymmetric padding, one chunk', x: [1, 6, 11, 8], w: [2, 3, 4, 32], padding: [[1, 0], [2, 1]], groups: 2 },
    { name: '3 groups of 8 → 8, 3×1 kernel, stride 2 and dilation 2 down the height', x: [3, 9, 5, 24], w: [3, 1, 8, 24], stride: [2, 1], dilation: [2, 1], groups: 3 },
    { name: '8 → 8, 1×2 kernel VALID on 2×30×19 (one tap row)', x: [2, 30, 19, 8], w: [1, 2, 8, 8] },
    { name: "nano's stride-2 transition: 4 groups of 8, 3×3 stride 2 SAME on 4×14×14", x: [4, 14, 14, 32], w: [3, 3, 8, 32], stride: [2, 2], padding: 'SAME', groups: 4 },
    { name: '2 groups of 4 → 8, 2×2 kernel, stride 2 on an odd 2×9×11 (VALID)', x: [2, 9, 11, 8], w: [2, 2, 4, 16], stride: [2, 2], groups: 2 },
    { name: '8 → 16, 3×1 kernel, stride (1, 2)', x: [1, 8, 9, 8], w: [3, 1, 8, 16], stride: [1, 2], padding: 'SAME' },
    { name: "nano's stem: 1 → 16, 3×3 stride 2 SAME on 4×28×28 (one channel)", x: [4, 28, 28, 1], w: [3, 3, 1, 16], stride: [2, 2], padding: 'SAME' },
    { name: '2 groups of 1 → 8, 2×3 kernel, stride 1, asymmetric padding (one channel per group)', x: [2, 6, 7, 2], w: [2, 3, 1, 16], padding: [[1, 0], [0, 2]], groups: 2 },
  ];
  DW_TAPS.forEach((c, k) => {
    it(`the whole-filter dW: ${c.name}`, async () => {
      const { opts, xa, x, w, g, ref } = openCase(c, 110 + k);
      expect(convAlgorithm('dw', g, DEFAULT_CONV_TUNING).name).toBe('split-k');
      expect(dwTapsApplies(g)).toBe(gpu().adapter.software);
      const dya = randArr([g.n, g.ho, g.wo, g.cout], 120 + k);
      const dy = toTensor(dya);
      const f = valueAndGrad((ww: Tensor) => ops.sum(ops.mul(ops.conv2d(x, ww, opts), dy)));
      // The first call may run dw_tiled while dw_taps' pipeline builds in the background (sync waits for it).
      const [v0, [dw0]] = await f(w);
      for (const t of [v0, dw0!]) t.dispose();
      await gpu().sync();
      gpu().profile.start();
      const [v, [dw]] = await f(w);
      const kernels = (await gpu().profile.stop()).kernels.map((q) => q.kernel);
      if (gpu().adapter.software) expect(kernels).toContain('conv2d-dw-taps/dw_taps');
      expectClose(await dw!.data(), refConv2dDw(xa, dya, c.w, ref), 1e-5, 'dw');
      for (const t of [x, w, dy, v, dw!]) t.dispose();
    });
  });

  it('dw_tiled stands in for dw_taps (while its pipeline builds) on the same chunks: the same bits', async (ctx) => {
    if (!gpu().adapter.software) ctx.skip();
    const cases: [number[], number[], number, number][] = [
      [[4, 14, 14, 16], [3, 3, 8, 16], 2, 1], [[2, 7, 9, 32], [3, 3, 4, 64], 8, 1], [[4, 14, 14, 32], [3, 3, 8, 32], 4, 2],
      [[4, 28, 28, 1], [3, 3, 1, 16], 1, 2], // one channel: the masked dw kernel stands in
    ];
    for (const [xs, ws, groups, stride] of cases) {
      const [x, w] = [toTensor(randArr(xs, 130)), toTensor(randArr(ws, 131))];
      const g = convGeometry(x, w, { padding: 'SAME', groups, stride });
      expect(dwTapsApplies(g)).toBe(true);
      const dy = toTensor(randArr([g.n, g.ho, g.wo, g.cout], 132));
      const taps = dwTaps(x, dy, g, DEFAULT_CONV_TUNING);
      const chunk = Math.ceil(128 / g.wo);
      const tiled = tiledDw(x, dy, g, DEFAULT_CONV_TUNING, chunk);
      expect(Array.from(await taps.data())).toEqual(Array.from(await tiled.data()));
      for (const t of [x, w, dy, taps, tiled]) t.dispose();
    }
  });

  it('forward_band, forward_quad and forward sum in the same order: the same bits whichever runs', async (ctx) => {
    if (!(gpu().adapter.software && gpu().features.includes('subgroups'))) ctx.skip();
    // A wg tuning that is not a multiple of 4 turns the quad kernels off (forward runs).
    const same = async (xs: number[], ws: number[], stride: number, kernel: string) => {
      const [x, w] = [toTensor(randArr(xs, 80)), toTensor(randArr(ws, 81))];
      gpu().profile.start();
      const quad = ops.conv2d(x, w, { stride, padding: 'SAME' });
      expect((await gpu().profile.stop()).kernels.map((q) => q.kernel)).toContain(kernel);
      const plain = ops.conv2d(x, w, { stride, padding: 'SAME', tuning: { wg: 6 } });
      expect(Array.from(await quad.data())).toEqual(Array.from(await plain.data()));
      for (const t of [x, w, quad, plain]) t.dispose();
    };
    await same([8, 16, 16, 8], [3, 3, 8, 32], 2, 'conv2d-band/forward_band');
    await same([1, 14, 14, 32], [3, 3, 32, 64], 2, 'conv2d-quad/forward_quad');
  });

  it('a grid of fewer than MIN_BAND_QUADS quads keeps forward_quad', async () => {
    // 1×14×14 at stride 2, 32 → 64: 49 pixels = 2 quads of rows × 2 bands.
    const c: Case = { name: '', x: [1, 14, 14, 32], w: [3, 3, 32, 64], stride: [2, 2], padding: 'SAME' };
    const [xa, wa] = [randArr(c.x, 62), randArr(c.w, 63)];
    const [x, w] = [xa, wa].map(toTensor) as [Tensor, Tensor];
    const g = convGeometry(x, w, { stride: 2, padding: 'SAME' });
    expect(MIN_BAND_QUADS).toBe(8);
    expect(directBandApplies(g, 49, DEFAULT_CONV_TUNING)).toBe(false);
    gpu().profile.start();
    const y = ops.conv2d(x, w, { stride: 2, padding: 'SAME' });
    const kernels = (await gpu().profile.stop()).kernels.map((q) => q.kernel);
    if (directQuadApplies(g, 16)) expect(kernels).toContain('conv2d-quad/forward_quad');
    expectClose(await y.data(), refConv2d(xa, wa, refOpts(c)), 1e-5, 'forward');
    for (const t of [x, w, y]) t.dispose();
  });

  it('a wg tuning that is not a multiple of 4 keeps the quad-shared convs off (a quad must not straddle two workgroups), with the same results', async () => {
    const x = randArr([2, 7, 9, 1], 70);
    const w1 = randArr([3, 3, 1, 16], 71); // the small-channel conv's quad variant
    const x2 = randArr([1, 9, 9, 16], 72);
    const w2 = randArr([3, 3, 16, 32], 73); // the direct forward's
    const [tx, tw1, tx2, tw2] = [x, w1, x2, w2].map(toTensor) as [Tensor, Tensor, Tensor, Tensor];
    for (const wg of [64, 6]) {
      const quad = gpu().adapter.software && gpu().features.includes('subgroups') && wg === 64;
      expect(smallQuadApplies(convGeometry(tx, tw1, { padding: 'SAME' }), wg)).toBe(quad);
      expect(directQuadApplies(convGeometry(tx2, tw2, { stride: 2, padding: 'SAME' }), wg)).toBe(quad);
      const tuning = { ...DEFAULT_CONV_TUNING, wg };
      const y1 = ops.conv2d(tx, tw1, { padding: 'SAME', tuning });
      const y2 = ops.conv2d(tx2, tw2, { stride: 2, padding: 'SAME', tuning });
      expectClose(await y1.data(), refConv2d(x, w1, { stride: [1, 1], dilation: [1, 1], pads: [refSame(7, 3, 1, 1), refSame(9, 3, 1, 1)] }), 1e-5, `small, wg ${wg}`);
      expectClose(await y2.data(), refConv2d(x2, w2, { stride: [2, 2], dilation: [1, 1], pads: [refSame(9, 3, 2, 1), refSame(9, 3, 2, 1)] }), 1e-5, `direct, wg ${wg}`);
      y1.dispose();
      y2.dispose();
    }
    for (const t of [tx, tw1, tx2, tw2]) t.dispose();
  });

  // [x shape, cout]: the dW kernel's own split-K (4 → 4 channels); the pointwise GEMM split
  // in two (512 pixels, 16 → 16: 16-column quad bands) and in four (2,048 pixels, 8 → 20).
  const SPLIT_DW: [[number, number, number, number], number][] = [[[2, 24, 24, 4], 4], [[2, 16, 16, 16], 16], [[2, 32, 32, 8], 20]];
  SPLIT_DW.forEach(([xs, cout], k) => {
    opTest('conv2d', `dw split over the pixels, x ${JSON.stringify(xs)} → ${cout} channels, matches the reference`, async () => {
      const cin = xs[3];
      const pixels = xs[0] * xs[1] * xs[2];
      const x = randArr(xs, 7 + k);
      const w = randArr([1, 1, cin, cout], 8 + k);
      const dy = randArr([xs[0], xs[1], xs[2], cout], 9 + k);
      const [xt, wt, dyt] = [x, w, dy].map(toTensor) as [Tensor, Tensor, Tensor];
      const [, [gw]] = await valueAndGrad((w: Tensor) => ops.sum(ops.mul(ops.conv2d(xt, w), dyt)))(wt);
      // dW = xᵀ·dy over the pixels, in float64 (test/ref.ts).
      const want = R.matmul({ shape: [pixels, cin], data: x.data }, { shape: [pixels, cout], data: dy.data }, true);
      expectClose(await gw.data(), want, 1e-5, 'dw');
    });
  });
});

describe('conv2d: Winograd paths vs float64 reference (forward, dx through the flipped forward, dw)', () => {
  const wino: Case[] = [
    { name: 'SAME, batch 2, odd 5×7', x: [2, 5, 7, 4], w: [3, 3, 4, 8], padding: 'SAME' },
    { name: 'VALID, even 6×6', x: [1, 6, 6, 8], w: [3, 3, 8, 4] },
    { name: 'groups 2, SAME', x: [2, 5, 5, 8], w: [3, 3, 4, 8], groups: 2, padding: 'SAME' },
    { name: 'explicit padding wider than the kernel', x: [1, 4, 4, 4], w: [3, 3, 4, 12], padding: [[3, 0], [1, 2]] },
    { name: '1×1 spatial input', x: [2, 1, 1, 4], w: [3, 3, 4, 8], padding: 'SAME' },
    // Forward only (a central-difference check over 2k inputs is slow): more than one
    // workgroup of transform invocations.
    { name: 'several workgroups of tiles (forward)', x: [2, 12, 11, 8], w: [3, 3, 8, 8], padding: 'SAME' },
    // A long channel sum: F(4×4)'s larger transform constants must stay within tolerance.
    { name: '96 input channels (forward)', x: [1, 9, 9, 96], w: [3, 3, 96, 8], padding: 'SAME' },
  ];
  // Forward, dX and dW run on the configured tile (F(4×4) by default, F(2×2) selectable),
  // passed per call through the op's `tuning` option (the backward uses the same).
  ([4, 2] as const).forEach((tile) => {
    describe(`F(${tile}×${tile}, 3×3) forward and dX`, () => {
      const tuning = { winogradMinChannels: 4, winogradTile: tile };
      wino.forEach((c, k) => {
        opTest('conv2d', `Winograd F(${tile}×${tile}): ${c.name}`, async () => {
          const g = convGeometry(toTensor(randArr(c.x, 1)), toTensor(randArr(c.w, 2)), { padding: c.padding, groups: c.groups });
          expect(usesWinograd(g, convTuning(tuning))).toBe(true);
          await checkOp({
            gpu: (x, w) => ops.conv2d(x, w, { padding: c.padding, groups: c.groups, tuning }),
            ref: (x, w) => refConv2d(x, w, refOpts(c)),
            inputs: [randArr(c.x, 70 + k), randArr(c.w, 90 + k)],
            ...(c.name.endsWith('(forward)') ? { wrt: [] } : {}),
          });
        });
      });
    });
  });
  ([4, 2] as const).forEach((tile) => opTest('conv2d', `Winograd F(${tile}×${tile}) dW over several workgroups of tiles matches Σ x·dy in float64`, async () => {
    const tuning = { winogradMinChannels: 4, winogradTile: tile };
    const [n, h, w, ci, co] = [2, 12, 11, 8, 8];
    const x = randArr([n, h, w, ci], 31);
    const dy = randArr([n, h, w, co], 32);
    const want = new Float64Array(9 * ci * co);
    for (let b = 0; b < n; b++)
      for (let oy = 0; oy < h; oy++)
        for (let ox = 0; ox < w; ox++)
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++) {
              const [iy, ix] = [oy + ky - 1, ox + kx - 1]; // SAME: one row / column of padding
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              for (let c = 0; c < ci; c++)
                for (let d = 0; d < co; d++) want[((ky * 3 + kx) * ci + c) * co + d]! += x.data[((b * h + iy) * w + ix) * ci + c]! * dy.data[((b * h + oy) * w + ox) * co + d]!;
            }
    const [xt, dyt] = [x, dy].map(toTensor) as [Tensor, Tensor];
    const wt = toTensor(randArr([3, 3, ci, co], 33));
    const [, [gw]] = await valueAndGrad((wv: Tensor) => ops.sum(ops.mul(ops.conv2d(xt, wv, { padding: 'SAME', tuning }), dyt)))(wt);
    expectClose(await gw.data(), want, 1e-4, 'dw');
  }));
  it('is not taken below winogradMinChannels, for strides, dilations or other kernel sizes', () => {
    const geo = (x: number[], w: number[], o: { stride?: number; dilation?: number } = {}) => convGeometry(toTensor(randArr(x, 1)), toTensor(randArr(w, 2)), { padding: 'SAME', ...o });
    const t: ConvTuning = { ...DEFAULT_CONV_TUNING, winogradMinChannels: 4 };
    expect(usesWinograd(geo([1, 5, 5, 4], [3, 3, 4, 4]), t)).toBe(true);
    expect(usesWinograd(geo([1, 5, 5, 4], [3, 3, 4, 4], { stride: 2 }), t)).toBe(false);
    expect(usesWinograd(geo([1, 5, 5, 4], [3, 3, 4, 4], { dilation: 2 }), t)).toBe(false);
    expect(usesWinograd(geo([1, 5, 5, 4], [1, 1, 4, 4]), t)).toBe(false);
    expect(usesWinograd(geo([1, 5, 5, 3], [3, 3, 3, 4]), t)).toBe(false);
    expect(usesWinograd(geo([1, 5, 5, 4], [3, 3, 4, 4]), { ...t, winogradMinChannels: 8 })).toBe(false);
  });
});

describe('conv2d: the algorithm table and the tuning passed to it', () => {
  const geo = (x: number[], w: number[], o: { stride?: number; padding?: 'SAME' } = {}) => convGeometry(toTensor(randArr(x, 1)), toTensor(randArr(w, 2)), o);
  const rows = (g: ReturnType<typeof geo>, t: ConvTuning = DEFAULT_CONV_TUNING) => (['forward', 'dx', 'dw'] as ConvPass[]).map((p) => convAlgorithm(p, g, t).name);
  const kernelsOf = async (f: () => Tensor) => {
    gpu().profile.start();
    f().dispose();
    return (await gpu().profile.stop()).kernels.map((k) => k.kernel);
  };

  it('picks, per pass, the rows that docs/conv.md lists', () => {
    const wino = geo([1, 8, 8, 16], [3, 3, 16, 16], { padding: 'SAME' });
    expect(rows(wino)).toEqual(['winograd', 'stride-phase', 'winograd']);
    expect(rows(wino, { ...DEFAULT_CONV_TUNING, winogradMinChannels: 0 })).toEqual(['direct', 'stride-phase', 'split-k']);
    expect(rows(geo([1, 8, 8, 8], [3, 3, 8, 8], { padding: 'SAME' }))).toEqual(['direct', 'stride-phase', 'split-k']); // 8 < 16 channels
    expect(rows(geo([1, 8, 8, 16], [3, 3, 16, 16], { padding: 'SAME', stride: 2 }))).toEqual(['direct', 'stride-phase', 'split-k']);
    const pointwise = geo([1, 4, 4, 16], [1, 1, 16, 32]);
    const quad = gpu().adapter.software && gpu().features.includes('subgroups');
    expect(rows(pointwise)).toEqual(['pointwise-gemm', 'pointwise-gemm', quad ? 'pointwise-gemm' : 'split-k']);
    expect(rows(geo([1, 8, 8, 16], [1, 1, 16, 32], { stride: 2 }))).toEqual(['direct', 'stride-phase', 'split-k']);
    expect(rows(geo([1, 4, 4, 0], [3, 3, 0, 4]))).toEqual(['empty', 'empty', 'empty']);
  });

  it("runs on the call's tuning over the device's, and the device's when the call gives none", async () => {
    const x = toTensor(randArr([1, 5, 5, 4], 3));
    const w = toTensor(randArr([3, 3, 4, 4], 4));
    const before = convTuning();
    expect(await kernelsOf(() => ops.conv2d(x, w, { padding: 'SAME' }))).toContain('conv2d/forward'); // 4 < 16 channels
    expect(await kernelsOf(() => ops.conv2d(x, w, { padding: 'SAME', tuning: { winogradMinChannels: 4 } }))).toContain('conv2d-winograd-f4/output_transform');
    expect(convTuning()).toBe(before);
    const prev = setConvTuning({ winogradMinChannels: 4, winogradTile: 2 });
    try {
      expect(await kernelsOf(() => ops.conv2d(x, w, { padding: 'SAME' }))).toContain('conv2d-winograd/output_transform');
      expect(await kernelsOf(() => ops.conv2d(x, w, { padding: 'SAME', tuning: { winogradMinChannels: 0 } }))).toContain('conv2d/forward');
    } finally {
      setConvTuning(prev);
    }
    expect(convTuning()).toEqual(before);
  });

  it('rejects a bad tuning with a ValueError before GPU work, and keeps the device tuning', () => {
    const x = toTensor(randArr([1, 5, 5, 4], 5));
    const w = toTensor(randArr([3, 3, 4, 4], 6));
    const before = convTuning();
    const dispatches = gpu().counters().dispatches;
    expect(() => ops.conv2d(x, w, { tuning: { winogradTile: 3 as 2 } })).toThrow(/winogradTile 2 or 4, got .*winogradTile=3/);
    expect(() => ops.conv2d(x, w, { tuning: { wg: 0 } })).toThrow(ValueError);
    expect(() => setConvTuning({ dwTargetThreads: 1.5 })).toThrow(ValueError);
    expect(() => setConvTuning({ winogradMinChannels: -1 })).toThrow(ValueError);
    expect(gpu().counters().dispatches).toBe(dispatches);
    expect(convTuning()).toBe(before);
  });
});

describe('conv2d validation', () => {
  const x = () => tensor(new Float32Array(2 * 4 * 4 * 4), [2, 4, 4, 4]);
  it('rejects wrong ranks, channel mismatches and bad options before GPU work', () => {
    const w = tensor(new Float32Array(9 * 4 * 4), [3, 3, 4, 4]);
    expect(() => ops.conv2d(tensor(new Float32Array(16), [4, 4]), w)).toThrow(ShapeError);
    expect(() => ops.conv2d(x(), tensor(new Float32Array(9 * 3 * 4), [3, 3, 3, 4]))).toThrow(/expects 3·1 = 3 input channels/);
    expect(() => ops.conv2d(x(), w, { groups: 3 })).toThrow(ShapeError);
    expect(() => ops.conv2d(x(), tensor(new Float32Array(9 * 2 * 3), [3, 3, 2, 3]), { groups: 2 })).toThrow(/output channels 3/);
    expect(() => ops.conv2d(x(), w, { stride: 0 })).toThrow(ValueError);
    expect(() => ops.conv2d(x(), w, { padding: 'FULL' as 'SAME' })).toThrow(ValueError);
    expect(() => ops.conv2d(x(), w, { padding: [[1, -1], [0, 0]] })).toThrow(ValueError);
    expect(() => ops.conv2d(tensor(new Float32Array(2 * 2 * 4), [1, 2, 2, 4]), w)).toThrow(/does not fit/);
  });
  it('an empty batch gives an empty output', async () => {
    const y = ops.conv2d(tensor(new Float32Array(0), [0, 4, 4, 4]), tensor(new Float32Array(9 * 16), [3, 3, 4, 4]), { padding: 'SAME' });
    expect(y.shape).toEqual([0, 4, 4, 4]);
    expect((await y.data()).length).toBe(0);
  });
  it('SAME output sizes follow TensorFlow', () => {
    expect(ops.samePadding(6, 3, 2)).toEqual([0, 1]);
    expect(ops.samePadding(5, 3, 2)).toEqual([1, 1]);
    expect(ops.samePadding(4, 1, 2)).toEqual([0, 0]);
  });
});

/** TF.js has no grouped conv: split channels, convolve each group, concatenate. */
function tfConv(x: tf.Tensor4D, w: tf.Tensor4D, groups: number, stride: number): tf.Tensor4D {
  if (groups === 1) return tf.conv2d(x, w, stride, 'same');
  const xs = tf.split(x, groups, 3);
  const ws = tf.split(w, groups, 3);
  return tf.concat(xs.map((xg, g) => tf.conv2d(xg as tf.Tensor4D, ws[g] as tf.Tensor4D, stride, 'same')), 3);
}

describe('conv2d vs TF.js CPU backend (independent second opinion)', () => {
  const tfCases = [
    { name: 'groups 1, stride 2, SAME, even input', x: [2, 6, 6, 4], w: [3, 3, 4, 8], groups: 1, stride: 2 },
    { name: 'groups 2, stride 2, SAME, odd input', x: [2, 7, 7, 8], w: [3, 3, 4, 8], groups: 2, stride: 2 },
    { name: 'groups 4 (depthwise), stride 1, SAME', x: [1, 5, 5, 4], w: [3, 3, 1, 4], groups: 4, stride: 1 },
    // Forward and dX's stride phases on the band kernel (conv2d-band.wgsl): 512 and 4 × 512 pixels.
    { name: 'groups 1, stride 2, 32 → 32 channels on 2×32×32 (band kernel, dX phases too)', x: [2, 32, 32, 32], w: [3, 3, 32, 32], groups: 1, stride: 2 },
    { name: 'groups 2 of 32 → 32, stride 2 on 1×26×26 (band kernel per group, partial quads)', x: [1, 26, 26, 64], w: [3, 3, 32, 64], groups: 2, stride: 2 },
  ];
  for (const c of tfCases) {
    it(c.name, async () => {
      await tf.setBackend('cpu');
      const xa = randArr(c.x, 101);
      const wa = randArr(c.w, 102);
      const xt = tf.tensor4d(Float32Array.from(xa.data), c.x as [number, number, number, number]);
      const wt = tf.tensor4d(Float32Array.from(wa.data), c.w as [number, number, number, number]);
      const yRef = tfConv(xt, wt, c.groups, c.stride);
      const dyA = randArr(yRef.shape, 103);
      const dyT = tf.tensor(Float32Array.from(dyA.data), yRef.shape);
      const [gxRef, gwRef] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tfConv(a as tf.Tensor4D, b as tf.Tensor4D, c.groups, c.stride))([xt, wt], dyT);

      const [x, w, dy] = [xa, wa, dyA].map(toTensor) as [Tensor, Tensor, Tensor];
      const opts = { stride: c.stride, padding: 'SAME' as const, groups: c.groups };
      const y = ops.conv2d(x, w, opts);
      expect(y.shape).toEqual(yRef.shape);
      expectClose(await y.data(), await yRef.data(), 1e-4, 'forward');
      const [, [gx, gw]] = await valueAndGrad((a: Tensor, b: Tensor) => ops.sum(ops.mul(ops.conv2d(a, b, opts), dy)))(x, w);
      expectClose(await gx.data(), await gxRef!.data(), 1e-4, 'dx');
      expectClose(await gw.data(), await gwRef!.data(), 1e-4, 'dw');
      tf.dispose([xt, wt, yRef, dyT, gxRef!, gwRef!]);
    });
  }
});
