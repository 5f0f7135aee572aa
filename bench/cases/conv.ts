/**
 * NFNet-shaped convolutions, forward / dX / dW, ours vs TF.js WebGPU, plus the GEMM of equal
 * FLOPs that the conv forward is measured against.
 *
 * Ours: forward through `conv2d`; dX and dW call the op's backward kernels directly
 * (`convDx`, `convDw`) so no forward is timed with them. TF.js: the kernels its gradient of
 * conv2d runs — `tf.conv2d`, `tf.conv2dTranspose` (Conv2DBackpropInput) and the
 * Conv2DBackpropFilter kernel via `tf.engine().runKernel` (what `tf.grads` calls). TF.js has
 * no grouped conv: a grouped row splits the activations (and dy) per call, runs one conv per
 * group and concatenates — what `tf.grads` of the split + conv + concat formulation executes
 * minus its forward. Weights are split once at setup (a TF.js model would keep them split).
 */
import type * as TF from '@tensorflow/tfjs';
import { randn } from '../../src/tensor/creation.js';
import { conv2d, convDw, convDx, convGeometry, convTuning } from '../../src/ops/conv2d/index.js';
import { matmul } from '../../src/ops/matmul.js';
import { mul } from '../../src/ops/binary.js';
import { sum } from '../../src/ops/reduce.js';
import { valueAndGrad } from '../../src/autodiff/grad.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { oursRunner, register, withCpuReference, type BenchCase, type Target } from '../registry.js';
import { tfjsRunner } from '../peers/tfjs.js';

export type ConvPass = 'fwd' | 'dX' | 'dW';

interface ConvShape {
  /** Row name prefix, e.g. `conv3x3/8x32x32x128`. */
  label: string;
  x: [number, number, number, number];
  k: number;
  cout: number;
  groups: number;
}

const TARGET_RATIO: Record<ConvPass, number> = { fwd: 6, dX: 8, dW: 20 };
/** The GEMM row of the same FLOPs as conv3x3/8x32x32x128 (M = N·H·W, K = 9·Cin, N = Cout). */
export const GEMM_EQ = 'gemm/8192x1152x128';

function convCase(s: ConvShape, pass: ConvPass, o: { reps: number; peerReps: number; heavy?: boolean; fullOnly?: boolean; peerSkipWarmupQuick?: boolean; targets?: Target[] }): BenchCase {
  const [n, h, w, cin] = s.x;
  const cig = cin / s.groups;
  const flops = 2 * n * h * w * s.cout * s.k * s.k * cig; // SAME, stride 1: output = input size
  const xBytes = 4 * n * h * w * cin;
  const yBytes = 4 * n * h * w * s.cout;
  const wBytes = 4 * s.k * s.k * cig * s.cout;
  const tfPad = 'same' as const;
  return {
    name: `${s.label}/${pass}`,
    group: 'conv',
    flops,
    bytes: xBytes + yBytes + wBytes,
    reps: o.reps,
    peerReps: o.peerReps,
    fullReps: 2 * o.reps,
    heavy: o.heavy,
    fullOnly: o.fullOnly,
    peerSkipWarmupQuick: o.peerSkipWarmupQuick,
    targets: [{ kind: 'ratio', min: TARGET_RATIO[pass] }, ...(o.targets ?? [])],
    note: s.groups > 1 && pass === 'fwd' ? `TF.js: split + ${s.groups} convs + concat per call (no grouped conv in TF.js)` : undefined,
    async ours({ gpu }) {
      const x = randn(s.x, { seed: 1 });
      const wt = randn([s.k, s.k, cig, s.cout], { seed: 2, std: 1 / Math.sqrt(s.k * s.k * cig) });
      const dy = randn([n, h, w, s.cout], { seed: 3 });
      const opts = { padding: 'SAME' as const, groups: s.groups };
      const g = convGeometry(x, wt, opts);
      const t = convTuning();
      const run =
        pass === 'fwd' ? () => conv2d(x, wt, opts).dispose() : pass === 'dX' ? () => convDx(dy, wt, g, t).dispose() : () => convDw(x, dy, g, t).dispose();
      return oursRunner(gpu, run, () => {
        for (const t of [x, wt, dy]) t.dispose();
      });
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const x = tf.randomNormal(s.x, 0, 1, 'float32', 1) as TF.Tensor4D;
      const wt = tf.randomNormal([s.k, s.k, cig, s.cout], 0, 1 / Math.sqrt(s.k * s.k * cig), 'float32', 2) as TF.Tensor4D;
      const dy = tf.randomNormal([n, h, w, s.cout], 0, 1, 'float32', 3) as TF.Tensor4D;
      const ws = s.groups > 1 ? (tf.split(wt, s.groups, 3) as TF.Tensor4D[]) : [wt];
      const split = (t: TF.Tensor4D) => (s.groups > 1 ? (tf.split(t, s.groups, 3) as TF.Tensor4D[]) : [t]);
      const join = (ts: TF.Tensor4D[]) => (ts.length > 1 ? tf.concat(ts, 3) : ts[0]!);
      const xg: [number, number, number, number] = [n, h, w, cig];
      const filterShape: [number, number, number, number] = [s.k, s.k, cig, s.cout / s.groups];
      const one = (i: number, xi: TF.Tensor4D, dyi: TF.Tensor4D): TF.Tensor4D => {
        if (pass === 'fwd') return tf.conv2d(xi, ws[i]!, 1, tfPad);
        if (pass === 'dX') return tf.conv2dTranspose(dyi, ws[i]!, xg, 1, tfPad);
        return tf.engine().runKernel('Conv2DBackpropFilter', { x: xi, dy: dyi }, { strides: 1, pad: tfPad, dataFormat: 'NHWC', filterShape } as never) as TF.Tensor4D;
      };
      const make = () =>
        tf.tidy(() => {
          const xs = pass === 'dX' ? ws.map(() => x) : split(x);
          const dys = pass === 'fwd' ? ws.map(() => dy) : split(dy);
          return join(ws.map((_, i) => one(i, xs[i]!, dys[i]!)));
        });
      return tfjsRunner(tfjs, make, () => {
        for (const t of [x, wt, dy, ...(ws.length > 1 ? ws : [])]) t.dispose();
      });
    },
  };
}

