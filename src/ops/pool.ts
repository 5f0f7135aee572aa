/**
 * Pooling on NHWC tensors with TensorFlow SAME/VALID padding: average pooling (the NFNet
 * transition shortcut uses 2×2 stride 2 SAME), max pooling (the NF-ResNet stem uses 3×3
 * stride 2 SAME), and the global mean over H, W of the head and the SE blocks.
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensor, type Tensor } from '../tensor/tensor.js';
import { checkOptions, describeValue } from '../runtime/validate.js';
import { empty } from '../tensor/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { assertF32, backend, linearGroups } from './util.js';
import poolWgsl from '../../shaders/pool.wgsl';
import { mean } from './reduce.js';

const FORWARD = defineKernel('pool', poolWgsl, 'avg_pool_forward');
const BACKWARD = defineKernel('pool', poolWgsl, 'avg_pool_backward');
const BACKWARD_TILING = defineKernel('pool', poolWgsl, 'avg_pool_backward_tiling');
const MAX_FORWARD = defineKernel('pool', poolWgsl, 'max_pool_forward');
const MAX_BACKWARD = defineKernel('pool', poolWgsl, 'max_pool_backward');

/** Window, stride and padding of a pooling op (`avgPool`, `maxPool`). */
export interface PoolOptions {
  /** Window size, one number or [h, w] (default 2). */
  size?: number | readonly [number, number];
  /** Stride, one number or [h, w] (default 2). */
  stride?: number | readonly [number, number];
  /**
   * 'SAME' (default, TF rule: pad after when the padding is odd), 'VALID', or explicit
   * [[top, bottom], [left, right]] as PyTorch pools pad (out = floor((n + pads − size)/stride) + 1;
   * e.g. timm's NF-ResNet stem max pool 3×3 s2 with 1 on every side). Padded positions are
   * never counted (average) and never win (max).
   */
  padding?: PoolPadding;
}
/** Options of `avgPool`: a padded position does not count in a window's mean (TF). */
export type AvgPoolOptions = PoolOptions;
/** Options of `maxPool`: a padded position never wins a window. */
export type MaxPoolOptions = PoolOptions;

export type PoolPadding = 'SAME' | 'VALID' | readonly [readonly [number, number], readonly [number, number]];

export interface PoolGeometry {
  n: number; h: number; w: number; c: number;
  out_h: number; out_w: number;
  size_h: number; size_w: number;
  stride_h: number; stride_w: number;
  pad_top: number; pad_left: number;
}

/** Output extent and leading pad along one axis, as TensorFlow (or, explicit, PyTorch) computes them. */
function axisPlan(n: number, size: number, stride: number, padding: 'SAME' | 'VALID' | readonly [number, number]): [number, number] {
  if (Array.isArray(padding)) return [Math.max(0, Math.floor((n + padding[0] + padding[1] - size) / stride) + 1), padding[0]];
  if (padding === 'VALID') return [Math.max(0, Math.floor((n - size) / stride) + 1), 0];
  const out = Math.ceil(n / stride);
  const total = Math.max((out - 1) * stride + size - n, 0);
  return [out, Math.floor(total / 2)];
}

function pair(v: number | readonly [number, number] | undefined, name: string, op: string): [number, number] {
  if (v !== undefined && typeof v !== 'number' && !(Array.isArray(v as unknown) && v.length === 2)) {
    throw new ValueError(`${op}: ${name} must be a positive integer or a pair of them, got ${describeValue(v)}`);
  }
  const p: [number, number] = v === undefined ? [2, 2] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((d) => Number.isInteger(d) && d >= 1)) throw new ValueError(`${op}: ${name} must be a positive integer or a pair of them, got ${describeValue(v)}`);
  return p;
}

