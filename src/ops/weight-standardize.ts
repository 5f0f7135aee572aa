/**
 * Scaled weight standardization (NFNets), with mean and population variance over every axis
 * but the last (HWIO: kh, kw, cin) and N = fan-in, in one of two forms:
 *  - 'reference' (the DeepMind JAX code, default): Ŵ = scale·gain·(W − mean)/sqrt(max(N·var, eps)),
 *    eps = 1e-4 a floor on N·var;
 *  - 'timm' (timm's ScaledStdConv2d): Ŵ = scale·gain·N^-½·(W − mean)/sqrt(var + eps),
 *    eps = 1e-5 added to the variance (timm's NF models; at init scale, var ≈ 1/N, the
 *    filters come out (1 + eps·N)^-½ smaller than the reference's: 0.3–0.8% per layer).
 * `scale` (default 1) is a constant factor: timm folds the activation gamma into it.
 * Two kernels each way (shaders/weight-standardize.wgsl): a per-column
 * reduction, then an elementwise apply. The backward is exact through mean and variance.
 *
 * W, gain and the per-column statistics are saved (the statistics are freed at once when
 * nothing records), so the backward does not walk W twice more for them. Ŵ itself is what
 * conv2d saves, so one standardization per step serves forward, dX and dW.
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensors, type Tensor } from '../tensor/tensor.js';
import { checkOptions, describeValue } from '../runtime/validate.js';
import { empty, zeros } from '../tensor/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { assertF32, backend } from './util.js';
import { checkFusedConv2d, fusedConv2dChecked, FUSED_OPTIONS, type FusedConv2dOptions } from './conv2d/index.js';
import { composite } from './composite.js';
import wsWgsl from '../../shaders/weight-standardize.wgsl';

const STATS_FWD = defineKernel('weight-standardize', wsWgsl, 'stats_fwd');
const APPLY_FWD = defineKernel('weight-standardize', wsWgsl, 'apply_fwd');
const STATS_BWD = defineKernel('weight-standardize', wsWgsl, 'stats_bwd');
const APPLY_BWD = defineKernel('weight-standardize', wsWgsl, 'apply_bwd');
const WS_WG = 64;
/** Rows per thread of the apply passes (their ROWS override). */
const APPLY_ROWS = 16;

export type WsForm = 'reference' | 'timm';

export interface WeightStandardizeOptions {
  /** 'reference' (default): 1/sqrt(max(N·var, eps)); 'timm': N^-½/sqrt(var + eps). */
  form?: WsForm;
  /** Reference: floor on N·var (default 1e-4). timm: added to var (default 1e-5). */
  eps?: number;
  /** Constant factor on Ŵ (default 1). */
  scale?: number;
}

/** eps when none is given: each form's own default. */
export const WS_EPS: Record<WsForm, number> = { reference: 1e-4, timm: 1e-5 };

interface Dims {
  r: number;
  cols: number;
  /** Added to Σd² (timm: N·eps). */
  shift: number;
  /** Floor on Σd² + shift (reference: eps). */
  floor: number;
  scale: number;
}

function dims(w: Tensor, gain: Tensor, o: WeightStandardizeOptions): Dims {
  const form = o.form ?? 'reference';
  if (form !== 'reference' && form !== 'timm') throw new ValueError(`weightStandardize: form must be 'reference' or 'timm', got ${JSON.stringify(form)}`);
  const eps = o.eps ?? WS_EPS[form];
  const scale = o.scale ?? 1;
  if (w.rank < 2) throw new ShapeError(`weightStandardize: w needs rank >= 2 (e.g. HWIO), got ${describeShape(w.shape)}`);
  const cols = w.shape[w.rank - 1]!;
  if (gain.rank !== 1 || gain.shape[0] !== cols) {
    throw new ShapeError(`weightStandardize: gain must have shape [${cols}] (the last axis of w ${describeShape(w.shape)}), got ${describeShape(gain.shape)}`);
  }
  if (!(eps > 0) || !Number.isFinite(eps)) throw new ValueError(`weightStandardize: eps must be a positive finite number, got ${eps}`);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new ValueError(`weightStandardize: scale must be a finite number, got ${String(scale)}`);
  const r = cols ? w.size / cols : 0;
  return form === 'timm' ? { r, cols, shift: r * eps, floor: 0, scale } : { r, cols, shift: 0, floor: eps, scale };
}

