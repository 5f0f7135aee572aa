/**
 * Rows against every peer: the small conv net of bench/peers/small-net.ts (its first conv,
 * a conv's value and gradient, the net's inference at batch 32 and 1, its SGD step) on
 * ours, TF.js WebGPU, @jax-js/jax and onnxruntime-web's WebGPU EP (inference rows). Every
 * engine gets the same host inputs and weights, and each side's `result` is checked against
 * ours before it is timed (bench/check.ts).
 */
import type * as TF from '@tensorflow/tfjs';
import type * as Jax from '@jax-js/jax';
import { tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { valueAndGrad } from '../../src/autodiff/grad.js';
import { noGrad } from '../../src/autodiff/tape.js';
import { tidy } from '../../src/tensor/scope.js';
import { conv2d } from '../../src/ops/conv2d/index.js';
import { sub } from '../../src/ops/binary.js';
import { mulScalar, square } from '../../src/ops/unary.js';
import { mean } from '../../src/ops/reduce.js';
import { softmaxCrossEntropy } from '../../src/ops/loss.js';
import { register, type BenchCase, type Runner } from '../registry.js';
import type { TfjsPeer } from '../peers/tfjs.js';
import { jaxArray, jaxRunner } from '../peers/jax.js';
import { ortRunner } from '../peers/ort.js';
import { onnxModel } from '../peers/onnx.js';
import { concat, hostRandn, hwioToOihw, nchwToNhwc, nhwcToNchw, oihwToHwio } from '../peers/layout.js';
import { jaxLayout, jaxLoss, jaxNet, NET_CLASSES, NET_RES, netForwardFlops, netOnnx, netParams, oneHot, oursNet, tfjsNet } from '../peers/small-net.js';

type Shape4 = [number, number, number, number];
const LR = 0.05;

/** Ours: `run` records the work and returns its output tensors (freed at sync; `result` reads them). */
function oursSide(gpu: { sync(): Promise<void> }, run: () => Tensor[] | Promise<Tensor[]>, dispose: () => void): Runner {
  let pending: Tensor[] = [];
  return {
    async run() {
      pending.push(...(await run()));
    },
    async sync() {
      await gpu.sync();
      for (const t of pending) t.dispose();
      pending = [];
    },
    async result() {
      const outs = await run();
      const parts: Float32Array[] = [];
      for (const t of outs) parts.push((await t.data()) as Float32Array);
      for (const t of outs) t.dispose();
      return concat(parts);
    },
    dispose,
  };
}

/** TF.js: `run` returns tensors (kept alive outside tf.tidy by the caller's return). */
function tfjsSide(peer: TfjsPeer, run: () => TF.Tensor[], dispose: () => void): Runner {
  let pending: TF.Tensor[] = [];
  return {
    run() {
      pending.push(...run());
    },
    async sync() {
      await peer.sync();
      for (const t of pending) t.dispose();
      pending = [];
    },
    async result() {
      const outs = run();
      const parts: Float32Array[] = [];
      for (const t of outs) parts.push(Float32Array.from(await t.data()));
      for (const t of outs) t.dispose();
      return concat(parts);
    },
    dispose,
  };
}

const convFlops = (x: Shape4, cout: number, stride: number) => {
  const [n, h, w, cin] = x;
  return 2 * n * Math.ceil(h / stride) * Math.ceil(w / stride) * cout * 9 * cin;
};

/** One 3×3 SAME conv forward (no bias), NHWC result. */
function convFwdCase(x: Shape4, cout: number, reps: number): BenchCase {
  const [n, h, w, cin] = x;
  const xData = hostRandn(n * h * w * cin, 1);
  const wShape: Shape4 = [3, 3, cin, cout];
  const wData = hostRandn(9 * cin * cout, 2, Math.sqrt(2 / (9 * cin)));
  return {
    name: `small/conv3x3/${n}x${h}x${w}x${cin}-${cout}/fwd`,
    group: 'peers',
    flops: convFlops(x, cout, 1),
    bytes: 4 * (xData.length + wData.length + n * h * w * cout),
    reps,
    note: 'the small net\'s first conv (SAME, stride 1); jax-js lax.conv and ONNX Conv in NCHW/OIHW (inputs transposed on the host at setup)',
    async ours({ gpu }) {
      const xt = tensor(xData, x);
      const wt = tensor(wData, wShape);
      return oursSide(gpu, () => [conv2d(xt, wt, { padding: 'SAME' })], () => {
        xt.dispose();
        wt.dispose();
      });
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const xt = tf.tensor4d(xData, x);
      const wt = tf.tensor4d(wData, wShape);
      return tfjsSide(tfjs, () => [tf.conv2d(xt, wt, 1, 'same')], () => tf.dispose([xt, wt]));
    },
    engines: {
      async jax({ jax }) {
        const xa = jaxArray(jax, nhwcToNchw(xData, x), [n, cin, h, w]);
        const wa = jaxArray(jax, hwioToOihw(wData, wShape), [cout, cin, 3, 3]);
        return jaxRunner(() => jax.jax.lax.conv(xa.ref, wa.ref, [1, 1], 'SAME'), () => {
          xa.dispose();
          wa.dispose();
        }, (d) => nchwToNhwc(d, [n, cout, h, w]));
      },
      async ort({ ort }) {
        const model = onnxModel({
          nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } }],
          initializers: { w: { dims: [cout, cin, 3, 3], data: hwioToOihw(wData, wShape) } },
          inputs: [{ name: 'x', dims: [n, cin, h, w] }],
          outputs: [{ name: 'y', dims: [n, cout, h, w] }],
        });
        return ortRunner(ort, model, { x: { data: nhwcToNchw(xData, x), dims: [n, cin, h, w] } }, ['y'], (d) => nchwToNhwc(d, [n, cout, h, w]));
      },
    },
    checkTol: 1e-4,
  };
}

