/**
 * conv2d's options and their validation: shapes and options are checked on the CPU (typed
 * errors, no GPU work) and resolved into the `ConvGeometry` every algorithm reads.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { LimitError, ShapeError, ValueError, describeShape } from '../../runtime/errors.js';
import { checkOptions, describeValue } from '../../runtime/validate.js';
import type { ConvTuning } from './tuning.js';

export type Padding = 'SAME' | 'VALID' | readonly [readonly [number, number], readonly [number, number]];

export interface Conv2dOptions {
  /** One stride for both axes or [sh, sw]; default 1. */
  stride?: number | readonly [number, number];
  /** 'SAME' (TensorFlow rule), 'VALID' (default) or [[top, bottom], [left, right]]. */
  padding?: Padding;
  /** Channel groups; cin and cout must both be divisible by it. Default 1. */
  groups?: number;
  /** One dilation for both axes or [dh, dw]; default 1. */
  dilation?: number | readonly [number, number];
  /**
   * Launch configuration for this call (speed only, never results), over the device's
   * (`setConvTuning`, the tune cache, the defaults). The backward uses the same.
   */
  tuning?: Partial<ConvTuning>;
}

/** The names conv2d's options object may hold. */
export const CONV2D_OPTIONS = ['stride', 'padding', 'groups', 'dilation', 'tuning'] as const;
/** The names a `tuning` option may hold (ConvTuning's fields). */
const TUNING_FIELDS = ['wg', 'dwTargetThreads', 'winogradMinChannels', 'winogradTile', 'tiles'] as const;

/**
 * conv2d's options argument: an object of known names (did-you-mean otherwise) whose
 * `tuning`, if given, is an object of ConvTuning's names (its values are checked where it
 * is merged, tuning.ts). The other values are checked by `convGeometry`.
 */
export function checkConvOptions(fn: string, options: Conv2dOptions | undefined): Conv2dOptions {
  const o = checkOptions(fn, options, CONV2D_OPTIONS);
  if (o.tuning !== undefined) checkOptions(fn, o.tuning, TUNING_FIELDS, 'tuning');
  return o;
}

/** Everything the kernels need, resolved on the CPU. */
export interface ConvGeometry {
  n: number; h: number; w: number; cin: number;
  ho: number; wo: number; cout: number; groups: number;
  cig: number; cog: number; kh: number; kw: number;
  sh: number; sw: number; dh: number; dw: number;
  pt: number; pl: number;
}

function pair(name: string, v: number | readonly [number, number] | undefined): [number, number] {
  const p: readonly unknown[] = v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : Array.isArray(v) ? v : [];
  if (p.length !== 2 || p.some((s) => !Number.isInteger(s) || (s as number) < 1)) {
    throw new ValueError(`conv2d: ${name} must be a positive integer or a pair [${name === 'stride' ? 'sh, sw' : 'dh, dw'}] of them, got ${describeValue(v)}`);
  }
  return [p[0] as number, p[1] as number];
}