const groups = (n: number) => Math.ceil(n / WS_WG);
/** Workgroups of an apply pass: one thread per column and block of APPLY_ROWS rows. */
const applyGroups = (d: Dims) => groups(d.cols * Math.ceil(d.r / APPLY_ROWS));

/** Per column: [mean, 1/sqrt(max(Σd² + shift, floor)), clamped] as a [3, cols] tensor. */
function columnStats(w: Tensor, d: Dims): Tensor {
  const stats = empty([3, d.cols]);
  backend().dispatch({ kernel: STATS_FWD, bindings: { w, out: stats }, params: { ...d }, workgroups: groups(d.cols) });
  return stats;
}

/** Ŵ and the per-column statistics it was made with (null for an empty W). */
function forward(w: Tensor, gain: Tensor, d: Dims): { out: Tensor; stats: Tensor | null } {
  if (!w.size) return { out: empty(w.shape), stats: null };
  const stats = columnStats(w, d);
  const out = empty(w.shape);
  backend().dispatch({
    kernel: APPLY_FWD,
    bindings: { w, gain, stats, out },
    params: { ...d },
    overrides: { ROWS: APPLY_ROWS },
    workgroups: applyGroups(d),
  });
  return { out, stats };
}

function backward(dy: Tensor, w: Tensor, gain: Tensor, stats: Tensor | undefined, d: Dims): [Tensor, Tensor] {
  if (!stats) return [empty(w.shape), zeros([d.cols])]; // an empty W (the forward made no statistics)
  const gstats = empty([2, d.cols]);
  const dgain = empty([d.cols]);
  backend().dispatch({
    kernel: STATS_BWD,
    bindings: { w, dy, stats, out: gstats, out2: dgain },
    params: { ...d },
    workgroups: groups(d.cols),
  });
  const dw = empty(w.shape);
  backend().dispatch({
    kernel: APPLY_BWD,
    bindings: { w, gain, dy, stats, gstats, out: dw },
    params: { ...d },
    overrides: { ROWS: APPLY_ROWS },
    workgroups: applyGroups(d),
  });
  gstats.dispose();
  return [dw, dgain];
}

export const weightStandardizeOp = defineOp<WeightStandardizeOptions>({
  name: 'weightStandardize',
  forward: ([w, gain], o) => {
    assertF32('weightStandardize', w!, gain!);
    const { out, stats } = forward(w!, gain!, dims(w!, gain!, o));
    return { out, save: stats ? [w!, gain!, stats] : [w!, gain!] };
  },
  backward: (dy, { saved: [w, gain, stats], attrs, needs }) => {
    const [dw, dgain] = backward(dy, w!, gain!, stats, dims(w!, gain!, attrs));
    return [needs[0] ? dw : null, needs[1] ? dgain : null];
  },
});

/** Ŵ per output unit (last axis of w): see the forms above. */
export function weightStandardize(w: Tensor, gain: Tensor, options: WeightStandardizeOptions = {}): Tensor {
  checkTensors('weightStandardize', { w, gain });
  const o = checkOptions('weightStandardize', options, ['eps', 'form', 'scale']);
  if (o.eps !== undefined && typeof o.eps !== 'number') throw new ValueError(`weightStandardize: eps must be a positive finite number, got ${describeValue(o.eps)}`);
  if (o.scale !== undefined && typeof o.scale !== 'number') throw new ValueError(`weightStandardize: scale must be a finite number, got ${describeValue(o.scale)}`);
  return weightStandardizeOp([w, gain], o);
}

/**
 * conv2d with a scaled-weight-standardized kernel: the NFNet WSConv2d. With `bias`,
 * `activation` or `gamma` it is fusedConv2d's gamma · act(conv + bias) on that kernel, so
 * a layer's conv, bias and activation are one call (and, in inference, one dispatch where
 * the conv's kernel has the epilogue).
 */
export function wsConv2d(x: Tensor, w: Tensor, gain: Tensor, options: FusedConv2dOptions & WeightStandardizeOptions = {}): Tensor {
  checkTensors('wsConv2d', { x, w, gain });
  const { eps, form, scale, ...rest } = checkOptions('wsConv2d', options, [...FUSED_OPTIONS, 'eps', 'form', 'scale']);
  // The conv's shapes, limits and epilogue are checked before Ŵ is dispatched (w stands in for Ŵ: same shape).
  const fused = checkFusedConv2d('wsConv2d', x, w, rest);
  // composite: outside a gradient the temporary Ŵ is freed at once.
  return composite(() => fusedConv2dChecked(x, weightStandardize(w, gain, { eps, form, scale }), fused));
}
