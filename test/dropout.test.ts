import { describe, expect, it } from 'vitest';
import { ops, tensor, uniform, ones, ShapeError, ValueError, type Tensor } from '../src/index.js';
import { arr } from './ref.js';
import { checkOp, gradsOf, opTest, rand, randArr } from './harness.js';
import { useGpu } from './setup.js';

useGpu();

const fill = (n: number, shape: number[], v = 1) => tensor(new Float32Array(n).fill(v), shape);

describe('dropout (inverted)', () => {
  opTest('mask', 'the mask is uniform(shape, { seed }) >= rate, kept values scaled by 1/(1 − rate)', async () => {
    const shape = [7, 33];
    const y = await ops.dropout(fill(231, shape), { rate: 0.4, seed: 5 }).data();
    const u = await uniform(shape, { seed: 5 }).data();
    y.forEach((v, i) => expect(v).toBe(u[i]! >= 0.4 ? Math.fround(1 / 0.6) : 0));
  });

  opTest('mask', 'statistics: drop fraction ≈ rate, mean preserved (20k elements)', async () => {
    const n = 20_000;
    const rate = 0.3;
    const x = tensor(Float32Array.from(rand(n, 41, 1, 3)), [n]);
    const xs = await x.data();
    const y = await ops.dropout(x, { rate, seed: 123 }).data();
    let dropped = 0;
    let sumX = 0;
    let sumY = 0;
    y.forEach((v, i) => {
      if (v === 0) dropped++;
      else expect(v).toBeCloseTo(xs[i]! / (1 - rate), 5);
      sumX += xs[i]!;
      sumY += v;
    });
    const sigma = Math.sqrt((rate * (1 - rate)) / n);
    expect(Math.abs(dropped / n - rate)).toBeLessThan(5 * sigma);
    expect(Math.abs(sumY / sumX - 1)).toBeLessThan(0.03);
  });

  opTest('mask', 'deterministic by seed: same seed same mask, another seed another mask', async () => {
    const x = fill(512, [512]);
    const a = await ops.dropout(x, { rate: 0.5, seed: 9 }).data();
    const b = await ops.dropout(x, { rate: 0.5, seed: 9 }).data();
    const c = await ops.dropout(x, { rate: 0.5, seed: 10 }).data();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  for (const shape of [[3, 5], [4, 6]]) opTest('mask', `gradient uses the forward mask (regenerated from the seed): central-difference check ${JSON.stringify(shape)}`, async () => {
    const u = Array.from(await uniform(shape, { seed: 77 }).data());
    return checkOp({
      gpu: (x) => ops.dropout(x, { rate: 0.25, seed: 77 }),
      ref: (x) => arr(shape, x.data.map((v, i) => (u[i]! >= 0.25 ? v / 0.75 : 0))),
      inputs: [randArr(shape, 42)],
    });
  });

  it('identity (gradient passes through) with rate 0 or training: false', async () => {
    const x = randArr([2, 3], 43);
    for (const o of [{ rate: 0, seed: 1 }, { rate: 0.5, seed: 1, training: false }]) {
      const y = ops.dropout(tensor(Float32Array.from(x.data), [2, 3]), o);
      expect(Array.from(await y.data())).toEqual(Array.from(Float32Array.from(x.data)));
      const [g] = await gradsOf((t) => ops.dropout(t, o), [x]);
      expect(Array.from(g!)).toEqual([1, 1, 1, 1, 1, 1]);
    }
  });

  it('rejects rate outside [0, 1) and a missing seed', () => {
    const x = fill(4, [4]);
    expect(() => ops.dropout(x, { rate: 1, seed: 1 })).toThrow(ValueError);
    expect(() => ops.dropout(x, { rate: -0.1, seed: 1 })).toThrow(ValueError);
    expect(() => ops.dropout(x, { rate: 0.1 } as { rate: number; seed: number })).toThrow(ValueError);
  });
});

describe('stochastic depth', () => {
  // Sample sizes 18 (four elements of an invocation may span two samples), 20 (one draw per
  // four elements) and 16 and 48 (apply_mask16: one draw per 16 elements).
  for (const shape of [[16, 3, 3, 2], [16, 5, 1, 4], [16, 2, 2, 4], [16, 3, 4, 4]]) {
    opTest('mask', `drops whole samples and does NOT rescale the kept ones (${JSON.stringify(shape)})`, async () => {
      const unit = shape.slice(1).reduce((a, b) => a * b, 1);
      const xs = Float32Array.from(rand(16 * unit, 44, 1, 2));
      const y = await ops.stochasticDepth(tensor(xs, shape), { rate: 0.5, seed: 3 }).data();
      const keep = await uniform([16], { seed: 3 }).data();
      let kept = 0;
      for (let s = 0; s < 16; s++) {
        const sample = Array.from(y.slice(s * unit, (s + 1) * unit));
        if (keep[s]! >= 0.5) {
          kept++;
          expect(sample).toEqual(Array.from(xs.slice(s * unit, (s + 1) * unit))); // exactly x: no 1/(1 − rate)
        } else expect(sample.every((v) => v === 0)).toBe(true);
      }
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(16);
    });
  }

  opTest('mask', 'a dropped sample is 0 even where x is NaN or ±inf (select, not a product), 16 per invocation and 4', async () => {
    for (const unit of [16, 4]) {
      const xs = new Float32Array(16 * unit).fill(Number.NaN);
      for (let i = 0; i < xs.length; i += 3) xs[i] = i % 2 ? Infinity : -Infinity;
      const y = await ops.stochasticDepth(tensor(xs, [16, unit]), { rate: 0.5, seed: 5 }).data();
      const keep = await uniform([16], { seed: 5 }).data();
      for (let s = 0; s < 16; s++) {
        const sample = Array.from(y.slice(s * unit, (s + 1) * unit));
        expect(sample).toEqual(keep[s]! >= 0.5 ? Array.from(xs.slice(s * unit, (s + 1) * unit)) : new Array(unit).fill(0));
      }
    }
  });

  opTest('mask', 'drop fraction ≈ rate over 4000 samples; rate 1 drops all; eval is the identity', async () => {
    const n = 4000;
    const rate = 0.25;
    const y = await ops.stochasticDepth(ones([n, 2]), { rate, seed: 11 }).data();
    let dropped = 0;
    for (let s = 0; s < n; s++) {
      expect(y[2 * s]).toBe(y[2 * s + 1]);
      if (y[2 * s] === 0) dropped++;
    }
    expect(Math.abs(dropped / n - rate)).toBeLessThan(5 * Math.sqrt((rate * (1 - rate)) / n));
    const all = await ops.stochasticDepth(ones([4, 2]), { rate: 1, seed: 1 }).data();
    expect(Array.from(all).every((v) => v === 0)).toBe(true);
    const evalOut = await ops.stochasticDepth(ones([4, 2]), { rate: 0.9, seed: 1, training: false }).data();
    expect(Array.from(evalOut).every((v) => v === 1)).toBe(true);
  });

  opTest('mask', 'gradient: kept samples get dy, dropped samples 0', async () => {
    const shape = [6, 2, 2, 1];
    const keep = Array.from(await uniform([6], { seed: 21 }).data()).map((u) => u >= 0.5);
    return checkOp({
      gpu: (x: Tensor) => ops.stochasticDepth(x, { rate: 0.5, seed: 21 }),
      ref: (x) => arr(shape, x.data.map((v, i) => (keep[Math.floor(i / 4)] ? v : 0))),
      inputs: [randArr(shape, 45)],
    });
  });
});

describe('drop path (per-sample drop, kept samples scaled by 1/(1 − rate))', () => {
  opTest('mask', 'same samples dropped as stochasticDepth with the same seed; kept ones scaled by 1/(1 − rate)', async () => {
    const shape = [16, 3, 3, 2];
    const unit = 18;
    const xs = Float32Array.from(rand(16 * unit, 46, 1, 2));
    const rate = 0.4;
    const y = await ops.dropPath(tensor(xs, shape), { rate, seed: 8 }).data();
    const sd = await ops.stochasticDepth(tensor(xs, shape), { rate, seed: 8 }).data();
    const keep = await uniform([16], { seed: 8 }).data();
    let kept = 0;
    for (let s = 0; s < 16; s++) {
      for (let i = s * unit; i < (s + 1) * unit; i++) {
        if (keep[s]! >= rate) expect(y[i]).toBe(Math.fround(xs[i]! * Math.fround(1 / (1 - rate))));
        else expect(y[i]).toBe(0);
        expect(y[i] === 0).toBe(sd[i] === 0);
      }
      if (keep[s]! >= rate) kept++;
    }
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(16);
  });

  opTest('mask', 'dropPath gradient: kept samples get dy/(1 − rate), dropped ones 0 (central differences)', async () => {
    const shape = [6, 5, 3];
    const keep = Array.from(await uniform([6], { seed: 31 }).data()).map((u) => u >= 0.3);
    return checkOp({
      gpu: (x: Tensor) => ops.dropPath(x, { rate: 0.3, seed: 31 }),
      ref: (x) => arr(shape, x.data.map((v, i) => (keep[Math.floor(i / 15)] ? v / 0.7 : 0))),
      inputs: [randArr(shape, 47)],
    });
  });

  it('dropPath: the mean over many samples is preserved; rate 1 drops all; eval and rate 0 are the identity', async () => {
    const n = 4000;
    const y = await ops.dropPath(ones([n, 2]), { rate: 0.25, seed: 12 }).data();
    let total = 0;
    for (let s = 0; s < n; s++) {
      expect(y[2 * s]).toBe(y[2 * s + 1]);
      total += y[2 * s]!;
    }
    // E = 1; each sample is 0 or 4/3 (σ = sqrt(0.25·0.75)·4/3 per sample).
    expect(Math.abs(total / n - 1)).toBeLessThan((5 * Math.sqrt(0.25 * 0.75) * (4 / 3)) / Math.sqrt(n));
    expect(Array.from(await ops.dropPath(ones([3, 2]), { rate: 1, seed: 1 }).data()).every((v) => v === 0)).toBe(true);
    for (const o of [{ rate: 0.5, seed: 1, training: false }, { rate: 0, seed: 1 }]) {
      expect(Array.from(await ops.dropPath(fill(6, [3, 2], 2), o).data())).toEqual([2, 2, 2, 2, 2, 2]);
    }
  });

  it('dropPath rejects rate outside [0, 1], a scalar x and unknown options', () => {
    expect(() => ops.dropPath(fill(4, [4]), { rate: 1.1, seed: 1 })).toThrow(ValueError);
    expect(() => ops.dropPath(tensor([1], []), { rate: 0.1, seed: 1 })).toThrow(ShapeError);
    expect(() => ops.dropPath(fill(4, [4]), { rate: 0.1, seed: 1, trainng: true } as never)).toThrow(/did you mean 'training'/);
  });
});
