/**
 * Reductions: sum, mean, max, min over any set of axes (with keepdims), plus the
 * composites var and logSumExp-style helpers built from them. A set of axes is reduced
 * as runs of adjacent axes, each run one [outer, r, inner] pass (chunked when r is long).
 */
import { defineOp } from '../autodiff/op.js';
import { Tensor, checkTensor } from '../tensor/tensor.js';
import { defineKernel } from '../runtime/kernel.js';
import { empty } from '../tensor/creation.js';
import { assertF32, backend, linearGroups, normalizeAxes, sizeOf, WG } from './util.js';
import reduceWgsl from '../../shaders/reduce.wgsl';
import { broadcastTo } from './layout.js';
import { div, mul, sub, eq } from './binary.js';
import { mulScalar, square } from './unary.js';
import { composite } from './composite.js';
import { checkBoolean, checkOptions } from '../runtime/validate.js';

const REDUCE = defineKernel('reduce', reduceWgsl, 'reduce_axis');
const OPS = { sum: 0, max: 1, min: 2 } as const;
/**
 * Threads a pass aims for: a reduction with fewer [outer, inner] columns than this splits
 * r into chunks (one more, short pass sums the chunks). With one thread per column, nano's
 * per-channel sums (e.g. [1, 1568, 128]: 32 vec4 columns) ran in one workgroup, on one
 * SwiftShader thread, as a GPU would run them on one core.
 */
const TARGET_THREADS = 4096;
/** Fewest values of r per thread when r is split: below it the extra pass costs more than it saves. */
const MIN_CHUNK = 64;

/** Values of r per thread for [outer, r, inner] with `threads` columns. */
function chunkOf(len: number, threads: number): number {
  const want = Math.ceil(TARGET_THREADS / Math.max(1, threads));
  return want <= 1 ? len : Math.min(len, Math.max(MIN_CHUNK, Math.ceil(len / want)));
}

export interface ReduceOptions {
  axes?: number | readonly number[];
  keepdims?: boolean;
}

/** One pass over [outer, r, inner] → [outer, inner] (looping passes while r is long). */
function reduceRun(x: Tensor, outer: number, r: number, inner: number, op: keyof typeof OPS, scale: number): Tensor {
  let src = x;
  let len = r;
  for (;;) {
    const vec = inner % 4 === 0 ? 4 : 1;
    const chunk = chunkOf(len, (outer * inner) / vec);
    const chunks = Math.ceil(len / chunk) || 1;
    const out = empty([outer * chunks * inner]);
    const last = chunks === 1;
    backend().dispatch({
      kernel: REDUCE,
      bindings: { x: src, out },
      params: { outer, r: len, inner, chunk: Math.max(chunk, 1), chunks, scale: last ? scale : 1 },
      overrides: { OP: OPS[op], VEC_I: vec === 4 ? 1 : 0 },
      workgroups: linearGroups((outer * chunks * inner) / vec, WG),
    });
    if (src !== x) src.dispose();
    if (last) return out;
    src = out;
    len = chunks;
  }
}

/** Group sorted axes into runs of adjacent axes. */
function runsOf(axes: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a) last[1] = a + 1;
    else runs.push([a, a + 1]);
  }
  return runs;
}

function reduceForward(name: string, op: keyof typeof OPS, mean: boolean) {
  return (inputs: readonly Tensor[], attrs: ReduceOptions): { out: Tensor; save?: Tensor[] } => {
    const [x] = inputs as [Tensor];
    assertF32(name, x);
    const axes = normalizeAxes(name, attrs.axes, x.rank);
    const outShape = x.shape.filter((_, i) => !axes.includes(i));
    const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const finalShape = attrs.keepdims ? keptShape : outShape;
    const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
    if (!axes.length) {
      // Nothing to reduce: a copy (so max/min still save what their backward needs).
      const copy = reduceRun(x, 1, 1, x.size, op, 1);
      const out = copy.view(finalShape);
      copy.dispose();
      return { out, save: op === 'sum' ? [] : [x, out] };
    }
    // Reduce runs from the last, so earlier axes keep their positions.
    let cur = x;
    let shape = [...x.shape];
    const runs = runsOf(axes).reverse();
    runs.forEach(([from, to], k) => {
      const outer = sizeOf(shape.slice(0, from));
      const r = sizeOf(shape.slice(from, to));
      const inner = sizeOf(shape.slice(to));
      const isLast = k === runs.length - 1;
      const next = reduceRun(cur, outer, r, inner, op, mean && isLast ? 1 / count : 1);
      if (cur !== x) cur.dispose();
      shape = [...shape.slice(0, from), ...Array(to - from).fill(1), ...shape.slice(to)];
      cur = next;
    });
    const out = cur.view(finalShape);
    cur.dispose();
    return { out, save: op === 'sum' ? [] : [x, out] };
  };
}

