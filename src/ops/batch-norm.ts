/**
 * Batch normalization over every axis but the last (NHWC or [N, C]), with an optional fused
 * plain activation (relu, silu, identity):
 *   y = act((x − μ)/sqrt(σ² + eps)·weight + bias)
 * Training normalizes with the batch's per-channel mean and biased variance, and updates
 * runningMean/runningVar in place on the GPU, PyTorch's way: r ← (1 − m)·r + m·batch, the
 * variance with the unbiased estimate n/(n − 1)·σ². The update belongs to the forward call
 * (under noGrad too, as in PyTorch) and is never on the tape. Eval normalizes with the
 * running statistics. Gradients flow to x, weight and bias in both modes.
 *
 * Kernels (shaders/batch-norm.wgsl): training forward = a chunked per-channel reduction,
 * a per-channel pass (statistics + running update) and one elementwise normalize + affine +
 * activation pass; eval forward = that elementwise pass alone; backward = a chunked
 * reduction of Σg and Σg·x̂ (g = dy·act'(z)), a per-channel pass (dweight, dbias) and one
 * elementwise pass for dx. The pre-activation z is recomputed from x, never stored.
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensors, type Tensor } from '../tensor/tensor.js';
import { checkBoolean, checkNumber, checkOneOf, checkOptions } from '../runtime/validate.js';
import { empty, zeros } from '../tensor/creation.js';
import { codeConstants, defineKernel } from '../runtime/kernel.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { assertF32, backend, linearGroups } from './util.js';
import { sum } from './reduce.js';
import bnWgsl from '../../shaders/batch-norm.wgsl';

export type BatchNormActivation = 'identity' | 'relu' | 'silu';

/** ACT override codes of shaders/batch-norm.wgsl, their only definition (ACT_RELU, …). */
const ACT_CODES: Record<BatchNormActivation, number> = { identity: 0, relu: 1, silu: 2 };
const ACTIVATIONS = Object.keys(ACT_CODES) as BatchNormActivation[];
const constants = codeConstants('ACT', ACT_CODES);

const STATS_PARTIAL = defineKernel('batch-norm', bnWgsl, 'stats_partial', { constants });
const STATS_FINAL = defineKernel('batch-norm', bnWgsl, 'stats_final', { constants });
const APPLY_FWD = defineKernel('batch-norm', bnWgsl, 'apply_fwd', { constants });
const GRAD_PARTIAL = defineKernel('batch-norm', bnWgsl, 'grad_partial', { constants });
const GRAD_FINAL = defineKernel('batch-norm', bnWgsl, 'grad_final', { constants });
const APPLY_BWD = defineKernel('batch-norm', bnWgsl, 'apply_bwd', { constants });

const WG = 256;
/** Rows per thread of the elementwise passes: per-channel values are loaded once per block. */
const APPLY_ROWS = 8;
/**
 * Threads a partial (reduction) pass aims for, and the fewest rows a thread sums: a layer of
 * 64 channels over 8·32·32 rows runs 4,096 threads of 32 rows each, not 64 threads of 8,192.
 */
const TARGET_THREADS = 16384;
const MIN_CHUNK = 32;
/**
 * Most chunks a per-channel pass adds itself, one thread per channel. Beyond it (≥ 8K rows
 * per channel block, e.g. 256·112·112 rows of 32 channels: 2,048 chunks) a chunked `sum`
 * folds the partial sums first: a few thousand serial loads per thread would cost a GPU
 * more than the pass over x.
 */
const MAX_FINAL_CHUNKS = 256;

export interface BatchNormOptions {
  /** true: the batch's statistics, and the running ones updated; false: the running ones. */
  training: boolean;
  /** Weight of the batch in the running update (default 0.1, PyTorch's). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Plain activation fused after the affine (default 'identity'). */
  activation?: BatchNormActivation;
}

export interface BatchNormAttrs {
  training: boolean;
  momentum: number;
  eps: number;
  activation: BatchNormActivation;
}

interface Dims {
  rows: number;
  cols: number;
  /** Channels per thread: 4 when cols % 4 == 0. */
  lanes: 1 | 4;
}

function dimsOf(x: Tensor): Dims {
  const cols = x.shape[x.rank - 1]!;
  return { rows: cols ? x.size / cols : 0, cols, lanes: cols % 4 === 0 ? 4 : 1 };
}