/** loss = mean(conv(x, w)²) and dloss/dw: the result is [loss, dW (HWIO)]. */
function convGradCase(x: Shape4, cout: number, reps: number): BenchCase {
  const [n, h, w, cin] = x;
  const xData = hostRandn(n * h * w * cin, 3);
  const wShape: Shape4 = [3, 3, cin, cout];
  const wData = hostRandn(9 * cin * cout, 4, Math.sqrt(2 / (9 * cin)));
  return {
    name: `small/conv3x3/${n}x${h}x${w}x${cin}-${cout}/value+grad`,
    group: 'peers',
    // forward + dW (no dX: the input is not differentiated)
    flops: 2 * convFlops(x, cout, 1),
    bytes: 4 * (xData.length + 2 * wData.length + n * h * w * cout),
    reps,
    note: 'loss = mean(conv3x3(x, w)²), value and dloss/dw; ours valueAndGrad, TF.js tf.valueAndGrads, jax-js jit(valueAndGrad)',
    async ours({ gpu }) {
      const xt = tensor(xData, x);
      const wt = tensor(wData, wShape);
      const f = valueAndGrad((wv: Tensor) => mean(square(conv2d(xt, wv, { padding: 'SAME' }))));
      return oursSide(gpu, async () => {
        const [v, [g]] = await f(wt);
        return [v, g];
      }, () => {
        xt.dispose();
        wt.dispose();
      });
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const xt = tf.tensor4d(xData, x);
      const wt = tf.tensor4d(wData, wShape);
      const f = tf.valueAndGrads((wv: TF.Tensor) => tf.mean(tf.square(tf.conv2d(xt, wv as TF.Tensor4D, 1, 'same'))));
      return tfjsSide(tfjs, () => {
        const { value, grads } = f([wt]);
        return [value, grads[0]!];
      }, () => tf.dispose([xt, wt]));
    },
    engines: {
      async jax({ jax }) {
        const { np } = jax;
        const xa = jaxArray(jax, nhwcToNchw(xData, x), [n, cin, h, w]);
        const wa = jaxArray(jax, hwioToOihw(wData, wShape), [cout, cin, 3, 3]);
        const f = jax.jax.jit(jax.jax.valueAndGrad((wv: Jax.Array, xv: Jax.Array) => np.mean(np.square(jax.jax.lax.conv(xv, wv, [1, 1], 'SAME')))));
        return jaxRunner(() => {
          const [v, g] = f(wa.ref, xa.ref) as unknown as [Jax.Array, Jax.Array];
          return [v, g];
        }, () => {
          xa.dispose();
          wa.dispose();
          f.dispose();
        }, (d, i) => (i === 1 ? oihwToHwio(d, [cout, cin, 3, 3]) : d));
      },
    },
  };
}

