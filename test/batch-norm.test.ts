import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ops, tensor, noGrad, valueAndGrad, ShapeError, ValueError, DTypeError, type Tensor } from '../src/index.js';
import { checkOp, gradsOf, opTest, randArr, expectClose, toTensor } from './harness.js';
import { batchNorm as refBatchNorm, runningUpdate } from './ref-norm.js';
import type { Arr } from './ref.js';
import { useGpu } from './setup.js';
import { ModelState, StateLayout } from '../src/state/model-state.js';

const { gpu } = useGpu();

const f32 = (a: Arr) => tensor(Float32Array.from(a.data), a.shape);

/** Running statistics that are not the batch's: mean ∈ [−0.5, 0.5], variance ∈ [0.5, 2]. */
function running(c: number, seed: number): { mean: Arr; variance: Arr } {
  return { mean: randArr([c], seed, -0.5, 0.5), variance: randArr([c], seed + 1, 0.5, 2) };
}

type Act = 'identity' | 'relu' | 'silu';

/** checkOp of training mode on x of `shape` (the running statistics are throwaway tensors). */
function trainingCase(shape: number[], activation: Act, seed: number, eps = 1e-5, gradTol = 1e-4) {
  const c = shape[shape.length - 1]!;
  const rm = tensor(new Float32Array(c), [c]);
  const rv = tensor(new Float32Array(c).fill(1), [c]);
  return checkOp({
    gpu: (x, w, b) => ops.batchNorm(x, w, b, rm, rv, { training: true, activation, eps }),
    ref: (x, w, b) => refBatchNorm(x, w, b, eps, activation),
    inputs: [randArr(shape, seed, -2, 3), randArr([c], seed + 1, 0.5, 1.5), randArr([c], seed + 2, -0.5, 0.5)],
    fwdTol: 1e-4,
    gradTol,
  }).finally(() => {
    rm.dispose();
    rv.dispose();
  });
}

function evalCase(shape: number[], activation: Act, seed: number, eps = 1e-5) {
  const c = shape[shape.length - 1]!;
  const stats = running(c, seed + 10);
  const rm = f32(stats.mean);
  const rv = f32(stats.variance);
  return checkOp({
    gpu: (x, w, b) => ops.batchNorm(x, w, b, rm, rv, { training: false, activation, eps }),
    ref: (x, w, b) => refBatchNorm(x, w, b, eps, activation, stats),
    inputs: [randArr(shape, seed, -2, 2), randArr([c], seed + 1, 0.5, 1.5), randArr([c], seed + 2, -0.5, 0.5)],
    fwdTol: 1e-5,
    gradTol: 1e-4,
  }).finally(() => {
    rm.dispose();
    rv.dispose();
  });
}

describe('batchNorm, training mode (batch statistics) vs float64 reference and central differences', () => {
  opTest('batchNorm', 'NHWC [2,3,5,7] (7 channels: one per thread), identity', () => trainingCase([2, 3, 5, 7], 'identity', 1));
  opTest('batchNorm', '[3,4] (4 channels: the vec4 path), relu', () => trainingCase([3, 4], 'relu', 4));
  opTest('batchNorm', 'NHWC [2,3,3,8], silu', () => trainingCase([2, 3, 3, 8], 'silu', 7));
  opTest('batchNorm', '[2,5,3] relu, eps 0.1', () => trainingCase([2, 5, 3], 'relu', 10, 0.1));
  opTest('batchNorm', '189 rows × 3 channels: several chunks, the last one short', () => trainingCase([3, 7, 9, 3], 'silu', 13));
  opTest('batchNorm', '72 rows × 8 channels: several chunks on the vec4 path, relu', () => trainingCase([2, 6, 6, 8], 'relu', 19));
  // Two values normalize to ∓1 whatever they are: dx is 0, and the check is against f32 noise
  // (~3e-7) over the harness's 1e-3 floor on the scale.
  opTest('batchNorm', '[2,1] (two values per channel, the fewest training allows)', () => trainingCase([2, 1], 'identity', 16, 1e-5, 1e-3));
});