/** Grid and params of a pass over [rows, cols] in blocks of `chunk` rows. */
function blocked(d: Dims, chunk: number): { workgroups: number; chunk: number; chunks: number } {
  const chunks = Math.ceil(d.rows / chunk);
  return { workgroups: linearGroups(chunks * (d.cols / d.lanes), WG), chunk, chunks };
}

/** Rows per thread of a partial pass (at least MIN_CHUNK, enough threads when rows allow). */
function partialChunk(d: Dims): number {
  const want = Math.ceil(TARGET_THREADS / (d.cols / d.lanes));
  return Math.min(d.rows, Math.max(MIN_CHUNK, Math.ceil(d.rows / want)));
}

/** The `params` uniform (every pass takes the whole struct). */
function paramsOf(d: Dims, a: BatchNormAttrs, chunk = 0, chunks = 0): Record<string, number> {
  return { rows: d.rows, cols: d.cols, chunk, chunks, eps: a.eps, momentum: a.momentum, unbias: d.rows > 1 ? d.rows / (d.rows - 1) : 0 };
}

/**
 * The overrides of a blocked pass (the per-channel passes take none but TRAIN): the
 * activation only where a pass applies it, so the statistics passes have one pipeline,
 * not one per activation (a pipeline costs 5–110 ms to build on SwiftShader).
 */
function overrides(d: Dims, a: BatchNormAttrs | null, extra: Record<string, number> = {}): Record<string, number> {
  return { VEC: d.lanes === 4 ? 1 : 0, ...(a ? { ACT: ACT_CODES[a.activation] } : {}), ...extra };
}

/** Per channel [Σ, Σ²]-style partial sums over chunks of rows, as a [chunks, 2, cols] tensor. */
function partialSums(kernel: typeof STATS_PARTIAL, bindings: Record<string, Tensor>, d: Dims, a: BatchNormAttrs): { part: Tensor; chunks: number } {
  const act = kernel === GRAD_PARTIAL ? a : null;
  const grid = blocked(d, partialChunk(d));
  const part = empty([grid.chunks, 2, d.cols]);
  backend().dispatch({
    kernel,
    bindings: { ...bindings, out: part },
    params: paramsOf(d, a, grid.chunk, grid.chunks),
    overrides: overrides(d, act),
    workgroups: grid.workgroups,
  });
  if (grid.chunks <= MAX_FINAL_CHUNKS) return { part, chunks: grid.chunks };
  const folded = sum(part, { axes: 0 });
  part.dispose();
  return { part: folded, chunks: 1 };
}

/** The batch mean and biased variance; updates the running statistics in place. */
function batchStats(x: Tensor, runningMean: Tensor, runningVar: Tensor, d: Dims, a: BatchNormAttrs): [Tensor, Tensor] {
  const { part, chunks } = partialSums(STATS_PARTIAL, { x }, d, a);
  const mean = empty([d.cols]);
  const variance = empty([d.cols]);
  backend().dispatch({
    kernel: STATS_FINAL,
    bindings: { x, part, out: mean, out2: variance, running_mean: runningMean, running_var: runningVar },
    params: paramsOf(d, a, 0, chunks),
    workgroups: linearGroups(d.cols, WG),
  });
  part.dispose();
  return [mean, variance];
}

function normalize(x: Tensor, weight: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, d: Dims, a: BatchNormAttrs): Tensor {
  const out = empty(x.shape);
  const grid = blocked(d, APPLY_ROWS);
  backend().dispatch({
    kernel: APPLY_FWD,
    bindings: { x, weight, bias, mean, variance, out },
    params: paramsOf(d, a, grid.chunk),
    overrides: overrides(d, a),
    workgroups: grid.workgroups,
  });
  return out;
}

/**
 * [dx, dweight, dbias], null where `needs` says no. Eval's dx goes through no batch
 * statistics, so when only dx is wanted the reduction is skipped: grad_final then sums no
 * chunks (it still writes the per-channel table apply_bwd reads).
 */
