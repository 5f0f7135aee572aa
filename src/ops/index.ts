/**
 * The public op namespace (`ops.*`) and `definitions`, every op's OpDef by name (what the
 * coverage tests check). Every entry is an OpDef whose spec has a `backward` field — the
 * type requires it — so an op added without a gradient rule (or an explicit
 * `notDifferentiable`) fails `tsc`.
 */
import type { OpDef } from '../autodiff/op.js';
import * as binary from './binary.js';
import * as unary from './unary.js';
import * as reduce from './reduce.js';
import * as layout from './layout.js';
import * as mm from './matmul.js';
import * as sm from './softmax.js';
import * as wh from './where.js';
import * as act from './activation.js';
import * as pool from './pool.js';
import * as drop from './dropout.js';
import * as loss from './loss.js';
import * as cv from './conv2d/index.js';
import * as ws from './weight-standardize.js';
import * as res from './residual.js';
import * as bn from './batch-norm.js';
import * as ln from './layer-norm.js';
import * as attn from './attention.js';
import * as patch from './patchify.js';

export const definitions = {
  ...binary.binaryDefinitions,
  ...unary.unaryDefinitions,
  where: wh.whereOp,
  sum: reduce.sumOp, mean: reduce.meanOp, max: reduce.maxOp, min: reduce.minOp,
  reshape: layout.reshapeOp, broadcastTo: layout.broadcastToOp, permute: layout.permuteOp,
  slice: layout.sliceOp, pad: layout.padOp, concat: layout.concatOp,
  matmul: mm.matmulOp,
  softmax: sm.softmaxOp, logSoftmax: sm.logSoftmaxOp,
  activation: act.activationOp, avgPool: pool.avgPoolOp, maxPool: pool.maxPoolOp, mask: drop.maskOp,
  softmaxCrossEntropy: loss.softmaxCrossEntropyOp,
  conv2d: cv.conv2dOp, fusedConv2d: cv.fusedConv2dOp, weightStandardize: ws.weightStandardizeOp,
  residual: res.residualOp,
  batchNorm: bn.batchNormOp,
  layerNorm: ln.layerNormOp,
  attention: attn.attentionOp,
  patchify: patch.patchifyOp,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
} as const satisfies Record<string, OpDef<any>>;

export type OpName = keyof typeof definitions;

export { add, sub, mul, div, maximum, minimum, gt, ge, eq, lt, le } from './binary.js';
export { neg, exp, log, sqrt, rsqrt, square, abs, reciprocal, pow, relu, sigmoid, tanh, affine, mulScalar, addScalar } from './unary.js';
export { where } from './where.js';
export { sum, mean, max, min, variance, type ReduceOptions } from './reduce.js';
export { reshape, broadcastTo, sumTo, permute, transpose, slice, pad, concat } from './layout.js';
export { matmul, type MatmulOptions } from './matmul.js';
export { softmax, logSoftmax } from './softmax.js';
export { conv2d, fusedConv2d, samePadding, type Conv2dOptions, type ConvTuning, type FusedConv2dOptions, type Padding } from './conv2d/index.js';
export { weightStandardize, wsConv2d, WS_EPS, type WeightStandardizeOptions, type WsForm } from './weight-standardize.js';
export { activation, GAMMA, type ActivationKind, type ActivationOptions } from './activation.js';
export { avgPool, maxPool, globalMeanPool, type PoolOptions, type AvgPoolOptions, type MaxPoolOptions } from './pool.js';
export { linear } from './linear.js';
export { dropout, stochasticDepth, dropPath, type DropoutOptions } from './dropout.js';
export { softmaxCrossEntropy, type CrossEntropyOptions } from './loss.js';
export { residual } from './residual.js';
export { batchNorm, type BatchNormOptions, type BatchNormActivation } from './batch-norm.js';
export { layerNorm, type LayerNormOptions } from './layer-norm.js';
export { attention, type AttentionOptions } from './attention.js';
export { patchify } from './patchify.js';
