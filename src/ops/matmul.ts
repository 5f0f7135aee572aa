/**
 * Batched matrix multiply on the register-tiled GEMM core (shaders/matmul.wgsl):
 * a [..., M, K] · b [..., K, N] → [..., M, N], with optional transposes that cost nothing
 * (operands are read through strides) and batch broadcasting (a batch of 1 is reused).
 */
import { defineOp } from '../autodiff/op.js';
import type { Tensor } from '../autodiff/tensor.js';
import { empty } from '../autodiff/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { ShapeError, describeShape } from '../runtime/errors.js';
import { assertF32, backend } from './util.js';
import matmulWgsl from '../../shaders/matmul.wgsl';
import { sumTo } from './layout.js';

const MATMUL = defineKernel('matmul', matmulWgsl, 'matmul');
const GEMM_WG = 64;

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
}

interface Plan {
  m: number;
  n: number;
  k: number;
  batchShape: number[];
  batch: number;
  aBatch: number;
  bBatch: number;
}

function plan(a: Tensor, b: Tensor, o: MatmulOptions): Plan {
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(`matmul: both operands need rank >= 2, got ${describeShape(a.shape)} and ${describeShape(b.shape)}`);
  }
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, ka] = o.transposeA ? [ac, ar] : [ar, ac];
  const [kb, n] = o.transposeB ? [bc, br] : [br, bc];
  if (ka !== kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: ${describeShape(a.shape)}${o.transposeA ? 'ᵀ' : ''} · ${describeShape(b.shape)}${o.transposeB ? 'ᵀ' : ''} (${ka} vs ${kb})`,
    );
  }
  const ab = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  const aBatch = ab.reduce((x, y) => x * y, 1);
  const bBatch = bb.reduce((x, y) => x * y, 1);
  const batchShape = aBatch >= bBatch ? ab : bb;
  if (aBatch !== bBatch && aBatch !== 1 && bBatch !== 1) {
    throw new ShapeError(`matmul: batch dimensions ${describeShape(ab)} and ${describeShape(bb)} differ (one must be 1 or both equal)`);
  }
  if (aBatch === bBatch && ab.length && bb.length && ab.some((d, i) => d !== bb[i])) {
    throw new ShapeError(`matmul: batch dimensions ${describeShape(ab)} and ${describeShape(bb)} differ`);
  }
  return { m, n, k: ka, batchShape, batch: Math.max(aBatch, bBatch), aBatch, bBatch };
}

/** Record C = alpha · op(A)·op(B) into `out` (shape [batch, m, n], contiguous). */
export function gemm(a: Tensor, b: Tensor, out: Tensor, p: Plan, o: MatmulOptions, alpha = 1): void {
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const tilesN = Math.ceil(p.n / 4);
  const tiles = Math.ceil(p.m / 4) * tilesN;
  backend().dispatch({
    kernel: MATMUL,
    bindings: { a: a.buffer, b: b.buffer, c: out.buffer },
    params: {
      m: p.m, n: p.n, k: p.k, batch: p.batch,
      a_batch: p.aBatch === 1 ? 0 : ar * ac, a_row: o.transposeA ? 1 : ac, a_col: o.transposeA ? ac : 1,
      b_batch: p.bBatch === 1 ? 0 : br * bc, b_row: o.transposeB ? 1 : bc, b_col: o.transposeB ? bc : 1,
      tiles_n: tilesN, alpha,
    },
    workgroups: [Math.ceil(tiles / GEMM_WG), p.batch, 1],
  });
}

export const matmulOp = defineOp<MatmulOptions>({
  name: 'matmul',
  forward: ([a, b], o) => {
    assertF32('matmul', a!, b!);
    const p = plan(a!, b!, o);
    const out = empty([...p.batchShape, p.m, p.n]);
    if (out.size && p.k > 0) gemm(a!, b!, out, p, o);
    else if (out.size) gemm(a!, b!, out, p, o, 0);
    return { out, save: [a!, b!] };
  },
  backward: (dy, { saved: [a, b], attrs: o, needs }) => {
    // C = op(A)·op(B):  dop(A) = dC·op(B)ᵀ,  dop(B) = op(A)ᵀ·dC; transpose back where op was ᵀ.
    const da = !needs[0] ? null : o.transposeA ? matmul(b!, dy, { transposeA: o.transposeB, transposeB: true }) : matmul(dy, b!, { transposeB: !o.transposeB });
    const db = !needs[1] ? null : o.transposeB ? matmul(dy, a!, { transposeA: true, transposeB: o.transposeA }) : matmul(a!, dy, { transposeA: !o.transposeA });
    return [da && sumTo(da, a!.shape), db && sumTo(db, b!.shape)];
  },
});

export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  return matmulOp([a, b], options);
}