describe('batchNorm, eval mode (running statistics) vs float64 reference and central differences', () => {
  opTest('batchNorm', 'NHWC [2,3,5,7], identity', () => evalCase([2, 3, 5, 7], 'identity', 21));
  opTest('batchNorm', '[3,4], relu', () => evalCase([3, 4], 'relu', 24));
  opTest('batchNorm', 'NHWC [2,3,3,8], silu', () => evalCase([2, 3, 3, 8], 'silu', 27));
  opTest('batchNorm', '189 rows × 4 channels, silu', () => evalCase([3, 7, 9, 4], 'silu', 30));
  opTest('batchNorm', '[1,5] (one value per channel is fine in eval)', () => evalCase([1, 5], 'relu', 33));
});

/** Central differences of Σ cot ⊙ f(x) in float64, at `at` (default: every element). */
function numericGrad(f: (x: Arr) => Arr, x: Arr, cot: Arr, at: number[] = [...x.data.keys()], h = 1e-6): Float64Array {
  const loss = (xi: Arr) => f(xi).data.reduce((s, v, i) => s + v * cot.data[i]!, 0);
  return Float64Array.from(at, (i) => {
    const plus = { shape: x.shape, data: Float64Array.from(x.data) };
    const minus = { shape: x.shape, data: Float64Array.from(x.data) };
    plus.data[i]! += h;
    minus.data[i]! -= h;
    return (loss(plus) - loss(minus)) / (2 * h);
  });
}

describe('batchNorm gradients of x alone (weight and bias not differentiated)', () => {
  for (const training of [false, true]) {
    opTest('batchNorm', `${training ? 'training' : 'eval (the reduction is skipped)'}: dx of [3,5,6], silu`, async () => {
      const c = 6;
      const stats = running(c, 100);
      const [w, b, x, cot] = [randArr([c], 101, 0.5, 1.5), randArr([c], 102), randArr([3, 5, c], 103, -2, 2), randArr([3, 5, c], 104)];
      const [wt, bt, rm, rv] = [w, b, stats.mean, stats.variance].map(toTensor) as Tensor[];
      const [dx] = await gradsOf((xi) => ops.batchNorm(xi, wt!, bt!, rm!, rv!, { training, activation: 'silu' }), [x], cot);
      const want = numericGrad((xi) => refBatchNorm(xi, w, b, 1e-5, 'silu', training ? undefined : stats), x, cot);
      expectClose(dx!, want, 1e-4, 'dx');
      for (const t of [wt, bt, rm, rv]) t!.dispose();
    });
  }
});

describe('batchNorm over many rows: the partial sums folded by a reduction before the per-channel pass', () => {
  // 9,000 rows of one channel: 282 chunks of 32 rows, more than a per-channel thread adds itself.
  opTest('batchNorm', '[9000, 1] training, silu: output, dweight and dbias, and dx at 40 places (central differences)', async () => {
    const [x, w, b, cot] = [randArr([9000, 1], 120, -2, 3), randArr([1], 121, 0.5, 1.5), randArr([1], 122), randArr([9000, 1], 123)];
    const stats = running(1, 124);
    const [rm, rv] = [stats.mean, stats.variance].map(toTensor) as Tensor[];
    const f = (xi: Tensor, wi: Tensor, bi: Tensor) => ops.batchNorm(xi, wi, bi, rm!, rv!, { training: true, activation: 'silu' });
    const inputs = [x, w, b].map(toTensor) as [Tensor, Tensor, Tensor];
    const y = noGrad(() => f(...inputs));
    expectClose(await y.data(), refBatchNorm(x, w, b, 1e-5, 'silu'), 1e-4, 'forward');
    const [dx, dw, db] = await gradsOf(f, [x, w, b], cot);
    const at = Array.from({ length: 40 }, (_, k) => (k * 7919) % 9000);
    expectClose(at.map((i) => dx![i]!), numericGrad((xi) => refBatchNorm(xi, w, b, 1e-5, 'silu'), x, cot, at), 1e-4, 'dx');
    expectClose(dw!, numericGrad((wi) => refBatchNorm(x, wi, b, 1e-5, 'silu'), w, cot), 1e-4, 'dweight');
    expectClose(db!, numericGrad((bi) => refBatchNorm(x, w, bi, 1e-5, 'silu'), b, cot), 1e-4, 'dbias');
    const want = runningUpdate(stats.mean.data, stats.variance.data, x, 0.1);
    // Two training calls (the forward above and the one gradsOf runs) moved the statistics.
    const twice = runningUpdate(want.mean, want.variance, x, 0.1);
    expectClose(await rm!.data(), twice.mean, 1e-5, 'running mean');
    expectClose(await rv!.data(), twice.variance, 1e-5, 'running variance');
    for (const t of [y, rm, rv, ...inputs]) t!.dispose();
  });
});