function netInputs(batch: number) {
  const x: Shape4 = [batch, NET_RES, NET_RES, 1];
  const xData = hostRandn(batch * NET_RES * NET_RES, 5);
  const labels = Int32Array.from({ length: batch }, (_, i) => i % NET_CLASSES);
  return { x, xData, labels };
}

/** Inference of the small net: logits [batch, 10]. */
function inferCase(batch: number, reps: number): BenchCase {
  const params = netParams();
  const { x, xData } = netInputs(batch);
  return {
    name: `small/net/b${batch}x${NET_RES}/infer`,
    group: 'peers',
    flops: netForwardFlops(batch),
    bytes: 4 * (xData.length + params.reduce((s, p) => s + p.data.length, 0) + batch * NET_CLASSES),
    reps,
    items: { count: batch, unit: 'img' },
    note: 'the small net (3 convs 1→16→32→64, strides 1,2,2, ReLU, global mean, linear) forward; ours noGrad inside tidy (TF.js: tf.tidy), jax-js jit, ORT one session (ONNX written by bench/peers/onnx.ts)',
    async ours({ gpu }) {
      const p = params.map((q) => tensor(q.data, q.shape));
      const xt = tensor(xData, x);
      return oursSide(gpu, () => [tidy(() => noGrad(() => oursNet(p, xt)))], () => {
        for (const t of [...p, xt]) t.dispose();
      });
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const p = params.map((q) => tf.tensor(q.data, q.shape));
      const xt = tf.tensor4d(xData, x);
      return tfjsSide(tfjs, () => [tf.tidy(() => tfjsNet(tf, p, xt))], () => tf.dispose([...p, xt]));
    },
    engines: {
      async jax({ jax }) {
        const p = jaxLayout(params).map((q) => jaxArray(jax, q.data, q.shape));
        const xa = jaxArray(jax, nhwcToNchw(xData, x), [batch, 1, NET_RES, NET_RES]);
        const f = jax.jax.jit((ps: Jax.Array[], xv: Jax.Array) => jaxNet(jax, ps, xv));
        return jaxRunner(() => f(p.map((a) => a.ref), xa.ref) as Jax.Array, () => {
          for (const a of [...p, xa]) a.dispose();
          f.dispose();
        });
      },
      async ort({ ort }) {
        const model = onnxModel(netOnnx(params, batch));
        return ortRunner(ort, model, { x: { data: nhwcToNchw(xData, x), dims: [batch, 1, NET_RES, NET_RES] } }, ['logits']);
      },
    },
  };
}

/**
 * The check of a step: [loss, (w_before − w_after) / lr for every parameter] — the
 * gradients the step applied, at their own scale (the weights themselves would hide a
 * wrong gradient under the tolerance).
 */
function stepResult(loss: Float32Array, before: readonly Float32Array[], after: readonly Float32Array[]): Float32Array {
  return concat([loss, ...after.map((w, i) => Float32Array.from(w, (v, k) => (before[i]![k]! - v) / LR))]);
}

