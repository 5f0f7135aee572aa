/**
 * conv2d on NHWC activations and HWIO weights [kh, kw, cin/groups, cout], with stride,
 * TensorFlow 'SAME' / 'VALID' / explicit padding, dilation and groups (depthwise
 * included). This file is the op: validation (geometry.ts), the launch configuration of
 * the call (tuning.ts), and forward / backward through the algorithm tables
 * (algorithms.ts: direct implicit GEMM, shared-tile implicit GEMM, pointwise GEMM, Winograd, stride-phase dX,
 * split-K dW, depthwise, one file each). Bias is a separate add, or fused with an
 * activation by `fusedConv2d` (fused.ts). Saves x and w (w is typically the
 * weight-standardized Ŵ, so standardization runs once per step and Ŵ is reused by
 * forward, dX and dW).
 */
import { defineOp } from '../../autodiff/op.js';
import { checkTensors, type Tensor } from '../../tensor/tensor.js';
import { activeTape } from '../../autodiff/tape.js';
import { assertF32, backend } from '../util.js';
import { convDw, convDx, convForward } from './algorithms.js';
import { checkConvGrids, checkConvOptions, convGeometry, type Conv2dOptions } from './geometry.js';
import { convTuning } from './tuning.js';

export { CONV_ALGORITHMS, convAlgorithm, convDw, convDx, convForward, type ConvAlgorithm, type ConvAlgorithmRun, type ConvPass } from './algorithms.js';
export { CONV2D_OPTIONS, checkConvGrids, checkConvOptions, convGeometry, samePadding, type Conv2dOptions, type ConvGeometry, type Padding } from './geometry.js';
export { CONV_TUNABLE, DEFAULT_CONV_TUNING, convTiles, convTuning, setConvTuning, type ConvTiles, type ConvTuning, type WinogradTile } from './tuning.js';
export { usesWinograd } from './winograd.js';
export { checkFusedConv2d, fusedConv2d, fusedConv2dChecked, fusedConv2dOp, FUSED_OPTIONS, type FusedConv2dOptions } from './fused.js';

export const conv2dOp = defineOp<Conv2dOptions>({
  name: 'conv2d',
  forward: ([x, w], o) => {
    assertF32('conv2d', x!, w!);
    const g = convGeometry(x!, w!, o);
    return { out: convForward(x!, w!, g, convTuning(o.tuning)), save: [x!, w!] };
  },
  backward: (dy, { saved: [x, w], attrs, needs }) => {
    const g = convGeometry(x!, w!, attrs);
    const t = convTuning(attrs.tuning);
    return [needs[0] ? convDx(dy, w!, g, t) : null, needs[1] ? convDw(x!, dy, g, t) : null];
  },
});

/**
 * Everything about a conv2d call that can be refused, checked on the CPU: the tensors, the
 * options, the shapes and the device's workgroup limits (the weight gradient's grid too
 * when a gradient is being recorded through x or w, so a training step never fails in its
 * backward). `fn` names the public entry in the messages (conv2d, wsConv2d).
 */
export function checkConv2d(fn: string, x: unknown, w: unknown, options: Conv2dOptions | undefined): Conv2dOptions {
  checkTensors(fn, { x, w });
  const o = checkConvOptions(fn, options);
  assertF32(fn, x as Tensor, w as Tensor);
  const g = convGeometry(x as Tensor, w as Tensor, o);
  const tape = activeTape();
  const recorded = tape !== null && (tape.tracked.has(x as Tensor) || tape.tracked.has(w as Tensor));
  checkConvGrids(fn, g, convTuning(o.tuning), backend().maxWorkgroupsPerDim, recorded);
  return o;
}

/** 2-D convolution: x NHWC, w HWIO [kh, kw, cin/groups, cout] → [n, ho, wo, cout]. */
export function conv2d(x: Tensor, w: Tensor, options?: Conv2dOptions): Tensor {
  return conv2dOp([x, w], checkConv2d('conv2d', x, w, options));
}