/** Shape of the reduced result with the reduced axes kept as 1 (for broadcasting back). */
function keptShapeOf(x: Tensor, attrs: ReduceOptions, name: string): number[] {
  const axes = normalizeAxes(name, attrs.axes, x.rank);
  return x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

export const sumOp = defineOp<ReduceOptions>({
  name: 'sum',
  forward: reduceForward('sum', 'sum', false),
  backward: (dy, { inputs: [x], attrs }) => [broadcastTo(dy.view(keptShapeOf(x!, attrs, 'sum')), x!.shape)],
});

export const meanOp = defineOp<ReduceOptions>({
  name: 'mean',
  forward: reduceForward('mean', 'sum', true),
  backward: (dy, { inputs: [x], attrs }) => {
    const kept = keptShapeOf(x!, attrs, 'mean');
    const count = x!.size / sizeOf(kept);
    // Scaled before it is broadcast: one pass over the input's size, not two.
    return [broadcastTo(mulScalar(dy.view(kept), 1 / count), x!.shape)];
  },
});

/**
 * max/min backward: the gradient is shared equally among all positions that attain the
 * extreme (ties split, as in PyTorch's amax), so it sums to dy.
 */
function extremeBackward(name: string) {
  return (dy: Tensor, { saved: [x, y], attrs }: { saved: readonly Tensor[]; attrs: ReduceOptions }) => {
    const kept = keptShapeOf(x!, attrs, name);
    const mask = eq(x!, y!.view(kept));
    const ties = sumOp([mask], { axes: attrs.axes ?? [...Array(x!.rank).keys()], keepdims: true });
    return [mul(mask, div(dy.view(kept), ties))];
  };
}

export const maxOp = defineOp<ReduceOptions>({ name: 'max', forward: reduceForward('max', 'max', false), backward: extremeBackward('max') });
export const minOp = defineOp<ReduceOptions>({ name: 'min', forward: reduceForward('min', 'min', false), backward: extremeBackward('min') });

/** The options of a reduction, checked (axes are checked against the rank by the forward). */
function reduceOptions(op: string, opts: ReduceOptions | undefined): ReduceOptions {
  const o = checkOptions(op, opts, ['axes', 'keepdims']);
  if (o.keepdims !== undefined) checkBoolean(op, 'keepdims', o.keepdims);
  return o;
}

export const sum = (x: Tensor, opts: ReduceOptions = {}): Tensor => sumOp([x], reduceOptions('sum', opts));
export const mean = (x: Tensor, opts: ReduceOptions = {}): Tensor => meanOp([x], reduceOptions('mean', opts));
export const max = (x: Tensor, opts: ReduceOptions = {}): Tensor => maxOp([x], reduceOptions('max', opts));
export const min = (x: Tensor, opts: ReduceOptions = {}): Tensor => minOp([x], reduceOptions('min', opts));

/** Population variance (divides by N, as JAX and the NFNet reference do). */
export function variance(x: Tensor, opts: ReduceOptions = {}): Tensor {
  reduceOptions('variance', opts);
  checkTensor('variance', 'x', x);
  normalizeAxes('variance', opts.axes, x.rank);
  return composite(() => mean(square(sub(x, mean(x, { axes: opts.axes, keepdims: true }))), opts));
}

