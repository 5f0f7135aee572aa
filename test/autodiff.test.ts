import { describe, expect, it } from 'vitest';
import { defineOp, grad, keep, noGrad, ops, tensor, tidy, valueAndGrad, ValueError, type Tensor } from '../src/index.js';
import { expectClose } from './harness.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

const vals = async (t: Tensor) => Array.from(await t.data());

describe('gradient accumulation and structure', () => {
  it('a tensor used twice gets the summed gradient: f(x) = Σ x·x + x → 2x + 1', async () => {
    const x = tensor([-1.5, 0, 2, 3.25], [4]);
    const [loss, [g]] = await valueAndGrad((t: Tensor) => ops.sum(ops.add(ops.mul(t, t), t)))(x);
    expect(await loss.item()).toBeCloseTo(2.25 - 1.5 + 4 + 2 + 10.5625 + 3.25, 5);
    expect(await vals(g)).toEqual([-2, 1, 5, 7.5]);
  });

  it('a tensor used in several branches through broadcasting: f(x) = Σ (x + xᵀ)·x', async () => {
    const xs = [1, 2, -3, 0.5];
    const x = tensor(xs, [2, 2]);
    const [, [g]] = await valueAndGrad((t: Tensor) => ops.sum(ops.mul(ops.add(t, ops.transpose(t)), t)))(x);
    // f = Σ_ij (x_ij + x_ji) x_ij;  df/dx_ij = 2 x_ij + 2 x_ji
    const want = [0, 1, 2, 3].map((k) => {
      const [i, j] = [Math.floor(k / 2), k % 2];
      return 2 * xs[k]! + 2 * xs[j * 2 + i]!;
    });
    expectClose(await g.data(), want, 1e-6);
  });

  it('array arguments get gradients in the same structure', async () => {
    const a = tensor([1, 2], [2]);
    const b = tensor([3, 4], [2]);
    const c = tensor([5], []);
    const f = (ps: readonly Tensor[], s: Tensor) => ops.sum(ops.mul(ops.mul(ps[0]!, ps[1]!), s));
    const [loss, grads] = await valueAndGrad(f)([a, b], c);
    expect(await loss.item()).toBe(55);
    const [[ga, gb], gc] = grads;
    expect(Array.isArray(grads[0])).toBe(true);
    expect(grads[0]).toHaveLength(2);
    expect(await vals(ga!)).toEqual([15, 20]);
    expect(await vals(gb!)).toEqual([5, 10]);
    expect(gc.shape).toEqual([]);
    expect(await vals(gc)).toEqual([11]);
  });

  it('an argument that does not reach the loss gets a zero gradient of its shape', async () => {
    const a = tensor([1, 2], [2]);
    const unused = tensor([7, 8, 9], [3]);
    const [, [ga, gu]] = await valueAndGrad((x: Tensor, _y: Tensor) => ops.sum(x))(a, unused);
    expect(await vals(ga)).toEqual([1, 1]);
    expect(gu.shape).toEqual([3]);
    expect(await vals(gu)).toEqual([0, 0, 0]);
  });

  it('aux outputs returned by f survive and keep their values; intermediates are freed', async () => {
    const x = tensor([1, 2, 3], [3]);
    await gpu().sync();
    const live0 = gpu().poolStats().liveBuffers;
    const [loss, [g], aux] = await valueAndGrad((t: Tensor) => {
      const sq = ops.square(t);
      const e = ops.exp(t);
      return [ops.sum(sq), sq, ops.mul(e, 2)] as const;
    })(x);
    expect(aux).toHaveLength(2);
    expect(await vals(aux[0]!)).toEqual([1, 4, 9]);
    expectClose(await aux[1]!.data(), [1, 2, 3].map((v) => 2 * Math.exp(v)), 1e-6);
    expect(await loss.item()).toBe(14);
    expect(await vals(g)).toEqual([2, 4, 6]);
    // Exactly loss, gradient and the two aux tensors are alive beyond the input.
    await gpu().sync();
    expect(gpu().poolStats().liveBuffers - live0).toBe(4);
    for (const t of [loss, g, ...aux]) t.dispose();
  });

  it('grad() returns only the gradients and frees the value', async () => {
    const x = tensor([3], []);
    const [g] = await grad((t: Tensor) => ops.mul(ops.pow(t, 3), 2))(x);
    expect(await g.item()).toBe(54);
  });

  it('noGrad inside f stops the gradient (constants built under noGrad)', async () => {
    const x = tensor([1, 2], [2]);
    const [, [g]] = await valueAndGrad((t: Tensor) => {
      const c = noGrad(() => ops.mul(t, 3)); // treated as a constant
      return ops.sum(ops.mul(t, c));
    })(x);
    expect(await vals(g)).toEqual([3, 6]); // d/dt Σ t·c with c = 3t held fixed
  });

  it('a chain through layout ops, reductions and softmax matches the float64 closed form', async () => {
    // f(x) = Σ softmax(xᵀ, axis 0)[0, :] for x [3, 2] → gradient of the first softmax row.
    const xs = [0.1, -0.4, 1.2, 0.3, -0.7, 0.9];
    const x = tensor(xs, [3, 2]);
    const [, [g]] = await valueAndGrad((t: Tensor) => ops.sum(ops.slice(ops.softmax(ops.transpose(t), 0), [0, 0], [1, 3])))(x);
    // xᵀ is [2, 3]; softmax over axis 0 pairs (xᵀ[0, j], xᵀ[1, j]) = (x[j, 0], x[j, 1]); p = σ(x[j,0] − x[j,1]).
    const want: number[] = [];
    for (let j = 0; j < 3; j++) {
      const p = 1 / (1 + Math.exp(-(xs[j * 2]! - xs[j * 2 + 1]!)));
      want.push(p * (1 - p), -p * (1 - p));
    }
    expectClose(await g.data(), want, 1e-6);
  });

  it('an error thrown by a backward rule surfaces as itself and leaves autodiff usable', async () => {
    const broken = defineOp<Record<string, never>>({
      name: 'broken',
      forward: ([x]) => ({ out: ops.mul(x!, 1) }),
      backward: () => {
        throw new ValueError('broken backward');
      },
    });
    const x = tensor([1, 2], [2]);
    await expect(valueAndGrad((t: Tensor) => ops.sum(broken([t], {})))(x)).rejects.toThrow('broken backward');
    const [, [g]] = await valueAndGrad((t: Tensor) => ops.sum(ops.square(t)))(x);
    expect(await vals(g)).toEqual([2, 4]);
    // tidy still works (the scope stack is balanced).
    const kept = tidy(() => ops.add(x, 1));
    expect(await vals(kept)).toEqual([2, 3]);
  });

  it('tidy rejects an async function with a ValueError (a scope must not span an await)', () => {
    expect(() => tidy(async () => ops.exp(tensor([1], [1])))).toThrow(ValueError);
    const kept = tidy(() => ops.add(tensor([1], [1]), 1)); // the scope stack is still balanced
    kept.dispose();
  });

  it('tidy frees intermediates and keeps the result and keep()-ed tensors', async () => {
    const x = tensor([1, 2, 3], [3]);
    await gpu().sync();
    const live0 = gpu().poolStats().liveBuffers;
    let inner: Tensor | null = null;
    const y = tidy(() => {
      const a = ops.exp(x);
      inner = keep(ops.neg(x));
      return ops.mul(a, 2);
    });
    await gpu().sync();
    expect(gpu().poolStats().liveBuffers - live0).toBe(2);
    expect(await vals(inner!)).toEqual([-1, -2, -3]);
    y.dispose();
    inner!.dispose();
  });
});
