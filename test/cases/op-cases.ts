/**
 * One small deterministic case (or a few) per op of ops.definitions, forward and gradient. The same
 * list runs in Node and in headless Chromium (test/browser.test.ts); add a case here when
 * an op joins `definitions` in src/ops/index.ts — the browser test fails until every op is
 * covered.
 */
import * as R from '../ref.js';
import type { Arr } from '../ref.js';
import * as RN from '../ref-nn.js';
import { refConv2d, refSame, refWeightStandardize } from '../ref-conv.js';
import { batchNorm as refBatchNorm } from '../ref-norm.js';
import * as RT from '../ref-transformer.js';
import type { CaseResult, OpCase } from './types.js';

type Binary = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum';
type Compare = 'gt' | 'ge' | 'eq' | 'lt' | 'le';
type Unary = 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'square' | 'abs' | 'reciprocal' | 'relu' | 'sigmoid' | 'tanh';

const binaryRef: Record<Binary, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  maximum: Math.max,
  minimum: Math.min,
};

const compareRef: Record<Compare, (x: number, y: number) => number> = {
  gt: (x, y) => Number(x > y),
  ge: (x, y) => Number(x >= y),
  eq: (x, y) => Number(x === y),
  lt: (x, y) => Number(x < y),
  le: (x, y) => Number(x <= y),
};

/** Unary ops with the input range they are smooth on. */
const unaryRef: Record<Unary, { f: (x: number) => number; lo: number; hi: number }> = {
  neg: { f: (x) => -x, lo: -2, hi: 2 },
  exp: { f: Math.exp, lo: -2, hi: 2 },
  log: { f: Math.log, lo: 0.2, hi: 3 },
  sqrt: { f: Math.sqrt, lo: 0.2, hi: 3 },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), lo: 0.3, hi: 3 },
  square: { f: (x) => x * x, lo: -2, hi: 2 },
  abs: { f: Math.abs, lo: -2, hi: 2 },
  reciprocal: { f: (x) => 1 / x, lo: 0.4, hi: 2.5 },
  relu: { f: (x) => Math.max(x, 0), lo: -2, hi: 2 },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), lo: -4, hi: 4 },
  tanh: { f: Math.tanh, lo: -3, hi: 3 },
};

const mean = (v: number[]) => R.sum(v) / v.length;
const reshaped = (x: Arr, shape: number[]): Arr => ({ shape, data: x.data });
const zerosOf = (shape: number[]): Arr => R.arr(shape, new Float64Array(R.size(shape)));

/** The GAMMA constants of DESIGN.md (what `activation` uses when no gamma is given). */
const GAMMA_GELU = 1.7015043497085571;
const GAMMA_SILU = 1.7881293296813965;

/**
 * A random mask has no float64 reference; check its structure instead: y = x·keep·scale
 * with keep constant over each unit of `unit` elements, both outcomes present, and
 * dx = keep·scale·R.
 */
function maskCheck(scale: number, unit: number) {
  return ([x]: Arr[], r: Arr, res: CaseResult): string | null => {
    const keep: boolean[] = [];
    for (let i = 0; i < x!.data.length; i++) {
      const y = res.forward[i]!;
      const kept = Math.abs(y - x!.data[i]! * scale) <= 1e-6 * Math.abs(y);
      if (!kept && y !== 0) return `element ${i}: ${y} is neither 0 nor x·${scale} = ${x!.data[i]! * scale}`;
      keep.push(kept);
      if (keep[i - (i % unit)] !== kept) return `element ${i}: the mask is not constant over units of ${unit}`;
      const g = res.grads[0]![i]!;
      const want = kept ? scale * r.data[i]! : 0;
      if (Math.abs(g - want) > 1e-6 * Math.max(1, Math.abs(want))) return `gradient ${i}: ${g}, expected ${want}`;
    }
    if (keep.every(Boolean) || !keep.some(Boolean)) return `rate 0.5 kept ${keep.filter(Boolean).length} of ${keep.length}: not random`;
    return null;
  };
}

