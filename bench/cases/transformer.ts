/**
 * The transformer ops at ViT-tiny shapes (batch 8, 197 tokens, width 192, 3 heads of 64):
 * layerNorm on [8·197, 192] and scaled dot-product attention on [8, 3, 197, 64], forward and
 * value+grad, each against TF.js on the same adapter (layer norm as the tf.moments
 * composite, attention as tf.matMul + tf.softmax + tf.matMul, gradients by tf.grads), with
 * the same host inputs and each peer's result checked against ours before timing.
 */
// Direct module imports (not src/index.js) keep a row runnable while unrelated ops are mid-edit.
import type * as TF from '@tensorflow/tfjs';
import { tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { valueAndGrad } from '../../src/autodiff/grad.js';
import { layerNorm } from '../../src/ops/layer-norm.js';
import { attention } from '../../src/ops/attention.js';
import { mul } from '../../src/ops/binary.js';
import { sum } from '../../src/ops/reduce.js';
import { register, type BenchCase, type Runner } from '../registry.js';
import type { TfjsPeer } from '../peers/tfjs.js';
import { hostRandn } from '../peers/layout.js';
import type { Gpu } from '../../src/runtime/init.js';

const ROWS = 8 * 197;
const WIDTH = 192;
const LN_EPS = 1e-6;
const ATT: [number, number, number, number] = [8, 3, 197, 64];
const ATT_N = ATT.reduce((a, b) => a * b, 1);
/** Multiply-adds of one of attention's GEMMs (q·kᵀ, P·v and each backward product): B·H·T·T·d. */
const ATT_MACS = ATT[0] * ATT[1] * ATT[2] * ATT[2] * ATT[3];
const ATT_P = ATT[0] * ATT[1] * ATT[2] * ATT[2];

/** Concatenate Float32Arrays (a row's result: output, then gradients). */
function joined(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Ours: `make` records the work and returns the tensors it made (freed at sync; `result` reads them). */
function oursRows(gpu: Gpu, inputs: Tensor[], make: () => Promise<Tensor[]> | Tensor[]): Runner {
  let pending: Tensor[] = [];
  return {
    async run() {
      pending.push(...(await make()));
    },
    async sync() {
      await gpu.sync();
      for (const t of pending) t.dispose();
      pending = [];
    },
    async result() {
      const ts = await make();
      const parts = [];
      for (const t of ts) parts.push((await t.data()) as Float32Array);
      for (const t of ts) t.dispose();
      return joined(parts);
    },
    dispose() {
      for (const t of [...pending, ...inputs]) t.dispose();
    },
  };
}

/** TF.js: `make` returns the tensors of one repetition (disposed at sync). */
function peerRows(tfjs: TfjsPeer, inputs: TF.Tensor[], make: () => TF.Tensor[]): Runner {
  let pending: TF.Tensor[] = [];
  return {
    run() {
      pending.push(...make());
    },
    async sync() {
      await tfjs.sync();
      for (const t of pending) t.dispose();
      pending = [];
    },
    async result() {
      const ts = make();
      const parts = [];
      for (const t of ts) parts.push(Float32Array.from(await t.data()));
      for (const t of ts) t.dispose();
      return joined(parts);
    },
    dispose() {
      for (const t of [...pending, ...inputs]) t.dispose();
    },
  };
}

// ---------------------------------------------------------------- layer norm

const lnData = { x: hostRandn(ROWS * WIDTH, 1), w: hostRandn(WIDTH, 2, 0.2).map((v) => 1 + v), b: hostRandn(WIDTH, 3, 0.2), dy: hostRandn(ROWS * WIDTH, 4) };

export function tfLayerNorm(tf: typeof TF, x: TF.Tensor, w: TF.Tensor, b: TF.Tensor, eps = LN_EPS): TF.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), w), b);
}

function lnOurs(gpu: Gpu, grad: boolean): Runner {
  const x = tensor(lnData.x, [ROWS, WIDTH]);
  const w = tensor(lnData.w, [WIDTH]);
  const b = tensor(lnData.b, [WIDTH]);
  const dy = tensor(lnData.dy, [ROWS, WIDTH]);
  const f = valueAndGrad((x: Tensor, w: Tensor, b: Tensor) => sum(mul(layerNorm(x, w, b), dy)));
  return oursRows(gpu, [x, w, b, dy], async () => {
    if (!grad) return [layerNorm(x, w, b)];
    const [loss, gs] = await f(x, w, b);
    loss.dispose();
    return gs;
  });
}

