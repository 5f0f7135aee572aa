/**
 * Dropout (inverted: kept values are scaled by 1/(1 − rate), as the reference NFNet head
 * does), stochastic depth (drops whole samples of the batch and does not rescale the
 * kept ones, as the reference blocks do) and drop path (whole samples, kept ones scaled by
 * 1/(1 − rate): timm's drop_path, EfficientNet's drop-connect). Masks come from the seeded counter-based RNG and
 * are regenerated in the backward instead of being stored: same seed, same mask.
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensor, type Tensor } from '../tensor/tensor.js';
import { checkBoolean, checkOptions } from '../runtime/validate.js';
import { empty, seedKey } from '../tensor/creation.js'; // the same seed → key mixing as uniform(), so masks equal uniform(seed) ≥ rate
import { defineKernel } from '../runtime/kernel.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { assertF32, backend, elementsPerInvocation, linearGroups, streamsMat4x4 } from './util.js';
import dropoutWgsl from '../../shaders/dropout.wgsl';
import { reshape } from './layout.js';

const APPLY_MASK = defineKernel('dropout', dropoutWgsl, 'apply_mask');
const APPLY_MASK16 = defineKernel('dropout', dropoutWgsl, 'apply_mask16');

export interface DropoutOptions {
  /** Probability of dropping (an element for dropout, a sample for stochastic depth). */
  rate: number;
  /** Any finite number; the same seed drops the same elements. Use a new seed per step. */
  seed: number;
  /** false (evaluation) makes the op the identity. Default true. */
  training?: boolean;
}

export interface MaskAttrs {
  unitSize: number;
  key: [number, number];
  rate: number;
  scale: number;
}

function applyMask(x: Tensor, a: MaskAttrs): Tensor {
  const out = empty(x.shape);
  if (!out.size) return out;
  const params = { n: x.size, unit_size: a.unitSize, key_lo: a.key[0], key_hi: a.key[1], rate: a.rate, scale: a.scale };
  if (a.unitSize % 16 === 0 && streamsMat4x4(x.size)) {
    // Whole units of 16: one draw per 16 elements.
    backend().dispatch({ kernel: APPLY_MASK16, bindings: { x16: x, out16: out }, params, workgroups: linearGroups(x.size / 16) });
    return out;
  }
  const elems = elementsPerInvocation(x.size);
  backend().dispatch({
    kernel: APPLY_MASK,
    bindings: { x, out },
    params,
    overrides: { ELEMS: elems, SHARED_UNIT: a.unitSize % 4 === 0 ? 1 : 0 },
    workgroups: linearGroups(x.size / elems),
  });
  return out;
}

export const maskOp = defineOp<MaskAttrs>({
  name: 'mask',
  forward: ([x], a) => ({ out: applyMask(x!, a) }),
  // Linear in x with the same mask: dx = mask · scale · dy.
  backward: (dy, { attrs }) => [applyMask(dy, attrs)],
});

/** Dropout needs rate < 1 (its scale is 1/(1 − rate)); stochastic depth allows 1. */
function validate(op: string, x: Tensor, o: DropoutOptions, allowOne: boolean): void {
  checkTensor(op, 'x', x);
  assertF32(op, x);
  checkOptions(op, o ?? null, ['rate', 'seed', 'training']);
  if (o.training !== undefined) checkBoolean(op, 'training', o.training);
  const { rate, seed } = o;
  if (typeof rate !== 'number' || !(rate >= 0 && (rate < 1 || (allowOne && rate === 1)))) {
    throw new ValueError(`${op}: rate must be in [0, 1${allowOne ? ']' : ')'}, got ${String(rate)}`);
  }
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new ValueError(`${op}: seed must be a finite number, got ${String(seed)}`);
}

/** Identity as a fresh, gradient-tracked handle (a free view). */
const passThrough = (x: Tensor): Tensor => reshape(x, x.shape);

/** Inverted dropout: each element is zeroed with probability `rate`, kept ones are scaled by 1/(1 − rate). */
export function dropout(x: Tensor, options: DropoutOptions): Tensor {
  validate('dropout', x, options, false);
  const { rate, seed, training = true } = options;
  if (!training || rate === 0) return passThrough(x);
  return maskOp([x], { unitSize: 1, key: seedKey(seed), rate, scale: 1 / (1 - rate) });
}

/** Per-sample masks (axis 0 is the batch): each sample is zeroed with probability `rate`, kept ones scaled by `scale`. */
function perSampleMask(op: string, x: Tensor, options: DropoutOptions, scaleKept: (rate: number) => number): Tensor {
  validate(op, x, options, true);
  if (x.rank < 1) throw new ShapeError(`${op}: needs a batch axis, got ${describeShape(x.shape)}`);
  const { rate, seed, training = true } = options;
  if (!training || rate === 0) return passThrough(x);
  const perSample = x.shape[0] ? x.size / x.shape[0] : 1;
  return maskOp([x], { unitSize: Math.max(1, perSample), key: seedKey(seed), rate, scale: scaleKept(rate) });
}

/** Stochastic depth: each sample (axis 0) is zeroed with probability `rate`; kept samples are not rescaled. */
export function stochasticDepth(x: Tensor, options: DropoutOptions): Tensor {
  return perSampleMask('stochasticDepth', x, options, () => 1);
}

/**
 * Drop path: each sample (axis 0) is zeroed with probability `rate`, kept samples are scaled
 * by 1/(1 − rate), so the expected value is x (timm's drop_path with scale_by_keep). The
 * same masks as stochasticDepth for the same seed. rate 1 drops every sample.
 */
export function dropPath(x: Tensor, options: DropoutOptions): Tensor {
  return perSampleMask('dropPath', x, options, (rate) => (rate < 1 ? 1 / (1 - rate) : 1));
}
