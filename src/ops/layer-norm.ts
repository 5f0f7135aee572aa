/**
 * Layer normalization over the last axis (a transformer's LayerNorm): x [..., C],
 * y = (x − mean)/sqrt(var + eps)·weight + bias with the row's mean and population variance;
 * eps defaults to 1e-6, timm's ViT. Kernels in shaders/layer-norm.wgsl: one forward
 * dispatch (which also keeps each row's mean and 1/sqrt(var + eps) for the backward), one
 * backward dispatch for dx, and one per-column pass for dweight/dbias whose chunks a short
 * sum adds up.
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensors, type Tensor } from '../tensor/tensor.js';
import { checkNumber, checkOptions } from '../runtime/validate.js';
import { empty, zeros } from '../tensor/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { assertF32, backend } from './util.js';
import { sum } from './reduce.js';
import layerNormWgsl from '../../shaders/layer-norm.wgsl';

const FORWARD = defineKernel('layer-norm', layerNormWgsl, 'forward');
const BACKWARD_X = defineKernel('layer-norm', layerNormWgsl, 'backward_x');
const BACKWARD_PARAMS = defineKernel('layer-norm', layerNormWgsl, 'backward_params');
const LN_WG = 64;
/** Invocations the per-column pass aims for: fewer columns than this split the rows into chunks. */
const PARAM_THREADS = 4096;
/** Fewest rows per chunk of the per-column pass. */
const MIN_CHUNK = 32;

export const LAYER_NORM_EPS = 1e-6;

export interface LayerNormOptions {
  /** Added to the variance (default 1e-6, timm's ViT; PyTorch's nn.LayerNorm default is 1e-5). */
  eps?: number;
}

/** Lanes per row forced by setLayerNormLanes, or null for lanesPerRow's choice. */
let lanesOverride: number | null = null;

/**
 * Invocations per row of the row kernels. On a software adapter a workgroup runs on one CPU
 * thread, so lanes only add barrier work: one invocation per row. Measured on SwiftShader at
 * [1576, 192] (forward, median/min ms, load average ~20, scalar loads): 1 lane 41/8.8,
 * 4 lanes 57/13, 16 lanes 153/51, 64 lanes 608/182. On a GPU, 32 or 64 lanes share a row
 * and read it coalesced.
 */
function lanesPerRow(c: number): number {
  if (lanesOverride !== null) return lanesOverride;
  if (backend().adapter.software) return 1;
  return c >= 256 ? 64 : 32;
}


/**
 * Force the lanes per row (1, 2, 4, …, 64) of the row kernels, or null for the adapter's
 * default; returns the previous setting. For tests (the GPU path on a software adapter) and
 * the bench.
 */
export function setLayerNormLanes(lanes: number | null): number | null {
  if (lanes !== null && !(Number.isInteger(lanes) && lanes >= 1 && lanes <= LN_WG && (lanes & (lanes - 1)) === 0)) {
    throw new ValueError(`setLayerNormLanes: lanes must be a power of two in [1, ${LN_WG}] or null, got ${String(lanes)}`);
  }
  const prev = lanesOverride;
  lanesOverride = lanes;
  return prev;
}

interface Dims {
  rows: number;
  c: number;
  eps: number;
}

function dims(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Dims {
  if (x.rank < 1) throw new ShapeError(`layerNorm: x needs at least one axis (the normalized one), got ${describeShape(x.shape)}`);
  const c = x.shape[x.rank - 1]!;
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t.rank !== 1 || t.shape[0] !== c) {
      throw new ShapeError(`layerNorm: ${name} must have shape [${c}] (the last axis of x ${describeShape(x.shape)}), got ${describeShape(t.shape)}`);
    }
  }
  return { rows: c ? x.size / c : 0, c, eps };
}

/**
 * vec4 loads where a row is whole vec4s (ViT widths 192, 384, 768 all are). At [1576, 192]
 * on SwiftShader, per-kernel GPU time, best of 25 interleaved (lower quartile), vec4 vs
 * scalar: forward 4.7 (17) vs 11.8 (37) ms, dx 4.5 (11) vs 9.6 (19), dweight/dbias 2.0 (4.9)
 * vs 5.1 (9.0).
 */
const vec4Of = (d: Dims) => (d.c % 4 === 0 ? 1 : 0);

