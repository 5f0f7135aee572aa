/**
 * The small conv net the peer rows share, written once per engine from one set of host
 * weights: 3×3 conv 1→16 (stride 1) → ReLU → 3×3 conv 16→32 (stride 2) → ReLU → 3×3 conv
 * 32→64 (stride 2) → ReLU → global mean → linear 64→10. Convs have biases and TensorFlow
 * SAME padding (JAX's 'SAME' is the same rule; ONNX gets explicit pads), on 28×28×1 inputs:
 * 28×28, 14×14 and 7×7 maps. Loss: mean softmax cross-entropy over one-hot labels.
 */
import type * as TF from '@tensorflow/tfjs';
import type * as Jax from '@jax-js/jax';
import type { Tensor } from '../../src/tensor/tensor.js';
import { fusedConv2d, samePadding } from '../../src/ops/conv2d/index.js';
import { globalMeanPool } from '../../src/ops/pool.js';
import { linear } from '../../src/ops/linear.js';
import { hostRandn, hwioToOihw } from './layout.js';
import type { OnnxGraph, OnnxNode } from './onnx.js';
import type { JaxPeer } from './jax.js';

export const NET_RES = 28;
export const NET_CLASSES = 10;
/** [cin, cout, stride] of the three convs. */
export const NET_CONVS = [
  [1, 16, 1],
  [16, 32, 2],
  [32, 64, 2],
] as const;
const FEATURES = 64;

export interface HostParam {
  shape: number[];
  data: Float32Array;
}

/** conv weights (HWIO) and biases, then the linear layer's weight (in, out) and bias. He-normal weights, small biases. */
export function netParams(seed = 7): HostParam[] {
  const out: HostParam[] = [];
  NET_CONVS.forEach(([cin, cout], i) => {
    out.push({ shape: [3, 3, cin, cout], data: hostRandn(9 * cin * cout, seed + 2 * i, Math.sqrt(2 / (9 * cin))) });
    out.push({ shape: [cout], data: hostRandn(cout, seed + 2 * i + 1, 0.1) });
  });
  out.push({ shape: [FEATURES, NET_CLASSES], data: hostRandn(FEATURES * NET_CLASSES, seed + 10, Math.sqrt(1 / FEATURES)) });
  out.push({ shape: [NET_CLASSES], data: hostRandn(NET_CLASSES, seed + 11, 0.1) });
  return out;
}

/** Multiply-adds × 2 of one forward pass over `batch` images. */
export function netForwardFlops(batch: number): number {
  let res = NET_RES;
  let flops = 0;
  for (const [cin, cout, stride] of NET_CONVS) {
    res = Math.ceil(res / stride);
    flops += 2 * batch * res * res * cout * 9 * cin;
  }
  return flops + 2 * batch * FEATURES * NET_CLASSES;
}

export function oneHot(labels: Int32Array, classes = NET_CLASSES): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => (out[i * classes + l] = 1));
  return out;
}

/**
 * Ours (NHWC, HWIO): each layer is one `fusedConv2d` (relu(conv + bias), gamma 1). In
 * inference the conv kernels apply bias + ReLU in their store; while a gradient is
 * recorded it is conv2d then the fused bias + activation op.
 */
export function oursNet(p: readonly Tensor[], x: Tensor): Tensor {
  let h = x;
  NET_CONVS.forEach(([, , stride], i) => {
    h = fusedConv2d(h, p[2 * i]!, { stride, padding: 'SAME', bias: p[2 * i + 1]!, activation: 'relu', gamma: 1 });
  });
  return linear(globalMeanPool(h), p[6]!, p[7]!);
}

/** TF.js (NHWC, HWIO: our layout); its fused conv + bias + ReLU, as ours. */
export function tfjsNet(tf: typeof TF, p: readonly TF.Tensor[], x: TF.Tensor4D): TF.Tensor2D {
  let h = x;
  NET_CONVS.forEach(([, , stride], i) => {
    h = tf.fused.conv2d({ x: h, filter: p[2 * i] as TF.Tensor4D, strides: stride, pad: 'same', bias: p[2 * i + 1]!, activation: 'relu' });
  });
  return tf.add(tf.matMul(tf.mean(h, [1, 2]) as TF.Tensor2D, p[6] as TF.Tensor2D), p[7]!) as TF.Tensor2D;
}

/** jax-js (NCHW, OIHW). Consumes `p` and `x` (jax-js ownership: pass `.ref`s to keep them). */
export function jaxNet(j: JaxPeer, p: Jax.Array[], x: Jax.Array): Jax.Array {
  const { np, jax } = j;
  let h = x;
  NET_CONVS.forEach(([, cout, stride], i) => {
    const y = jax.lax.conv(h, p[2 * i]!, [stride, stride], 'SAME');
    h = jax.nn.relu(y.add(p[2 * i + 1]!.reshape([1, cout, 1, 1])));
  });
  return np.matmul(np.mean(h, [2, 3]), p[6]!).add(p[7]!);
}

/** Mean softmax cross-entropy of jax-js logits against one-hot targets (consumes both). */
export function jaxLoss(j: JaxPeer, logits: Jax.Array, targets: Jax.Array): Jax.Array {
  const { np, jax } = j;
  return np.mean(np.sum(jax.nn.logSoftmax(logits, -1).mul(targets), [1])).neg();
}

/** The host params in jax-js's layout (conv weights OIHW), in order. */
export function jaxLayout(params: readonly HostParam[]): HostParam[] {
  return params.map((p) =>
    p.shape.length === 4 ? { shape: [p.shape[3]!, p.shape[2]!, p.shape[0]!, p.shape[1]!], data: hwioToOihw(p.data, p.shape as [number, number, number, number]) } : p,
  );
}

/** The inference graph as ONNX (NCHW input `x` [batch, 1, 28, 28] → `logits` [batch, 10]). */
export function netOnnx(params: readonly HostParam[], batch: number): OnnxGraph {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxGraph['initializers'] = {};
  const oihw = jaxLayout(params);
  let h = 'x';
  let res = NET_RES;
  NET_CONVS.forEach(([, , stride], i) => {
    const [before, after] = samePadding(res, 3, stride, 1);
    res = Math.ceil(res / stride);
    initializers[`w${i}`] = { dims: oihw[2 * i]!.shape, data: oihw[2 * i]!.data };
    initializers[`b${i}`] = { dims: oihw[2 * i + 1]!.shape, data: oihw[2 * i + 1]!.data };
    nodes.push({ op: 'Conv', inputs: [h, `w${i}`, `b${i}`], outputs: [`c${i}`], attrs: { kernel_shape: [3, 3], strides: [stride, stride], pads: [before, before, after, after] } });
    nodes.push({ op: 'Relu', inputs: [`c${i}`], outputs: [`r${i}`] });
    h = `r${i}`;
  });
  initializers.wf = { dims: params[6]!.shape, data: params[6]!.data };
  initializers.bf = { dims: params[7]!.shape, data: params[7]!.data };
  nodes.push({ op: 'GlobalAveragePool', inputs: [h], outputs: ['pooled'] });
  nodes.push({ op: 'Flatten', inputs: ['pooled'], outputs: ['features'], attrs: { axis: 1 } });
  nodes.push({ op: 'Gemm', inputs: ['features', 'wf', 'bf'], outputs: ['logits'] });
  return { nodes, initializers, inputs: [{ name: 'x', dims: [batch, 1, NET_RES, NET_RES] }], outputs: [{ name: 'logits', dims: [batch, NET_CLASSES] }] };
}