describe('batchNorm running statistics', () => {
  it('two successive training calls update runningMean/runningVar in place as PyTorch does (momentum 0.3, unbiased variance)', async () => {
    const c = 6;
    const stats = running(c, 40);
    const rm = f32(stats.mean);
    const rv = f32(stats.variance);
    const w = toTensor(randArr([c], 41, 0.5, 1.5));
    const b = toTensor(randArr([c], 42));
    const x1 = randArr([2, 4, 3, c], 43, -1, 3);
    const x2 = randArr([5, c], 44, 2, 5);
    let want = { mean: stats.mean.data, variance: stats.variance.data };
    for (const x of [x1, x2]) {
      const xt = toTensor(x);
      noGrad(() => ops.batchNorm(xt, w, b, rm, rv, { training: true, momentum: 0.3 })).dispose();
      xt.dispose();
      want = runningUpdate(want.mean, want.variance, x, 0.3);
      expectClose(await rm.data(), want.mean, 1e-5, 'running mean');
      expectClose(await rv.data(), want.variance, 1e-5, 'running variance');
    }
    for (const t of [rm, rv, w, b]) t.dispose();
  });

  it('the default momentum is 0.1; a gradient pass updates once (the update is not on the tape); eval leaves them alone', async () => {
    const c = 5;
    const stats = running(c, 50);
    const rm = f32(stats.mean);
    const rv = f32(stats.variance);
    const x = randArr([4, 3, c], 51, -1, 1);
    const xt = toTensor(x);
    const w = toTensor(randArr([c], 52, 0.5, 1.5));
    const b = toTensor(randArr([c], 53));
    const [loss, grads] = await valueAndGrad((xi: Tensor, wi: Tensor) => ops.sum(ops.square(ops.batchNorm(xi, wi, b, rm, rv, { training: true }))))(xt, w);
    const want = runningUpdate(stats.mean.data, stats.variance.data, x, 0.1);
    expectClose(await rm.data(), want.mean, 1e-5, 'running mean after value+grad');
    expectClose(await rv.data(), want.variance, 1e-5, 'running variance after value+grad');
    noGrad(() => ops.batchNorm(xt, w, b, rm, rv, { training: false })).dispose();
    expectClose(await rm.data(), want.mean, 1e-5, 'running mean after eval');
    expectClose(await rv.data(), want.variance, 1e-5, 'running variance after eval');
    for (const t of [loss, ...grads, rm, rv, xt, w, b]) t.dispose();
  });

  it('momentum 0 keeps, momentum 1 replaces the running statistics', async () => {
    const c = 4;
    const x = randArr([6, c], 60, -1, 2);
    const xt = toTensor(x);
    const w = toTensor(randArr([c], 61));
    const b = toTensor(randArr([c], 62));
    const stats = running(c, 63);
    const rm = f32(stats.mean);
    const rv = f32(stats.variance);
    noGrad(() => ops.batchNorm(xt, w, b, rm, rv, { training: true, momentum: 0 })).dispose();
    expectClose(await rm.data(), stats.mean.data, 1e-7, 'momentum 0: mean');
    expectClose(await rv.data(), stats.variance.data, 1e-7, 'momentum 0: variance');
    noGrad(() => ops.batchNorm(xt, w, b, rm, rv, { training: true, momentum: 1 })).dispose();
    const want = runningUpdate(stats.mean.data, stats.variance.data, x, 1);
    expectClose(await rm.data(), want.mean, 1e-6, 'momentum 1: mean');
    expectClose(await rv.data(), want.variance, 1e-6, 'momentum 1: variance');
    for (const t of [xt, w, b, rm, rv]) t.dispose();
  });

  it("running statistics that are slices of one ModelState region (as a model's are) update in place, and the forward reads them", async () => {
    // weight/bias live in the parameter region, running_mean/running_var side by side in the
    // running region: both running slices are bound read_write in one dispatch.
    const c = 5;
    const stats = running(c, 90);
    const w = randArr([c], 91, 0.5, 1.5);
    const b = randArr([c], 92);
    const layout = new StateLayout();
    const refs = {
      w: layout.param('bn.weight', 'gain', [c], () => Float32Array.from(w.data)),
      b: layout.param('bn.bias', 'bias', [c], () => Float32Array.from(b.data)),
      rm: layout.running('bn.running_mean', [c], () => Float32Array.from(stats.mean.data)),
      rv: layout.running('bn.running_var', [c], () => Float32Array.from(stats.variance.data)),
    };
    const state = ModelState.create(layout);
    const [wt, bt, rm, rv] = [refs.w, refs.b, refs.rm, refs.rv].map((r) => state.get(r));
    expect(rm!.buffer).toBe(rv!.buffer);
    const x = randArr([3, 2, 2, c], 93, -1, 2);
    const xt = toTensor(x);
    const y = noGrad(() => ops.batchNorm(xt, wt!, bt!, rm!, rv!, { training: true, activation: 'silu' }));
    expectClose(await y.data(), refBatchNorm(x, w, b, 1e-5, 'silu'), 1e-4, 'training output');
    const want = runningUpdate(stats.mean.data, stats.variance.data, x, 0.1);
    const values = await state.read();
    expectClose(values.get('bn.running_mean')!, want.mean, 1e-5, 'running mean in the state');
    expectClose(values.get('bn.running_var')!, want.variance, 1e-5, 'running variance in the state');
    expectClose(values.get('bn.weight')!, Float32Array.from(w.data), 0, 'weight untouched');
    const yEval = noGrad(() => ops.batchNorm(xt, wt!, bt!, rm!, rv!, { training: false }));
    const evalStats = { mean: { shape: [c], data: want.mean }, variance: { shape: [c], data: want.variance } };
    expectClose(await yEval.data(), refBatchNorm(x, w, b, 1e-5, 'identity', evalStats), 1e-5, 'eval output from the updated statistics');
    for (const t of [y, yEval, xt]) t.dispose();
    state.dispose();
  });

  it('a NaN in x makes its channel (output and both running statistics) NaN and leaves the others alone', async () => {
    const c = 3;
    const x = randArr([4, c], 95);
    x.data[4] = Number.NaN; // row 1, channel 1
    const [xt, w, b, rm, rv] = [x, randArr([c], 96), randArr([c], 97), randArr([c], 98), randArr([c], 99, 0.5, 2)].map(toTensor) as Tensor[];
    const y = await noGrad(() => ops.batchNorm(xt!, w!, b!, rm!, rv!, { training: true })).data();
    const [m, v] = [await rm!.data(), await rv!.data()];
    for (const [what, values] of [['running mean', m], ['running variance', v]] as const) {
      expect(Array.from(values, Number.isNaN), what).toEqual([false, true, false]);
    }
    expect(Array.from(y, (u, i) => Number.isNaN(u) === (i % c === 1))).toEqual(Array(12).fill(true));
    for (const t of [xt, w, b, rm, rv]) t!.dispose();
  });

  it('one-pass statistics hold against a large common offset (1000 ± 1)', async () => {
    const c = 4;
    const x = randArr([8, 8, 8, c], 70, -1, 1);
    for (let i = 0; i < x.data.length; i++) x.data[i]! += 1000;
    const w = randArr([c], 71, 0.5, 1.5);
    const b = randArr([c], 72);
    const rm = tensor(new Float32Array(c), [c]);
    const rv = tensor(new Float32Array(c).fill(1), [c]);
    const [xt, wt, bt] = [x, w, b].map(toTensor) as [Tensor, Tensor, Tensor];
    const y = noGrad(() => ops.batchNorm(xt, wt, bt, rm, rv, { training: true, momentum: 1 }));
    // f32 holds 1000 ± 1 to ~6e-5 absolute, ~1e-4 of a unit-variance output.
    expectClose(await y.data(), refBatchNorm(x, w, b, 1e-5, 'identity'), 2e-4, 'y');
    const want = runningUpdate(new Float64Array(c), new Float64Array(c).fill(1), x, 1);
    expectClose(await rv.data(), want.variance, 1e-3, 'running variance');
    for (const t of [y, xt, wt, bt, rm, rv]) t.dispose();
  });
});