function rowDispatch(d: Dims) {
  const lanes = Math.min(lanesPerRow(d.c), LN_WG);
  return {
    params: { rows: d.rows, c: d.c, eps: d.eps, chunk: 0 },
    overrides: { WG: LN_WG, LANES: lanes, VEC4: vec4Of(d) },
    workgroups: Math.ceil(d.rows / (LN_WG / lanes)),
  };
}

function forward(x: Tensor, weight: Tensor, bias: Tensor, d: Dims): { out: Tensor; stats: Tensor | null } {
  const out = empty(x.shape);
  if (!out.size) return { out, stats: null };
  const stats = empty([d.rows, 2]);
  backend().dispatch({ kernel: FORWARD, bindings: { x, weight, bias, out, out_stats: stats, x4: x, weight4: weight, bias4: bias }, ...rowDispatch(d) });
  return { out, stats };
}

function backwardX(dy: Tensor, x: Tensor, weight: Tensor, stats: Tensor, d: Dims): Tensor {
  const dx = empty(x.shape);
  backend().dispatch({ kernel: BACKWARD_X, bindings: { x, weight, dy, stats, out: dx, x4: x, weight4: weight, dy4: dy }, ...rowDispatch(d) });
  return dx;
}

function backwardParams(dy: Tensor, x: Tensor, stats: Tensor, d: Dims): [Tensor, Tensor] {
  const cols = vec4Of(d) ? d.c / 4 : d.c;
  const want = Math.ceil(PARAM_THREADS / cols);
  const chunk = want <= 1 ? d.rows : Math.min(d.rows, Math.max(MIN_CHUNK, Math.ceil(d.rows / want)));
  const chunks = Math.ceil(d.rows / chunk);
  const pw = empty([chunks, d.c]);
  const pb = empty([chunks, d.c]);
  backend().dispatch({
    kernel: BACKWARD_PARAMS,
    bindings: { x, dy, stats, out: pw, out2: pb, x4: x, dy4: dy },
    params: { rows: d.rows, c: d.c, eps: d.eps, chunk },
    overrides: { WG: LN_WG, VEC4: vec4Of(d) },
    workgroups: Math.ceil((chunks * cols) / LN_WG),
  });
  const sums: [Tensor, Tensor] = chunks === 1 ? [pw.view([d.c]), pb.view([d.c])] : [sum(pw, { axes: 0 }), sum(pb, { axes: 0 })];
  pw.dispose();
  pb.dispose();
  return sums;
}

export const layerNormOp = defineOp<{ eps: number }>({
  name: 'layerNorm',
  forward: ([x, weight, bias], { eps }) => {
    assertF32('layerNorm', x!, weight!, bias!);
    const { out, stats } = forward(x!, weight!, bias!, dims(x!, weight!, bias!, eps));
    return { out, save: stats ? [x!, weight!, stats] : [x!, weight!] };
  },
  backward: (dy, { saved: [x, weight, stats], inputs, attrs: { eps }, needs }) => {
    const d = dims(x!, weight!, inputs[2]!, eps);
    // An empty x (no statistics): zero gradients of the right shapes.
    if (!stats) return [needs[0] ? empty(x!.shape) : null, needs[1] ? zeros([d.c]) : null, needs[2] ? zeros([d.c]) : null];
    const dx = needs[0] ? backwardX(dy, x!, weight!, stats, d) : null;
    const [dw, db] = needs[1] || needs[2] ? backwardParams(dy, x!, stats, d) : [null, null];
    if (!needs[1]) dw?.dispose();
    if (!needs[2]) db?.dispose();
    return [dx, needs[1] ? dw : null, needs[2] ? db : null];
  },
});

/** Normalize x [..., C] over its last axis, then scale by weight [C] and shift by bias [C]. */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, options: LayerNormOptions = {}): Tensor {
  checkTensors('layerNorm', { x, weight, bias });
  const o = checkOptions('layerNorm', options, ['eps']);
  const eps = o.eps === undefined ? LAYER_NORM_EPS : checkNumber('layerNorm', 'eps', o.eps, { min: 0, exclusiveMin: true });
  assertF32('layerNorm', x, weight, bias);
  dims(x, weight, bias, eps);
  return layerNormOp([x, weight, bias], { eps });
}
