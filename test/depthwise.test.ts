// The depthwise conv path (groups = channels, multiplier 1) of conv2d: forward, dX and dW
// against the float64 reference and its central differences, over the kernel sizes,
// strides and paddings of MBConv blocks (TF SAME as in tf_ EfficientNets, timm's symmetric
// explicit padding) and channel counts on and off the vec4 path; and that the algorithm
// table sends these convs (and only these) to it.
import { describe, expect, it } from 'vitest';
import { ops, valueAndGrad, type Tensor } from '../src/index.js';
import { checkOp, expectClose, opTest, randArr, toTensor } from './harness.js';
import { refConv2d, refSame } from './ref-conv.js';
import { useGpu } from './setup.js';
import { DEFAULT_CONV_TUNING, convAlgorithm, convGeometry, type ConvPass } from '../src/ops/conv2d/index.js';
import { depthwiseDwSplits } from '../src/ops/conv2d/depthwise.js';

const { gpu } = useGpu();

interface DwCase {
  x: [number, number, number, number];
  k: number;
  stride: number;
  padding: 'SAME' | [[number, number], [number, number]];
  dilation?: number;
}

const name = (c: DwCase) =>
  `n${c.x[0]} ${c.x[1]}×${c.x[2]}×${c.x[3]}, k${c.k} s${c.stride}${c.dilation ? ` d${c.dilation}` : ''}, ${c.padding === 'SAME' ? 'SAME' : `pad ${JSON.stringify(c.padding)}`}`;

function refPads(c: DwCase): [[number, number], [number, number]] {
  if (c.padding !== 'SAME') return c.padding;
  return [refSame(c.x[1], c.k, c.stride, c.dilation ?? 1), refSame(c.x[2], c.k, c.stride, c.dilation ?? 1)];
}

const sym = (p: number): [[number, number], [number, number]] => [[p, p], [p, p]];

const cases: DwCase[] = [
  { x: [1, 5, 6, 1], k: 3, stride: 1, padding: 'SAME' },
  { x: [2, 6, 5, 3], k: 3, stride: 1, padding: sym(1) },
  { x: [1, 7, 7, 4], k: 3, stride: 2, padding: 'SAME' },
  { x: [2, 6, 6, 4], k: 3, stride: 2, padding: 'SAME' }, // even input: TF SAME pads (0, 1)
  { x: [2, 6, 7, 6], k: 3, stride: 2, padding: sym(1) },
  { x: [1, 7, 6, 8], k: 5, stride: 1, padding: 'SAME' },
  { x: [2, 5, 5, 3], k: 5, stride: 1, padding: sym(2) },
  { x: [1, 8, 8, 8], k: 5, stride: 2, padding: 'SAME' },
  { x: [2, 9, 7, 1], k: 5, stride: 2, padding: sym(2) },
  { x: [1, 9, 9, 6], k: 5, stride: 2, padding: 'SAME' },
  { x: [1, 6, 6, 4], k: 3, stride: 1, padding: [[0, 2], [3, 0]] }, // lopsided, wider than the kernel's reach
  { x: [1, 5, 7, 4], k: 3, stride: 1, padding: [[0, 0], [0, 0]] }, // VALID
  { x: [1, 8, 8, 3], k: 3, stride: 1, padding: 'SAME', dilation: 2 },
];

describe('conv2d depthwise path vs float64 reference (forward, dX, dW)', () => {
  cases.forEach((c, i) => {
    opTest('conv2d', `depthwise ${name(c)}`, async () => {
      const opts = { stride: c.stride, padding: c.padding, groups: c.x[3], dilation: c.dilation };
      const w = [c.k, c.k, 1, c.x[3]];
      const g = convGeometry(toTensor(randArr(c.x, 1)), toTensor(randArr(w, 2)), opts);
      expect((['forward', 'dx', 'dw'] as ConvPass[]).map((p) => convAlgorithm(p, g, DEFAULT_CONV_TUNING).name)).toEqual(['depthwise', 'depthwise', 'depthwise']);
      const d = c.dilation ?? 1;
      await checkOp({
        gpu: (x, wt) => ops.conv2d(x, wt, opts),
        ref: (x, wt) => refConv2d(x, wt, { stride: [c.stride, c.stride], pads: refPads(c), groups: c.x[3], dilation: [d, d] }),
        inputs: [randArr(c.x, 200 + i), randArr(w, 300 + i)],
      });
    });
  });

  // Many workgroups, column blocks that overhang the row, channel quads with a tail, and
  // a dW reduction split several ways (partials summed in a second pass).
  ([
    { x: [2, 24, 21, 12], k: 3, stride: 1, padding: 'SAME' },
    { x: [2, 31, 32, 7], k: 5, stride: 2, padding: sym(2) },
  ] as DwCase[]).forEach((c, i) => {
    opTest('conv2d', `depthwise at several workgroups with a split dW: ${name(c)}`, async () => {
      const opts = { stride: c.stride, padding: c.padding, groups: c.x[3] };
      const [xa, wa] = [randArr(c.x, 400 + i), randArr([c.k, c.k, 1, c.x[3]], 500 + i)];
      const ref = (x: typeof xa, w: typeof wa) => refConv2d(x, w, { stride: [c.stride, c.stride], pads: refPads(c), groups: c.x[3] });
      const want = ref(xa, wa);
      const dya = randArr(want.shape, 600 + i);
      const [x, w, dy] = [xa, wa, dya].map(toTensor) as [Tensor, Tensor, Tensor];
      expect(depthwiseDwSplits(convGeometry(x, w, opts), DEFAULT_CONV_TUNING)).toBeGreaterThan(1);
      const [y, [gx, gw]] = await valueAndGrad((a: Tensor, b: Tensor) => ops.sum(ops.mul(ops.conv2d(a, b, opts), dy)))(x, w);
      y.dispose();
      expectClose(await ops.conv2d(x, w, opts).data(), want, 1e-5, 'forward');
      // The gradients of Σ dy·conv(x, w), in float64: dX by scattering dy through the taps, dW by the pixel sums.
      const [n, h, wd, ch] = c.x;
      const [ho, wo] = [want.shape[1]!, want.shape[2]!];
      const [[pt], [pl]] = refPads(c);
      const gxRef = new Float64Array(xa.data.length);
      const gwRef = new Float64Array(wa.data.length);
      for (let b = 0; b < n; b++)
        for (let oy = 0; oy < ho; oy++)
          for (let ox = 0; ox < wo; ox++)
            for (let ky = 0; ky < c.k; ky++)
              for (let kx = 0; kx < c.k; kx++) {
                const [iy, ix] = [oy * c.stride - pt + ky, ox * c.stride - pl + kx];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                for (let ci = 0; ci < ch; ci++) {
                  const g = dya.data[((b * ho + oy) * wo + ox) * ch + ci]!;
                  const xi = ((b * h + iy) * wd + ix) * ch + ci;
                  const wi = (ky * c.k + kx) * ch + ci;
                  gxRef[xi]! += g * wa.data[wi]!;
                  gwRef[wi]! += g * xa.data[xi]!;
                }
              }
      expectClose(await gx.data(), gxRef, 1e-5, 'dx');
      expectClose(await gw.data(), gwRef, 1e-5, 'dw');
    });
  });
});