const conv3: ConvShape = { label: 'conv3x3/8x32x32x128', x: [8, 32, 32, 128], k: 3, cout: 128, groups: 1 };
const conv1: ConvShape = { label: 'conv1x1/8x32x32x128', x: [8, 32, 32, 128], k: 1, cout: 128, groups: 1 };
// NFNet-F0 stage 2 (192 px training: 24×24 after the stem's /4 and two stride-2 stages), 768 channels, group width 128.
const grouped: ConvShape = { label: 'gconv3x3/1x24x24x768g6', x: [1, 24, 24, 768], k: 3, cout: 768, groups: 6 };

register(
  {
    name: GEMM_EQ,
    group: 'conv',
    flops: 2 * 8192 * 1152 * 128,
    bytes: 4 * (8192 * 1152 + 1152 * 128 + 8192 * 128),
    reps: 2,
    heavy: true,
    note: 'ours only: the GEMM with the FLOPs of conv3x3/8x32x32x128 (M = 8·32·32, K = 9·128, N = 128)',
    async ours({ gpu }) {
      const a = randn([8192, 1152], { seed: 1 });
      const b = randn([1152, 128], { seed: 2 });
      return oursRunner(gpu, () => matmul(a, b).dispose(), () => {
        a.dispose();
        b.dispose();
      });
    },
  },
  // TF.js cpu reference points for the convs only in --full: the cpu backend takes seconds
  // to minutes per call at these shapes.
  ...withCpuReference(
    'full',
    // Our side takes 0.05–0.2 s a call: 5–7 repetitions steady its median (one slow
    // repetition of 3 moved conv1x1 dX from 6× to 3×); TF.js's 0.3–18 s calls keep 1–2.
    convCase(conv3, 'fwd', { reps: 5, peerReps: 1, heavy: true, targets: [{ kind: 'pctOfRow', row: GEMM_EQ, min: 70 }] }),
    convCase(conv3, 'dX', { reps: 5, peerReps: 1, heavy: true }),
    // TF.js's dW is the slowest side of the run (28 s a call here) and its warm-up measured
    // no first-call overhead (28.9 s warm-up vs 28.1 s timed; grouped 13.3 vs 13.7 s), so
    // quick mode times its first call and keeps the run under 5 minutes. --full warms it up.
    convCase(conv3, 'dW', { reps: 5, peerReps: 1, heavy: true, peerSkipWarmupQuick: true }),
    convCase(conv1, 'fwd', { reps: 7, peerReps: 2 }),
    convCase(conv1, 'dX', { reps: 7, peerReps: 1 }),
    convCase(conv1, 'dW', { reps: 7, peerReps: 1 }),
    convCase(grouped, 'fwd', { reps: 5, peerReps: 1, heavy: true }),
    convCase(grouped, 'dX', { reps: 5, peerReps: 1, heavy: true }),
    convCase(grouped, 'dW', { reps: 5, peerReps: 1, heavy: true, peerSkipWarmupQuick: true }),
  ),
);