function backward(dy: Tensor, saved: readonly Tensor[], a: BatchNormAttrs, needs: readonly boolean[]): (Tensor | null)[] {
  const [x, weight, bias, mean, variance] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const [needX, needW, needB] = [needs[0] ?? false, needs[1] ?? false, needs[2] ?? false];
  const d = dimsOf(x);
  if (!x.size) return [needX ? empty(x.shape) : null, needW ? zeros([d.cols]) : null, needB ? zeros([d.cols]) : null];
  const sums = a.training || needW || needB ? partialSums(GRAD_PARTIAL, { x, dy, weight, bias, mean, variance }, d, a) : null;
  const dweight = empty([d.cols]);
  const dbias = empty([d.cols]);
  const coef = empty([6, d.cols]);
  const train = { TRAIN: a.training ? 1 : 0 };
  backend().dispatch({
    kernel: GRAD_FINAL,
    // Without a reduction, `mean` stands in for the partial sums (read for 0 chunks).
    bindings: { part: sums?.part ?? mean, mean, variance, weight, bias, out: dweight, out2: dbias, out3: coef },
    params: paramsOf(d, a, 0, sums?.chunks ?? 0),
    overrides: train,
    workgroups: linearGroups(d.cols, WG),
  });
  sums?.part.dispose();
  let dx: Tensor | null = null;
  if (needX) {
    dx = empty(x.shape);
    const grid = blocked(d, APPLY_ROWS);
    backend().dispatch({
      kernel: APPLY_BWD,
      bindings: { x, dy, coef, out: dx },
      params: paramsOf(d, a, grid.chunk),
      overrides: overrides(d, a, train),
      workgroups: grid.workgroups,
    });
  }
  coef.dispose();
  if (!needW) dweight.dispose();
  if (!needB) dbias.dispose();
  return [dx, needW ? dweight : null, needB ? dbias : null];
}

export const batchNormOp = defineOp<BatchNormAttrs>({
  name: 'batchNorm',
  forward: (inputs, a) => {
    const [x, weight, bias, runningMean, runningVar] = inputs as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const d = dimsOf(x);
    if (!x.size) return { out: empty(x.shape), save: [x, weight, bias, runningMean, runningVar] };
    if (!a.training) return { out: normalize(x, weight, bias, runningMean, runningVar, d, a), save: [x, weight, bias, runningMean, runningVar] };
    const [mean, variance] = batchStats(x, runningMean, runningVar, d, a);
    return { out: normalize(x, weight, bias, mean, variance, d, a), save: [x, weight, bias, mean, variance] };
  },
  backward: (dy, { saved, attrs, needs }) => [...backward(dy, saved, attrs, needs), null, null],
});

function check(x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions): BatchNormAttrs {
  checkTensors('batchNorm', { x, weight, bias, runningMean, runningVar });
  const o = checkOptions('batchNorm', options ?? null, ['training', 'momentum', 'eps', 'activation']);
  const training = checkBoolean('batchNorm', 'options.training', o.training);
  const momentum = o.momentum === undefined ? 0.1 : checkNumber('batchNorm', 'momentum', o.momentum, { min: 0, max: 1 });
  const eps = o.eps === undefined ? 1e-5 : checkNumber('batchNorm', 'eps', o.eps, { min: 0, exclusiveMin: true });
  const activation = o.activation === undefined ? 'identity' : checkOneOf('batchNorm', 'activation', o.activation, ACTIVATIONS);
  assertF32('batchNorm', x, weight, bias, runningMean, runningVar);
  if (x.rank < 2) throw new ShapeError(`batchNorm: x needs rank >= 2 ([N, C] or NHWC, channels last), got ${describeShape(x.shape)}`);
  const c = x.shape[x.rank - 1]!;
  for (const [name, t] of [['weight', weight], ['bias', bias], ['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    if (t.rank !== 1 || t.shape[0] !== c) {
      throw new ShapeError(`batchNorm: ${name} must have shape [${c}] (the last axis of x ${describeShape(x.shape)}), got ${describeShape(t.shape)}`);
    }
  }
  if (runningMean === runningVar) throw new ValueError('batchNorm: runningMean and runningVar must be two different tensors (both are updated in place)');
  const rows = c ? x.size / c : 0;
  if (training && c > 0 && rows < 2) {
    throw new ValueError(`batchNorm: training needs more than one value per channel, got x ${describeShape(x.shape)} (${rows})`);
  }
  return { training, momentum, eps, activation };
}

/**
 * Batch normalization of x [..., C] (channels last) with a fused plain activation. In
 * training mode (options.training: true) it normalizes with the batch's statistics and
 * updates runningMean/runningVar in place; in eval mode it uses them.
 *
 *   ops.batchNorm(x, gamma, beta, mean, variance, { training: true, activation: 'relu' })
 */
export function batchNorm(x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions): Tensor {
  const attrs = check(x, weight, bias, runningMean, runningVar, options);
  return batchNormOp([x, weight, bias, runningMean, runningVar], attrs);
}