describe('conv2d depthwise: the algorithm table', () => {
  const geo = (x: number[], w: number[], o: { groups?: number; stride?: number; padding?: 'SAME' } = {}) => convGeometry(toTensor(randArr(x, 1)), toTensor(randArr(w, 2)), o);
  const rows = (g: ReturnType<typeof geo>) => (['forward', 'dx', 'dw'] as ConvPass[]).map((p) => convAlgorithm(p, g, DEFAULT_CONV_TUNING).name);

  it('takes groups = channels with one channel per group, and nothing else', () => {
    expect(rows(geo([1, 8, 8, 24], [3, 3, 1, 24], { groups: 24, padding: 'SAME' }))).toEqual(['depthwise', 'depthwise', 'depthwise']);
    expect(rows(geo([1, 8, 8, 3], [5, 5, 1, 3], { groups: 3, stride: 2, padding: 'SAME' }))).toEqual(['depthwise', 'depthwise', 'depthwise']);
    // Channel multiplier 2 and grouped convs with several channels per group stay on the grouped path.
    expect(rows(geo([1, 8, 8, 4], [3, 3, 1, 8], { groups: 4, padding: 'SAME' }))).toEqual(['direct', 'stride-phase', 'split-k']);
    expect(rows(geo([1, 8, 8, 8], [3, 3, 2, 8], { groups: 4, padding: 'SAME' }))).toEqual(['direct', 'stride-phase', 'split-k']);
    // An empty batch: the backward's empty rows (the forward's direct kernel has nothing to do).
    expect(rows(geo([0, 8, 8, 4], [3, 3, 1, 4], { groups: 4, padding: 'SAME' }))).toEqual(['direct', 'empty', 'empty']);
  });

  it('runs the depthwise kernels for forward, dX and dW (no padded copy, no phase scatter)', async () => {
    const kernelsOf = async (k: number, dilation: number) => {
      const x = toTensor(randArr([1, 6, 6, 8], 3));
      const w = toTensor(randArr([k, k, 1, 8], 4));
      const opts = { groups: 8, stride: 2, padding: 'SAME' as const, dilation };
      const dy = toTensor(randArr([...ops.conv2d(x, w, opts).shape], 5));
      gpu().profile.start();
      const [y, grads] = await valueAndGrad((a: Tensor, b: Tensor) => ops.sum(ops.mul(ops.conv2d(a, b, opts), dy)))(x, w);
      const kernels = (await gpu().profile.stop()).kernels.map((r) => r.kernel);
      [x, w, dy, y, ...grads].forEach((t) => t.dispose());
      return kernels.filter((r) => r.startsWith('conv2d')).sort();
    };
    // 3 or 5 taps wide, undilated: dW on the sliding window; otherwise one tap per invocation.
    // (The profile lists each kernel once; sorted here.)
    for (const k of [3, 5]) expect(await kernelsOf(k, 1)).toEqual(['conv2d-depthwise/dw_rows', 'conv2d-depthwise/dx', 'conv2d-depthwise/forward']);
    expect(await kernelsOf(3, 2)).toEqual(['conv2d-depthwise/dw', 'conv2d-depthwise/dx', 'conv2d-depthwise/forward']);
    expect(await kernelsOf(2, 1)).toEqual(['conv2d-depthwise/dw', 'conv2d-depthwise/dx', 'conv2d-depthwise/forward']);
  });
});
