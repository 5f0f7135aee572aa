/**
 * Scaled dot-product attention: q [B, heads, T, d], k [B, heads, S, d], v [B, heads, S, dv]
 * → softmax(q·kᵀ·scale)·v [B, heads, T, dv], scale d^-½ by default (ViT's self-attention
 * has S = T, dv = d). Built on the batched GEMM core (the scale is its alpha, the transposes
 * are free strides) and the softmax kernel; the probabilities P are kept for the backward:
 *   dP = dO·vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P))   (one kernel, shaders/attention.wgsl)
 *   dq = scale·dS·k,  dk = scale·dSᵀ·q,  dv = Pᵀ·dO.
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensors, type Tensor } from '../tensor/tensor.js';
import { checkNumber, checkOptions } from '../runtime/validate.js';
import { checkAllocation, empty } from '../tensor/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { ShapeError, describeShape } from '../runtime/errors.js';
import { assertF32, backend, linearGroups } from './util.js';
import { gemm, gemmPlan, type MatmulOptions } from './matmul.js';
import { softmax } from './softmax.js';
import attentionWgsl from '../../shaders/attention.wgsl';

const SOFTMAX_BACKWARD = defineKernel('attention', attentionWgsl, 'softmax_backward');

export interface AttentionOptions {
  /** Factor on q·kᵀ before the softmax (default d^-½). */
  scale?: number;
}

/** op(a)·op(b)·alpha as a new [..., m, n] tensor. */
function product(a: Tensor, b: Tensor, o: MatmulOptions, alpha = 1): Tensor {
  const p = gemmPlan(a, b, o);
  const out = empty([...p.batchShape, p.m, p.n]);
  if (out.size) gemm(a, b, out, p, o, p.k > 0 ? alpha : 0);
  return out;
}

function checkShapes(q: Tensor, k: Tensor, v: Tensor): void {
  const all = `q ${describeShape(q.shape)}, k ${describeShape(k.shape)}, v ${describeShape(v.shape)}`;
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) throw new ShapeError(`attention: q, k and v must each be [batch, heads, tokens, dim], got ${all}`);
  if (q.shape[0] !== k.shape[0] || q.shape[1] !== k.shape[1] || k.shape[0] !== v.shape[0] || k.shape[1] !== v.shape[1]) {
    throw new ShapeError(`attention: q, k and v must share batch and heads, got ${all}`);
  }
  if (q.shape[3] !== k.shape[3]) throw new ShapeError(`attention: q and k must have the same dim (last axis), got ${all}`);
  if (k.shape[2] !== v.shape[2]) throw new ShapeError(`attention: k and v must have the same number of tokens (axis 2), got ${all}`);
}

/** Rows of a [..., r] tensor, and the VEC4 override of shaders/attention.wgsl for it. */
function rowsOf(t: Tensor): { rows: number; r: number; vec4: number } {
  const r = t.shape[t.rank - 1]!;
  return { rows: r ? t.size / r : 0, r, vec4: t.size % 4 === 0 ? 1 : 0 };
}

/**
 * dS = P ⊙ (dP − rowsum(dP ⊙ P)). At [8, 3, 197, 197] on SwiftShader, per call, median/min
 * of 9 interleaved (load average ~19): masked vec4 102/17 ms, scalar 209/45 ms.
 */
function softmaxBackward(p: Tensor, dp: Tensor): Tensor {
  const ds = empty(p.shape);
  const { rows, r, vec4 } = rowsOf(p);
  if (!rows) return ds;
  backend().dispatch({
    kernel: SOFTMAX_BACKWARD,
    bindings: { p, g: dp, out: ds, p4: p, g4: dp },
    params: { rows, r },
    overrides: { VEC4: vec4 },
    workgroups: linearGroups(rows, 64),
  });
  return ds;
}

export const attentionOp = defineOp<{ scale: number }>({
  name: 'attention',
  forward: ([q, k, v], { scale }) => {
    assertF32('attention', q!, k!, v!);
    checkShapes(q!, k!, v!);
    const s = product(q!, k!, { transposeB: true }, scale);
    // ops.softmax's kernel: a masked-vec4 row softmax like the backward's measured no
    // reliable gain at [8, 3, 197, 197] on SwiftShader (median/min of 11 interleaved, load
    // ~19: 42/25 ms vs 68/25; with exp once per value 96/31 vs 42/28 — the exps dominate).
    const p = softmax(s);
    s.dispose();
    const out = product(p, v!, {});
    return { out, save: [q!, k!, v!, p] };
  },
  backward: (dO, { saved: [q, k, v, p], attrs: { scale }, needs }) => {
    const dv = needs[2] ? product(p!, dO, { transposeA: true }) : null;
    if (!needs[0] && !needs[1]) return [null, null, dv];
    const dp = product(dO, v!, { transposeB: true });
    const ds = softmaxBackward(p!, dp);
    dp.dispose();
    const dq = needs[0] ? product(ds, k!, {}, scale) : null;
    const dk = needs[1] ? product(ds, q!, { transposeA: true }, scale) : null;
    ds.dispose();
    return [dq, dk, dv];
  },
});

/** softmax(q·kᵀ·scale)·v over [batch, heads, tokens, dim] tensors. */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  checkTensors('attention', { q, k, v });
  const o = checkOptions('attention', options, ['scale']);
  assertF32('attention', q, k, v);
  checkShapes(q, k, v);
  // The probabilities [B, heads, T, S] are the largest tensor: refuse them before any dispatch.
  checkAllocation('attention', [...q.shape.slice(0, 3), k.shape[2]!]);
  const scale = o.scale === undefined ? 1 / Math.sqrt(q.shape[3]! || 1) : checkNumber('attention', 'scale', o.scale);
  return attentionOp([q, k, v], { scale });
}