function lnPeer(tfjs: TfjsPeer, grad: boolean): Runner {
  const { tf } = tfjs;
  const x = tf.tensor2d(lnData.x, [ROWS, WIDTH]);
  const w = tf.tensor1d(lnData.w);
  const b = tf.tensor1d(lnData.b);
  const dy = tf.tensor2d(lnData.dy, [ROWS, WIDTH]);
  const g = tf.grads((x: TF.Tensor, w: TF.Tensor, b: TF.Tensor) => tf.sum(tf.mul(tfLayerNorm(tf, x, w, b), dy)));
  return peerRows(tfjs, [x, w, b, dy], () => (grad ? g([x, w, b]) : [tf.tidy(() => tfLayerNorm(tf, x, w, b))]));
}

const LN_N = ROWS * WIDTH;
const layerNormCases: BenchCase[] = [
  {
    name: `layerNorm/${ROWS}x${WIDTH}/fwd`,
    group: 'transformer',
    flops: 8 * LN_N,
    bytes: 8 * LN_N,
    reps: 10,
    note: 'ViT-tiny token rows; TF.js: tf.moments + elementwise ops',
    ours: async ({ gpu }) => lnOurs(gpu, false),
    peer: async ({ tfjs }) => lnPeer(tfjs, false),
  },
  {
    name: `layerNorm/${ROWS}x${WIDTH}/fwd+bwd`,
    group: 'transformer',
    flops: 24 * LN_N,
    bytes: 20 * LN_N,
    reps: 5,
    note: 'gradients of Σ LN(x)·dY w.r.t. x, weight, bias; ours valueAndGrad, TF.js tf.grads of the composite',
    ours: async ({ gpu }) => lnOurs(gpu, true),
    peer: async ({ tfjs }) => lnPeer(tfjs, true),
  },
];

// ---------------------------------------------------------------- attention

const attData = { q: hostRandn(ATT_N, 5), k: hostRandn(ATT_N, 6), v: hostRandn(ATT_N, 7), dy: hostRandn(ATT_N, 8) };
const ATT_SCALE = 1 / Math.sqrt(ATT[3]);

export function tfAttention(tf: typeof TF, q: TF.Tensor, k: TF.Tensor, v: TF.Tensor, scale = ATT_SCALE): TF.Tensor {
  return tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale)), v);
}

function attOurs(gpu: Gpu, grad: boolean): Runner {
  const [q, k, v, dy] = [attData.q, attData.k, attData.v, attData.dy].map((d) => tensor(d, ATT)) as [Tensor, Tensor, Tensor, Tensor];
  const f = valueAndGrad((q: Tensor, k: Tensor, v: Tensor) => sum(mul(attention(q, k, v), dy)));
  return oursRows(gpu, [q, k, v, dy], async () => {
    if (!grad) return [attention(q, k, v)];
    const [loss, gs] = await f(q, k, v);
    loss.dispose();
    return gs;
  });
}

function attPeer(tfjs: TfjsPeer, grad: boolean): Runner {
  const { tf } = tfjs;
  const [q, k, v, dy] = [attData.q, attData.k, attData.v, attData.dy].map((d) => tf.tensor4d(d, ATT));
  const g = tf.grads((q: TF.Tensor, k: TF.Tensor, v: TF.Tensor) => tf.sum(tf.mul(tfAttention(tf, q, k, v), dy!)));
  return peerRows(tfjs, [q!, k!, v!, dy!], () => (grad ? g([q!, k!, v!]) : [tf.tidy(() => tfAttention(tf, q!, k!, v!))]));
}

const attentionCases: BenchCase[] = [
  {
    name: `attention/${ATT.join('x')}/fwd`,
    group: 'transformer',
    flops: 4 * ATT_MACS + 5 * ATT_P,
    bytes: 4 * (4 * ATT_N) + 8 * ATT_P,
    reps: 5,
    peerReps: 3,
    note: 'softmax(q·kᵀ/√d)·v, ViT-tiny (B 8, 3 heads, T 197, d 64); TF.js: tf.matMul + tf.mul + tf.softmax + tf.matMul',
    ours: async ({ gpu }) => attOurs(gpu, false),
    peer: async ({ tfjs }) => attPeer(tfjs, false),
  },
  {
    name: `attention/${ATT.join('x')}/fwd+bwd`,
    group: 'transformer',
    flops: 12 * ATT_MACS + 10 * ATT_P, // six GEMMs (two forward, four backward)
    bytes: 4 * (8 * ATT_N) + 16 * ATT_P,
    reps: 3,
    peerReps: 1, // TF.js takes ~25 s a call here: one timed call after its warm-up keeps the quick run short
    note: 'gradients of Σ attention·dY w.r.t. q, k, v; ours valueAndGrad (P saved, fused softmax backward), TF.js tf.grads of the composite',
    ours: async ({ gpu }) => attOurs(gpu, true),
    peer: async ({ tfjs }) => attPeer(tfjs, true),
  },
];

register(...layerNormCases, ...attentionCases);