export const opCases: OpCase[] = [
  ...(Object.keys(binaryRef) as Binary[]).map(
    (op, i): OpCase => ({
      name: `${op}/broadcast`,
      ops: [op],
      // [2,1,3] with [4,1] → [2,4,3]; the divisor stays away from zero.
      inputs: [{ shape: [2, 1, 3], seed: 10 + i }, op === 'div' ? { shape: [4, 1], seed: 20 + i, lo: 0.5, hi: 2 } : { shape: [4, 1], seed: 20 + i }],
      fn: (L, a, b) => L.ops[op](a!, b!),
      ref: (a, b) => R.zip([a, b], binaryRef[op]),
    }),
  ),
  // Comparisons: 0/1 masks with no gradient of their own; integer inputs make ties so the
  // conventions at equality are pinned. The mask then scales c, whose gradient is checked.
  ...(Object.keys(compareRef) as Compare[]).map(
    (op, i): OpCase => ({
      name: `${op}/ties, mask·c`,
      ops: [op, 'mul'],
      inputs: [{ shape: [3, 4], seed: 30 + i, lo: -2, hi: 2, ints: true }, { shape: [4], seed: 40 + i, lo: -2, hi: 2, ints: true }, { shape: [3, 4], seed: 50 + i }],
      wrt: [2],
      fn: (L, a, b, c) => L.ops.mul(L.ops[op](a!, b!), c!),
      ref: (a, b, c) => R.zip([a, b, c], (x, y, z) => compareRef[op](x, y) * z),
    }),
  ),
  ...(Object.keys(unaryRef) as Unary[]).map(
    (op, i): OpCase => ({
      name: `${op}/[3,5]`,
      ops: [op],
      inputs: [{ shape: [3, 5], seed: 60 + i, lo: unaryRef[op].lo, hi: unaryRef[op].hi }],
      fn: (L, x) => L.ops[op](x!),
      ref: (x) => R.map(x, unaryRef[op].f),
    }),
  ),
  {
    name: 'pow/p=2.5',
    ops: ['pow'],
    inputs: [{ shape: [2, 7], seed: 80, lo: 0.3, hi: 2 }],
    fn: (L, x) => L.ops.pow(x!, 2.5),
    ref: (x) => R.map(x, (v) => v ** 2.5),
  },
  {
    name: 'affine/1.5x-0.25',
    ops: ['affine'],
    inputs: [{ shape: [9], seed: 81 }],
    fn: (L, x) => L.ops.affine(x!, 1.5, -0.25),
    ref: (x) => R.map(x, (v) => 1.5 * v - 0.25),
  },
  {
    name: 'where/broadcast cond',
    ops: ['where', 'gt'],
    inputs: [{ shape: [3, 1], seed: 82 }, { shape: [3, 4], seed: 83 }, { shape: [4], seed: 84 }],
    wrt: [1, 2],
    fn: (L, c, a, b) => L.ops.where(L.ops.gt(c!, L.zeros([])), a!, b!),
    ref: (c, a, b) => R.zip([c, a, b], (p, x, y) => (p > 0 ? x : y)),
  },
  {
    name: 'sum/axis 1 keepdims',
    ops: ['sum'],
    inputs: [{ shape: [2, 5, 3], seed: 85 }],
    fn: (L, x) => L.ops.sum(x!, { axes: 1, keepdims: true }),
    ref: (x) => R.reduce(x, [1], true, R.sum),
  },
  {
    name: 'mean/axes [0,2]',
    ops: ['mean'],
    inputs: [{ shape: [2, 3, 4], seed: 86 }],
    fn: (L, x) => L.ops.mean(x!, { axes: [0, 2] }),
    ref: (x) => R.reduce(x, [0, 2], false, mean),
  },
  {
    name: 'max/last axis',
    ops: ['max'],
    inputs: [{ shape: [3, 6], seed: 87 }],
    fn: (L, x) => L.ops.max(x!, { axes: -1 }),
    ref: (x) => R.reduce(x, [-1], false, (v) => Math.max(...v)),
  },
  {
    name: 'min/all',
    ops: ['min'],
    inputs: [{ shape: [4, 5], seed: 88 }],
    fn: (L, x) => L.ops.min(x!),
    ref: (x) => R.reduce(x, undefined, false, (v) => Math.min(...v)),
  },
  {
    name: 'reshape/[2,6]→[3,4]',
    ops: ['reshape', 'square'],
    inputs: [{ shape: [2, 6], seed: 89 }],
    // Squared so the gradient depends on the values, not only on the layout.
    fn: (L, x) => L.ops.square(L.ops.reshape(x!, [3, 4])),
    ref: (x) => R.map(reshaped(x, [3, 4]), (v) => v * v),
  },
  {
    name: 'broadcastTo/[3,1]→[2,3,4]',
    ops: ['broadcastTo'],
    inputs: [{ shape: [3, 1], seed: 90 }],
    fn: (L, x) => L.ops.broadcastTo(x!, [2, 3, 4]),
    ref: (x) => R.zip([x, zerosOf([2, 3, 4])], (v) => v),
  },
  {
    name: 'permute/[2,3,4]→[4,2,3]',
    ops: ['permute'],
    inputs: [{ shape: [2, 3, 4], seed: 91 }],
    fn: (L, x) => L.ops.permute(x!, [2, 0, 1]),
    ref: (x) => R.permute(x, [2, 0, 1]),
  },
  {
    name: 'slice/interior',
    ops: ['slice'],
    inputs: [{ shape: [4, 5, 3], seed: 92 }],
    fn: (L, x) => L.ops.slice(x!, [1, 2, 0], [2, 3, 2]),
    ref: (x) => R.slice(x, [1, 2, 0], [2, 3, 2]),
  },
  {
    name: 'pad/asymmetric, value 0.5',
    ops: ['pad'],
    inputs: [{ shape: [2, 3], seed: 93 }],
    fn: (L, x) => L.ops.pad(x!, [[1, 0], [2, 1]], 0.5),
    ref: (x) => R.pad(x, [[1, 0], [2, 1]], 0.5),
  },
  {
    name: 'concat/axis 1',
    ops: ['concat'],
    inputs: [{ shape: [2, 2, 3], seed: 94 }, { shape: [2, 3, 3], seed: 95 }],
    fn: (L, a, b) => L.ops.concat([a!, b!], 1),
    ref: (a, b) => R.concat([a, b], 1),
  },
  {
    name: 'matmul/batched [2,3,4]·[4,5]',
    ops: ['matmul'],
    inputs: [{ shape: [2, 3, 4], seed: 96 }, { shape: [4, 5], seed: 97 }],
    fn: (L, a, b) => L.ops.matmul(a!, b!),
    ref: (a, b) => R.matmul(a, b),
  },
  {
    name: 'matmul/transposeA,B',
    ops: ['matmul'],
    inputs: [{ shape: [6, 3], seed: 98 }, { shape: [5, 6], seed: 99 }],
    fn: (L, a, b) => L.ops.matmul(a!, b!, { transposeA: true, transposeB: true }),
    ref: (a, b) => R.matmul(a, b, true, true),
  },
  {
    // 40 ≥ 32 columns and 36 ≥ 4 rows: the quad-shared GEMM where the adapter has subgroups
    // (SwiftShader in Node, and Chromium's when it offers them); a partial band and TM = 9.
    name: 'matmul/wide [2,36,12]·[12,40]',
    ops: ['matmul'],
    inputs: [{ shape: [2, 36, 12], seed: 121 }, { shape: [12, 40], seed: 122 }],
    fn: (L, a, b) => L.ops.matmul(a!, b!),
    ref: (a, b) => R.matmul(a, b),
  },
  {
    // One row: the gemv kernel (four columns per invocation, a partial last group, a K tail).
    name: 'matmul/one row [2,1,9]·[9,14]ᵀ',
    ops: ['matmul'],
    inputs: [{ shape: [2, 1, 9], seed: 123 }, { shape: [14, 9], seed: 124 }],
    fn: (L, a, b) => L.ops.matmul(a!, b!, { transposeB: true }),
    ref: (a, b) => R.matmul(a, b, false, true),
  },
  {
    name: 'softmax/last axis',
    ops: ['softmax'],
    inputs: [{ shape: [3, 7], seed: 100, lo: -3, hi: 3 }],
    fn: (L, x) => L.ops.softmax(x!, -1),
    ref: (x) => R.softmax(x, -1, false),
  },
  {
    name: 'logSoftmax/axis 0',
    ops: ['logSoftmax'],
    inputs: [{ shape: [5, 4], seed: 101, lo: -3, hi: 3 }],
    fn: (L, x) => L.ops.logSoftmax(x!, 0),
    ref: (x) => R.softmax(x, 0, true),
  },
  {
    name: 'activation/gelu + bias, default gamma',
    ops: ['activation'],
    inputs: [{ shape: [2, 3, 4], seed: 102, lo: -3, hi: 3 }, { shape: [4], seed: 103 }],
    fn: (L, x, b) => L.ops.activation(x!, { kind: 'gelu', bias: b! }),
    ref: (x, b) => RN.activation(x, 'gelu', GAMMA_GELU, b),
  },
  {
    name: 'activation/silu',
    ops: ['activation'],
    inputs: [{ shape: [3, 5], seed: 104, lo: -3, hi: 3 }],
    fn: (L, x) => L.ops.activation(x!, { kind: 'silu' }),
    ref: (x) => RN.activation(x, 'silu', GAMMA_SILU),
  },
  {
    name: 'avgPool/2x2 s2 SAME, odd 5x5',
    ops: ['avgPool'],
    inputs: [{ shape: [2, 5, 5, 3], seed: 105 }],
    fn: (L, x) => L.ops.avgPool(x!, { size: 2, stride: 2, padding: 'SAME' }),
    ref: (x) => RN.avgPool(x, [2, 2], [2, 2], 'SAME'),
  },
  {
    name: 'maxPool/3x3 s2 SAME, odd 7x7',
    ops: ['maxPool'],
    inputs: [{ shape: [1, 7, 7, 2], seed: 115 }],
    fn: (L, x) => L.ops.maxPool(x!, { size: 3, stride: 2, padding: 'SAME' }),
    ref: (x) => RN.maxPool(x, [3, 3], [2, 2], 'SAME'),
  },
  {
    name: 'mask/dropout rate 0.5',
    ops: ['mask'],
    inputs: [{ shape: [4, 8], seed: 106, lo: 0.1, hi: 1 }],
    fn: (L, x) => L.ops.dropout(x!, { rate: 0.5, seed: 7 }),
    check: maskCheck(2, 1),
  },
  {
    name: 'mask/stochasticDepth rate 0.5',
    ops: ['mask'],
    inputs: [{ shape: [8, 2, 3], seed: 107, lo: 0.1, hi: 1 }],
    fn: (L, x) => L.ops.stochasticDepth(x!, { rate: 0.5, seed: 11 }),
    check: maskCheck(1, 6),
  },
  {
    name: 'softmaxCrossEntropy/class ids, smoothing 0.1',
    ops: ['softmaxCrossEntropy'],
    inputs: [{ shape: [4, 5], seed: 108, lo: -3, hi: 3 }, { shape: [4], seed: 109, lo: -0.49, hi: 4.49, dtype: 'i32' }],
    fn: (L, z, ids) => L.ops.softmaxCrossEntropy(z!, ids!, { labelSmoothing: 0.1 }),
    ref: (z, ids) => RN.softmaxCrossEntropy(z, RN.oneHot(Array.from(ids.data), 5), 0.1),
  },
  {
    name: 'softmaxCrossEntropy/soft targets',
    ops: ['softmaxCrossEntropy'],
    inputs: [{ shape: [3, 4], seed: 110, lo: -3, hi: 3 }, { shape: [3, 4], seed: 111, lo: 0, hi: 0.5 }],
    fn: (L, z, t) => L.ops.softmaxCrossEntropy(z!, t!),
    ref: (z, t) => RN.softmaxCrossEntropy(z, t, 0),
  },
  {
    name: 'conv2d/3x3 s2 SAME groups 2, odd 5x5',
    ops: ['conv2d'],
    inputs: [{ shape: [2, 5, 5, 4], seed: 112 }, { shape: [3, 3, 2, 6], seed: 113 }],
    fn: (L, x, w) => L.ops.conv2d(x!, w!, { stride: 2, padding: 'SAME', groups: 2 }),
    ref: (x, w) => refConv2d(x, w, { stride: [2, 2], pads: [refSame(5, 3, 2), refSame(5, 3, 2)], groups: 2 }),
  },
  {
    // The depthwise path (shaders/conv2d-depthwise.wgsl): forward, dX and the sliding-window dW.
    name: 'conv2d/depthwise 5x5 s2 SAME, 6 channels',
    ops: ['conv2d'],
    inputs: [{ shape: [2, 6, 5, 6], seed: 130 }, { shape: [5, 5, 1, 6], seed: 131 }],
    fn: (L, x, w) => L.ops.conv2d(x!, w!, { stride: 2, padding: 'SAME', groups: 6 }),
    ref: (x, w) => refConv2d(x, w, { stride: [2, 2], pads: [refSame(6, 5, 2), refSame(5, 5, 2)], groups: 6 }),
  },
  {
    // The quad small-channel forward applies bias + gelu in its store (shaders/epilogue.wgsl) on SwiftShader.
    name: 'fusedConv2d/3x3 SAME 1→16, bias + gelu',
    ops: ['fusedConv2d'],
    inputs: [{ shape: [2, 6, 7, 1], seed: 140 }, { shape: [3, 3, 1, 16], seed: 141 }, { shape: [16], seed: 142 }],
    fn: (L, x, w, b) => L.ops.fusedConv2d(x!, w!, { padding: 'SAME', bias: b!, activation: 'gelu' }),
    ref: (x, w, b) => RN.activation(refConv2d(x, w, { pads: [refSame(6, 3, 1), refSame(7, 3, 1)] }), 'gelu', GAMMA_GELU, b),
  },
  {
    name: 'conv2d/1x1 VALID',
    ops: ['conv2d'],
    inputs: [{ shape: [1, 3, 2, 5], seed: 114 }, { shape: [1, 1, 5, 3], seed: 115 }],
    fn: (L, x, w) => L.ops.conv2d(x!, w!),
    ref: (x, w) => refConv2d(x, w),
  },
  {
    name: 'weightStandardize/HWIO [3,3,2,4]',
    ops: ['weightStandardize'],
    inputs: [{ shape: [3, 3, 2, 4], seed: 116 }, { shape: [4], seed: 117, lo: 0.5, hi: 1.5 }],
    fn: (L, w, g) => L.ops.weightStandardize(w!, g!),
    ref: (w, g) => refWeightStandardize(w, g),
  },
  {
    name: 'residual/x + 0.2·g·h, scalar gain',
    ops: ['residual'],
    inputs: [{ shape: [2, 3, 4], seed: 118 }, { shape: [2, 3, 4], seed: 119 }, { shape: [], seed: 120, lo: 0.5, hi: 2 }],
    fn: (L, x, h, g) => L.ops.residual(x!, h!, g!, 0.2),
    ref: (x, h, g) => R.zip([x, h, g], (a, b, c) => a + 0.2 * c * b),
  },
  {
    // Training: the batch's statistics (the running ones, inputs 3 and 4, are updated in place and not differentiated).
    name: 'batchNorm/training NHWC [2,3,3,4], relu',
    ops: ['batchNorm'],
    inputs: [{ shape: [2, 3, 3, 4], seed: 121, lo: -2, hi: 3 }, { shape: [4], seed: 122, lo: 0.5, hi: 1.5 }, { shape: [4], seed: 123 }, { shape: [4], seed: 124 }, { shape: [4], seed: 125, lo: 0.5, hi: 2 }],
    fn: (L, x, w, b, rm, rv) => L.ops.batchNorm(x!, w!, b!, rm!, rv!, { training: true, activation: 'relu' }),
    ref: (x, w, b) => refBatchNorm(x, w, b, 1e-5, 'relu'),
    wrt: [0, 1, 2],
    fwdTol: 1e-4,
    gradTol: 1e-4,
  },
  {
    name: 'batchNorm/eval [6,5] (running statistics), silu',
    ops: ['batchNorm'],
    inputs: [{ shape: [6, 5], seed: 126, lo: -2, hi: 2 }, { shape: [5], seed: 127, lo: 0.5, hi: 1.5 }, { shape: [5], seed: 128 }, { shape: [5], seed: 129 }, { shape: [5], seed: 130, lo: 0.5, hi: 2 }],
    fn: (L, x, w, b, rm, rv) => L.ops.batchNorm(x!, w!, b!, rm!, rv!, { training: false, activation: 'silu' }),
    ref: (x, w, b, rm, rv) => refBatchNorm(x, w, b, 1e-5, 'silu', { mean: rm, variance: rv }),
    wrt: [0, 1, 2],
    gradTol: 1e-4,
  },
  {
    name: 'layerNorm/[2,3,5], eps 1e-6',
    ops: ['layerNorm'],
    inputs: [{ shape: [2, 3, 5], seed: 121, lo: -2, hi: 2 }, { shape: [5], seed: 122, lo: 0.5, hi: 1.5 }, { shape: [5], seed: 123 }],
    fn: (L, x, w, b) => L.ops.layerNorm(x!, w!, b!),
    ref: (x, w, b) => RT.layerNorm(x, w, b),
  },
  {
    name: 'attention/[2,2,5,3], scale d^-½',
    ops: ['attention'],
    inputs: [{ shape: [2, 2, 5, 3], seed: 124, lo: -2, hi: 2 }, { shape: [2, 2, 5, 3], seed: 125, lo: -2, hi: 2 }, { shape: [2, 2, 5, 3], seed: 126 }],
    fn: (L, q, k, v) => L.ops.attention(q!, k!, v!),
    ref: (q, k, v) => RT.attention(q, k, v, 1 / Math.sqrt(3)),
  },
  {
    name: 'patchify/[2,6,9,3], patch 3',
    ops: ['patchify'],
    inputs: [{ shape: [2, 6, 9, 3], seed: 127 }],
    fn: (L, x) => L.ops.patchify(x!, 3),
    ref: (x) => RT.patchify(x, 3),
  },
];