// ---------------------------------------------------------------------------------------
// Depthwise convs of MBConv blocks (EfficientNet): ours through conv2d's depthwise path,
// TF.js through tf.depthwiseConv2d (filter [k, k, C, 1]: the same memory as our
// [k, k, 1, C]). `fwd` is the forward; `grad` the value and both gradients of Σ dy ⊙ conv,
// ours valueAndGrad, TF.js tf.grads (its DepthwiseConv2dNative backprop kernels).

interface DwShape {
  label: string;
  x: [number, number, number, number];
  k: number;
  stride: number;
}

function dwCase(s: DwShape, pass: 'fwd' | 'grad', reps: number): BenchCase {
  const [n, h, w, c] = s.x;
  const [ho, wo] = [Math.ceil(h / s.stride), Math.ceil(w / s.stride)];
  const macs = n * ho * wo * c * s.k * s.k;
  const bytes = 4 * (n * h * w * c + n * ho * wo * c + s.k * s.k * c);
  return {
    name: `${s.label}/${pass}`,
    group: 'conv',
    flops: 2 * macs * (pass === 'fwd' ? 1 : 3),
    bytes: pass === 'fwd' ? bytes : 3 * bytes,
    reps,
    peerReps: 2,
    note: pass === 'grad' ? 'value + dX + dW of Σ dy ⊙ conv; ours valueAndGrad, TF.js tf.grads of tf.depthwiseConv2d' : 'TF.js: tf.depthwiseConv2d',
    async ours({ gpu }) {
      const x = randn(s.x, { seed: 1 });
      const wt = randn([s.k, s.k, 1, c], { seed: 2, std: 1 / s.k });
      const dy = randn([n, ho, wo, c], { seed: 3 });
      const opts = { padding: 'SAME' as const, groups: c, stride: s.stride };
      const dispose = () => [x, wt, dy].forEach((t) => t.dispose());
      if (pass === 'fwd') return oursRunner(gpu, () => conv2d(x, wt, opts).dispose(), dispose);
      const f = valueAndGrad((a: Tensor, b: Tensor) => sum(mul(conv2d(a, b, opts), dy)));
      return {
        async run() {
          const [loss, grads] = await f(x, wt);
          [loss, ...grads].forEach((t) => t.dispose());
        },
        sync: () => gpu.sync(),
        dispose,
      };
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const x = tf.randomNormal(s.x, 0, 1, 'float32', 1) as TF.Tensor4D;
      const wt = tf.randomNormal([s.k, s.k, c, 1], 0, 1 / s.k, 'float32', 2) as TF.Tensor4D;
      const dy = tf.randomNormal([n, ho, wo, c], 0, 1, 'float32', 3) as TF.Tensor4D;
      const conv = (a: TF.Tensor, b: TF.Tensor) => tf.depthwiseConv2d(a as TF.Tensor4D, b as TF.Tensor4D, s.stride, 'same');
      const g = tf.grads((a: TF.Tensor, b: TF.Tensor) => tf.sum(tf.mul(conv(a, b), dy)));
      const make = () =>
        tf.tidy(() => {
          if (pass === 'fwd') return conv(x, wt);
          const [gx, gw] = g([x, wt]);
          return tf.add(tf.sum(gx!), tf.sum(gw!));
        });
      return tfjsRunner(tfjs, make, () => [x, wt, dy].forEach((t) => t.dispose()));
    },
  };
}

// EfficientNet-B0 at 224 px: stage 3's stride-2 3×3 (28×28 output from 56×56, 144
// channels, here its 28×28 input for a quick row) and stage 5's 5×5 at 14×14, 480 channels.
const dw3s2: DwShape = { label: 'dwconv3x3s2/8x28x28x144', x: [8, 28, 28, 144], k: 3, stride: 2 };
const dw5: DwShape = { label: 'dwconv5x5/8x14x14x480', x: [8, 14, 14, 480], k: 5, stride: 1 };

register(dwCase(dw3s2, 'fwd', 5), dwCase(dw3s2, 'grad', 3), dwCase(dw5, 'fwd', 5), dwCase(dw5, 'grad', 3));