describe('batchNorm memory', () => {
  it('training and eval calls, with and without a gradient, return every temporary to the pool', async () => {
    const c = 8;
    const [x, w, b, rm, rv] = [randArr([4, 3, 3, c], 110), randArr([c], 111), randArr([c], 112), randArr([c], 113), randArr([c], 114, 0.5, 2)].map(toTensor) as Tensor[];
    const run = async () => {
      for (const training of [true, false]) {
        noGrad(() => ops.batchNorm(x!, w!, b!, rm!, rv!, { training, activation: 'relu' })).dispose();
        const [loss, grads] = await valueAndGrad((xi: Tensor, wi: Tensor) => ops.sum(ops.batchNorm(xi, wi, b!, rm!, rv!, { training, activation: 'silu' })))(x!, w!);
        for (const t of [loss, ...grads]) t.dispose();
      }
      await gpu().sync();
    };
    await run(); // first calls build pipelines and pool classes
    const before = gpu().poolStats().liveBytes;
    for (let i = 0; i < 3; i++) await run();
    expect(gpu().poolStats().liveBytes).toBe(before);
    for (const t of [x, w, b, rm, rv]) t!.dispose();
  });
});

describe('batchNorm vs TF.js CPU (tf.moments + tf.batchNorm), a second opinion', () => {
  it('training and eval forward, and the training gradient of x, weight and bias', async () => {
    await tf.setBackend('cpu');
    const shape = [2, 4, 4, 6];
    const c = 6;
    const x = randArr(shape, 80, -1, 2);
    const w = randArr([c], 81, 0.5, 1.5);
    const b = randArr([c], 82);
    const dy = randArr(shape, 83);
    const stats = running(c, 84);
    const [xt, wt, bt, dyt, rm, rv] = [x, w, b, dy, stats.mean, stats.variance].map(toTensor) as Tensor[];
    const tx = tf.tensor(Float32Array.from(x.data), shape);
    const tw = tf.tensor1d(Float32Array.from(w.data));
    const tb = tf.tensor1d(Float32Array.from(b.data));
    const tdy = tf.tensor(Float32Array.from(dy.data), shape);
    const tfTrain = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => {
      const m = tf.moments(xi, [0, 1, 2]);
      return tf.batchNorm(xi, m.mean, m.variance, bi, wi, 1e-5);
    };
    // Eval first (the training call below moves the running statistics).
    const evalY = noGrad(() => ops.batchNorm(xt!, wt!, bt!, rm!, rv!, { training: false }));
    const tfEval = tf.batchNorm(tx, tf.tensor1d(Float32Array.from(stats.mean.data)), tf.tensor1d(Float32Array.from(stats.variance.data)), tb, tw, 1e-5);
    expectClose(await evalY.data(), await tfEval.data(), 1e-5, 'eval forward');
    const [y, grads] = await valueAndGrad((xi: Tensor, wi: Tensor, bi: Tensor) =>
      ops.sum(ops.mul(ops.batchNorm(xi, wi, bi, rm!, rv!, { training: true }), dyt!)))(xt!, wt!, bt!);
    const tfGrads = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(tfTrain(xi, wi, bi), tdy)))([tx, tw, tb]);
    expect(await y.item()).toBeCloseTo(await tf.sum(tf.mul(tfTrain(tx, tw, tb), tdy)).array() as number, 3);
    for (let k = 0; k < 3; k++) expectClose(await grads[k]!.data(), await tfGrads[k]!.data(), 1e-4, `gradient ${k}`);
    for (const t of [y, evalY, ...grads, xt, wt, bt, dyt, rm, rv]) t!.dispose();
    tf.disposeVariables();
  });
});