/** TensorFlow SAME: total = max((ceil(n/s) − 1)·s + k_eff − n, 0), before = floor(total/2). */
export function samePadding(n: number, k: number, s: number, d = 1): [number, number] {
  const kEff = (k - 1) * d + 1;
  const total = Math.max((Math.ceil(n / s) - 1) * s + kEff - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function resolvePadding(p: Padding | undefined, x: Tensor, w: Tensor, s: [number, number], d: [number, number]): [[number, number], [number, number]] {
  const [h, wd] = [x.shape[1]!, x.shape[2]!];
  const [kh, kw] = [w.shape[0]!, w.shape[1]!];
  if (p === undefined || p === 'VALID') return [[0, 0], [0, 0]];
  if (p === 'SAME') return [samePadding(h, kh, s[0], d[0]), samePadding(wd, kw, s[1], d[1])];
  const ok = Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2 && q.every((v) => Number.isInteger(v) && v >= 0));
  if (!ok) {
    throw new ValueError(`conv2d: padding must be 'SAME', 'VALID' or [[top, bottom], [left, right]] of non-negative integers, got ${typeof p === 'string' ? describeValue(p) : JSON.stringify(p) ?? describeValue(p)}`);
  }
  return [[p[0][0], p[0][1]], [p[1][0], p[1][1]]];
}

/** Validate shapes and options (typed errors, no GPU work) and resolve the geometry. */
export function convGeometry(x: Tensor, w: Tensor, o: Conv2dOptions): ConvGeometry {
  if (x.rank !== 4) throw new ShapeError(`conv2d: x must be NHWC (rank 4), got ${describeShape(x.shape)}`);
  if (w.rank !== 4) throw new ShapeError(`conv2d: w must be HWIO [kh, kw, cin/groups, cout] (rank 4), got ${describeShape(w.shape)}`);
  const groups = o.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ValueError(`conv2d: groups must be a positive integer, got ${describeValue(groups)}`);
  const [n, h, wd, cin] = x.shape as [number, number, number, number];
  const [kh, kw, cig, cout] = w.shape as [number, number, number, number];
  // Zero channels are an empty sum (zeros) or an empty output; a zero-size window has no meaning (and would grow the output).
  if (kh < 1 || kw < 1) throw new ShapeError(`conv2d: w ${describeShape(w.shape)} has a ${kh}×${kw} window; a filter needs at least one tap`);
  if (cin % groups) throw new ShapeError(`conv2d: input channels ${cin} of ${describeShape(x.shape)} are not divisible by groups = ${groups}`);
  if (cig * groups !== cin) {
    throw new ShapeError(`conv2d: w ${describeShape(w.shape)} expects ${cig}·${groups} = ${cig * groups} input channels (groups = ${groups}), x ${describeShape(x.shape)} has ${cin}`);
  }
  if (cout % groups) throw new ShapeError(`conv2d: output channels ${cout} of w ${describeShape(w.shape)} are not divisible by groups = ${groups}`);
  const s = pair('stride', o.stride);
  const d = pair('dilation', o.dilation);
  const [[pt, pb], [pl, pr]] = resolvePadding(o.padding, x, w, s, d);
  const ho = Math.floor((h + pt + pb - (kh - 1) * d[0] - 1) / s[0]) + 1;
  const wo = Math.floor((wd + pl + pr - (kw - 1) * d[1] - 1) / s[1]) + 1;
  if (ho < 1 || wo < 1) {
    throw new ShapeError(`conv2d: kernel ${kh}×${kw} (dilation ${d.join('×')}) does not fit the padded input ${h + pt + pb}×${wd + pl + pr} of ${describeShape(x.shape)}`);
  }
  return { n, h, w: wd, cin, ho, wo, cout, groups, cig, cog: cout / groups, kh, kw, sh: s[0], sw: s[1], dh: d[0], dw: d[1], pt, pl };
}

/**
 * The workgroup grids the conv kernels will ask for, checked against the device's
 * per-dimension limit before any dispatch. The implicit-GEMM kernels put the group index
 * on the grid's y axis, which is not folded, so groups ≤ the limit (65,535 on most
 * adapters). The tiled forward / dX fold their x axis into z; dW's x axis (one workgroup
 * per `wg` tiles of its [kh·kw·cig, cog] output) is not folded, so it is checked when a
 * gradient will need it (`withDw`).
 */
export function checkConvGrids(fn: string, g: ConvGeometry, t: Readonly<ConvTuning>, maxPerDim: number, withDw: boolean): void {
  if (g.groups > maxPerDim) {
    throw new LimitError(`${fn}: groups = ${g.groups} exceeds the device's ${maxPerDim} workgroups per dimension (maxComputeWorkgroupsPerDimension); the conv kernels dispatch one row of workgroups per group`);
  }
  if (!withDw) return;
  const tiled = g.cig % 4 === 0 && g.cog % 4 === 0;
  const [tr, tc] = tiled ? [8, g.cog > 4 ? 8 : 4] : [4, 4];
  const x = Math.ceil((Math.ceil((g.kh * g.kw * g.cig) / tr) * Math.ceil(g.cog / tc)) / t.wg);
  if (x > maxPerDim) {
    throw new LimitError(`${fn}: the weight gradient of a ${g.kh}×${g.kw}×${g.cig}×${g.cout} filter needs ${x} workgroups of ${t.wg} (tuning.wg) along one dimension, over the device's ${maxPerDim}; use a larger tuning.wg`);
  }
}