/**
 * One SGD step of the small net (loss, gradients of all 8 parameters, w ← w − lr·g),
 * checked from the initial weights by stepResult.
 */
function sgdCase(batch: number, reps: number): BenchCase {
  const params = netParams();
  const { x, xData, labels } = netInputs(batch);
  const targets = oneHot(labels);
  return {
    name: `small/net/b${batch}x${NET_RES}/sgd-step`,
    group: 'peers',
    flops: 3 * netForwardFlops(batch),
    bytes: 0,
    reps,
    items: { count: batch, unit: 'img' },
    note: `plain SGD (lr ${LR}) on mean softmax cross-entropy; ours valueAndGrad + noGrad update, jax-js jit(valueAndGrad + update); no readback in the step`,
    async ours({ gpu }) {
      let p: Tensor[] = params.map((q) => tensor(q.data, q.shape));
      const xt = tensor(xData, x);
      const yt = tensor(labels, [batch], 'i32');
      const f = valueAndGrad((ps: Tensor[]) => softmaxCrossEntropy(oursNet(ps, xt), yt));
      const fresh = () => {
        for (const t of p) t.dispose();
        p = params.map((q) => tensor(q.data, q.shape));
      };
      const side = oursSide(gpu, async () => {
        const [loss, [g]] = await f(p);
        const next = tidy(() => noGrad(() => p.map((w, i) => sub(w, mulScalar(g[i]!, LR)))));
        for (const t of [...p, ...g]) t.dispose();
        p = next;
        return [loss];
      }, () => {
        for (const t of [...p, xt, yt]) t.dispose();
      });
      return {
        ...side,
        async result() {
          fresh();
          const loss = await side.result!();
          const after: Float32Array[] = [];
          for (const w of p) after.push((await w.data()) as Float32Array);
          return stepResult(loss, params.map((q) => q.data), after);
        },
      };
    },
    engines: {
      async jax({ jax }) {
        const host = jaxLayout(params);
        let p = host.map((q) => jaxArray(jax, q.data, q.shape));
        const xa = jaxArray(jax, nhwcToNchw(xData, x), [batch, 1, NET_RES, NET_RES]);
        const ya = jaxArray(jax, targets, [batch, NET_CLASSES]);
        const lossFn = (ps: Jax.Array[], xv: Jax.Array, yv: Jax.Array) => jaxLoss(jax, jaxNet(jax, ps, xv), yv);
        const step = jax.jax.jit((ps: Jax.Array[], xv: Jax.Array, yv: Jax.Array) => {
          const [loss, g] = jax.jax.valueAndGrad(lossFn)(ps.map((a) => a.ref), xv, yv) as unknown as [Jax.Array, Jax.Array[]];
          return [loss, ps.map((w, i) => w.sub(g[i]!.mul(LR)))];
        });
        const once = () => {
          const [loss, next] = step(p, xa.ref, ya.ref) as unknown as [Jax.Array, Jax.Array[]];
          p = next;
          return loss;
        };
        const side = jaxRunner(once, () => {
          for (const a of [...p, xa, ya]) a.dispose();
          step.dispose();
        });
        return {
          ...side,
          async result() {
            for (const a of p) a.dispose();
            p = host.map((q) => jaxArray(jax, q.data, q.shape));
            const loss = Float32Array.from((await once().data()) as Float32Array);
            const after: Float32Array[] = [];
            for (const [i, w] of p.entries()) {
              const d = Float32Array.from((await w.ref.data()) as Float32Array);
              after.push(host[i]!.shape.length === 4 ? oihwToHwio(d, host[i]!.shape as Shape4) : d);
            }
            return stepResult(loss, params.map((q) => q.data), after);
          },
        };
      },
    },
    checkTol: 1e-3,
  };
}

register(
  convFwdCase([32, 28, 28, 1], 16, 5),
  convGradCase([32, 14, 14, 16], 32, 5),
  inferCase(32, 5),
  inferCase(1, 10),
  sgdCase(32, 3),
);