describe('batchNorm errors (typed, before GPU work)', () => {
  it('rejects mismatched channels, bad ranks, bad options and aliased running statistics', () => {
    const x = tensor(new Float32Array(24), [2, 3, 4]);
    const v = (n: number) => tensor(new Float32Array(n), [n]);
    const [w, b, rm, rv] = [v(4), v(4), v(4), v(4)];
    const ok = { training: true };
    expect(() => ops.batchNorm(x, v(3), b, rm, rv, ok)).toThrow(ShapeError);
    expect(() => ops.batchNorm(x, w, v(5), rm, rv, ok)).toThrow(/bias must have shape \[4\]/);
    expect(() => ops.batchNorm(x, w, b, v(3), rv, ok)).toThrow(/runningMean must have shape \[4\]/);
    expect(() => ops.batchNorm(x, w, b, rm, tensor(new Float32Array(4), [2, 2]), ok)).toThrow(ShapeError);
    expect(() => ops.batchNorm(v(4), w, b, rm, rv, ok)).toThrow(ShapeError);
    expect(() => ops.batchNorm(x, w, b, rm, rv, { training: true, momentum: 1.5 })).toThrow(/momentum must be a finite number in \[0, 1\]/);
    expect(() => ops.batchNorm(x, w, b, rm, rv, { training: true, momentum: -0.1 })).toThrow(ValueError);
    expect(() => ops.batchNorm(x, w, b, rm, rv, { training: true, eps: 0 })).toThrow(/eps must be/);
    expect(() => ops.batchNorm(x, w, b, rm, rv, { training: true, eps: -1 })).toThrow(ValueError);
    expect(() => ops.batchNorm(x, w, b, rm, rv, { training: true, activation: 'gelu' as 'relu' })).toThrow(/activation must be one of/);
    expect(() => ops.batchNorm(x, w, b, rm, rv, { training: true, momentun: 0.1 } as never)).toThrow(/did you mean 'momentum'/);
    expect(() => ops.batchNorm(x, w, b, rm, rv, {} as never)).toThrow(/training must be true or false/);
    expect(() => ops.batchNorm(x, w, b, rm, rv, undefined as never)).toThrow(ValueError);
    expect(() => ops.batchNorm(x, w, b, rm, rm, ok)).toThrow(/two different tensors/);
    expect(() => ops.batchNorm(tensor(new Float32Array(4), [1, 4]), w, b, rm, rv, ok)).toThrow(/more than one value per channel/);
    expect(() => ops.batchNorm(x, w, b, rm, tensor(new Int32Array(4), [4], 'i32'), ok)).toThrow(DTypeError);
    expect(() => ops.batchNorm(x, w, b, rm, 'rv' as never, ok)).toThrow(ValueError);
    for (const t of [x, w, b, rm, rv]) t.dispose();
  });
});