function geometry(x: Tensor, options: PoolOptions, op: 'avgPool' | 'maxPool'): PoolGeometry {
  checkTensor(op, 'x', x);
  const o = checkOptions(op, options, ['size', 'stride', 'padding']);
  if (x.rank !== 4) throw new ShapeError(`${op}: expected an NHWC tensor of rank 4, got ${describeShape(x.shape)}`);
  const padding = o.padding === undefined ? 'SAME' : o.padding;
  const [size_h, size_w] = pair(o.size, 'size', op);
  const [stride_h, stride_w] = pair(o.stride, 'stride', op);
  const explicit = Array.isArray(padding);
  const ok = explicit
    ? padding.length === 2 && padding.every((q, axis) => Array.isArray(q) && q.length === 2 && q.every((v) => Number.isInteger(v) && v >= 0 && v < [size_h, size_w][axis]!))
    : padding === 'SAME' || padding === 'VALID';
  // A pad as wide as the window would give windows of padding alone (PyTorch forbids more than half).
  if (!ok) throw new ValueError(`${op}: padding must be 'SAME', 'VALID' or [[top, bottom], [left, right]] of non-negative integers below the window size, got ${describeValue(padding)}`);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [out_h, pad_top] = axisPlan(h, size_h, stride_h, explicit ? padding[0]! : (padding as 'SAME' | 'VALID'));
  const [out_w, pad_left] = axisPlan(w, size_w, stride_w, explicit ? padding[1]! : (padding as 'SAME' | 'VALID'));
  if (out_h < 1 || out_w < 1) {
    throw new ShapeError(`${op}: a ${size_h}×${size_w} window does not fit the ${h}×${w} input ${describeShape(x.shape)} with padding ${describeValue(padding)}`);
  }
  return { n, h, w, c, out_h, out_w, size_h, size_w, stride_h, stride_w, pad_top, pad_left };
}

/** Four channels per invocation of the avg-pool kernels when c % 4 == 0 (their VEC_C override). */
function channelsPerInvocation(c: number, elements: number): { overrides: { VEC_C: number }; workgroups: number } {
  const four = c % 4 === 0;
  return { overrides: { VEC_C: four ? 1 : 0 }, workgroups: linearGroups(four ? elements / 4 : elements) };
}

/** Whether every input element lies in exactly one full window (stride = size, no padding, no remainder). */
function windowsTileInput(g: PoolGeometry): boolean {
  return g.stride_h === g.size_h && g.stride_w === g.size_w && !g.pad_top && !g.pad_left &&
    g.h === g.out_h * g.size_h && g.w === g.out_w * g.size_w;
}

export const avgPoolOp = defineOp<PoolGeometry>({
  name: 'avgPool',
  forward: ([x], g) => {
    const out = empty([g.n, g.out_h, g.out_w, g.c]);
    if (out.size) {
      backend().dispatch({ kernel: FORWARD, bindings: { x: x!, out }, params: { ...g }, ...channelsPerInvocation(g.c, out.size) });
    }
    return { out };
  },
  // Each input element receives dy/count from every window that holds it (count = that window's valid elements).
  backward: (dy, { inputs: [x], attrs: g }) => {
    const dx = empty(x!.shape);
    if (dx.size) {
      const kernel = windowsTileInput(g) ? BACKWARD_TILING : BACKWARD;
      backend().dispatch({ kernel, bindings: { dy, out: dx }, params: { ...g }, ...channelsPerInvocation(g.c, dx.size) });
    }
    return [dx];
  },
});

/** Average pooling over H, W of an NHWC tensor; defaults to 2×2 stride 2 'SAME'. */
export function avgPool(x: Tensor, options: AvgPoolOptions = {}): Tensor {
  const g = geometry(x, options, 'avgPool');
  assertF32('avgPool', x);
  return avgPoolOp([x], g);
}

export const maxPoolOp = defineOp<PoolGeometry>({
  name: 'maxPool',
  forward: ([x], g) => {
    const out = empty([g.n, g.out_h, g.out_w, g.c]);
    if (out.size) {
      backend().dispatch({ kernel: MAX_FORWARD, bindings: { x: x!, out }, params: { ...g }, workgroups: linearGroups(out.size) });
    }
    return { out, save: [x!] };
  },
  // Each output's dy goes to the first maximum of its window (row-major), recomputed from x.
  backward: (dy, { saved: [x], attrs: g }) => {
    const dx = empty(x!.shape);
    if (dx.size) {
      backend().dispatch({ kernel: MAX_BACKWARD, bindings: { x: x!, dy, out: dx }, params: { ...g }, workgroups: linearGroups(dx.size) });
    }
    return [dx];
  },
});

/** Max pooling over H, W of an NHWC tensor (the NF-ResNet stem uses 3×3 stride 2 'SAME'). */
export function maxPool(x: Tensor, options: MaxPoolOptions = {}): Tensor {
  const g = geometry(x, options, 'maxPool');
  assertF32('maxPool', x);
  return maxPoolOp([x], g);
}

/** Mean over H and W: [N, H, W, C] → [N, C] (differentiable through ops.mean). */
export function globalMeanPool(x: Tensor): Tensor {
  checkTensor('globalMeanPool', 'x', x);
  if (x.rank !== 4) throw new ShapeError(`globalMeanPool: expected an NHWC tensor of rank 4, got ${describeShape(x.shape)}`);
  assertF32('globalMeanPool', x);
  return mean(x, { axes: [1, 2] });
}
