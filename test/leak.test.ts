// 50 steps of a small training loop must not grow live GPU memory: every intermediate,
// saved activation and gradient of a step is returned to the pool.
import { expect, it } from 'vitest';
import { noGrad, onesLike, ops, optim, randn, tensor, tidy, valueAndGrad, type Tensor } from '../src/index.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

it('50 valueAndGrad steps of a 2-layer MLP leave liveBytes flat', async () => {
  const [n, din, hidden, classes] = [16, 12, 20, 5];
  const x = randn([n, din], { seed: 1 });
  const labels = Array.from({ length: n }, (_, i) => (i * 7) % classes);
  const onehot = tensor(labels.flatMap((c) => Array.from({ length: classes }, (_, k) => (k === c ? 1 : 0))), [n, classes]);
  let params: Tensor[] = [
    randn([din, hidden], { seed: 2, std: 0.3 }),
    randn([hidden], { seed: 3, std: 0.01 }),
    randn([hidden, classes], { seed: 4, std: 0.3 }),
    randn([classes], { seed: 5, std: 0.01 }),
  ];
  const step = valueAndGrad((ps: readonly Tensor[]) => {
    const [w1, b1, w2, b2] = ps as [Tensor, Tensor, Tensor, Tensor];
    const h = ops.relu(ops.add(ops.matmul(x, w1), b1));
    const logits = ops.add(ops.matmul(h, w2), b2);
    return ops.neg(ops.mean(ops.sum(ops.mul(ops.logSoftmax(logits), onehot), { axes: -1 })));
  });

  const losses: number[] = [];
  const live: number[] = [];
  let pipelinesAfterStep1 = -1;
  for (let s = 1; s <= 50; s++) {
    const [loss, [grads]] = await step(params);
    losses.push(await loss.item());
    loss.dispose();
    // SGD update: tidy frees the scaled gradients, then the old params and grads are dropped.
    const next = noGrad(() => tidy(() => params.map((p, i) => ops.sub(p, ops.mul(grads[i]!, 0.5)))));
    for (const t of [...params, ...grads]) t.dispose();
    params = next;
    await gpu().sync();
    live.push(gpu().poolStats().liveBytes);
    if (s === 1) pipelinesAfterStep1 = gpu().cacheStats().pipelines;
  }
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[49]!).toBeLessThan(losses[0]! * 0.8); // it actually trains

  const pool = gpu().poolStats();
  const cache = gpu().cacheStats();
  console.log('[leak] pool after 50 steps', JSON.stringify(pool));
  console.log('[leak] pipeline cache', JSON.stringify(cache));
  console.log('[leak] liveBytes at step 1/5/10/50', live[0], live[4], live[9], live[49]);
  expect(live[49], 'liveBytes after step 50 equals liveBytes after step 5').toBe(live[4]);
  // Pipelines are built once and reused: no new pipeline after the first step.
  expect(cache.pipelines).toBe(pipelinesAfterStep1);
  expect(cache.misses).toBe(cache.pipelines);
  expect(cache.hits).toBeGreaterThan(cache.misses * 10);
});

it('forward + backward of every core op family returns all memory to the pool', async () => {
  const x = randn([3, 4], { seed: 10 });
  const w = randn([4, 5], { seed: 11 });
  const c = tensor([1, 0, 1, 1], [4]);
  const fns: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ['binary', (a) => ops.add(ops.mul(a, a), ops.div(ops.maximum(a, ops.neg(a)), ops.add(ops.abs(a), 1)))],
    ['comparison mask', (a) => ops.mul(a, ops.minimum(ops.gt(a, c), ops.le(a, c)))],
    ['unary', (a) => ops.add(ops.tanh(ops.sigmoid(ops.exp(a))), ops.pow(ops.sqrt(ops.add(ops.square(a), 1)), 3))],
    ['where', (a) => ops.where(c, a, ops.relu(a))],
    ['reduce', (a) => ops.add(ops.max(a, { axes: 0 }), ops.min(ops.mean(a, { axes: [0], keepdims: true }), { axes: 0 }))],
    ['variance', (a) => ops.variance(a, { axes: -1 })],
    ['layout', (a) => {
      const p = ops.pad(ops.slice(a, [1, 0], [2, 4]), [[1, 0], [0, 0]]);
      const q = ops.reshape(ops.permute(ops.broadcastTo(ops.reshape(a, [3, 1, 4]), [3, 2, 4]), [1, 0, 2]), [6, 4]);
      return ops.concat([p, q, a], 0);
    }],
    ['matmul+softmax', (a, b) => ops.logSoftmax(ops.softmax(ops.matmul(a, b), 0), -1)],
    ['layerNorm', (a, b) => ops.layerNorm(a, ops.sum(b, { axes: 1 }), ops.mean(b, { axes: 1 }))],
    ['layerNorm, no dbias', (a, b) => ops.layerNorm(a, ops.sum(b, { axes: 1 }), c)],
    ['attention', (a, b) => ops.attention(ops.reshape(a, [1, 1, 3, 4]), ops.reshape(a, [1, 1, 3, 4]), ops.reshape(ops.matmul(a, b), [1, 1, 3, 5]))],
    ['patchify+dropPath', (a) => ops.dropPath(ops.patchify(ops.reshape(a, [1, 2, 2, 3]), 2), { rate: 0.5, seed: 1 })],
  ];
  const step = async (f: (a: Tensor, b: Tensor) => Tensor) => {
    const [loss, grads] = await valueAndGrad((a: Tensor, b: Tensor) => ops.sum(ops.mul(f(a, b), 0.5)))(x, w);
    for (const t of [loss, ...grads]) t.dispose();
  };
  for (const [name, f] of fns) {
    await step(f); // warm-up: pipelines, pool size classes
    await gpu().sync();
    const before = gpu().poolStats().liveBytes;
    await step(f);
    await gpu().sync();
    expect(gpu().poolStats().liveBytes, name).toBe(before);
    // Forward alone (no tape), every result disposed by tidy.
    tidy(() => {
      f(x, w);
    });
    await gpu().sync();
    expect(gpu().poolStats().liveBytes, `${name} (forward in tidy)`).toBe(before);
  }
});

it('an optimizer and the parameters it adopted return their memory whichever is disposed first', async () => {
  await gpu().sync();
  const base = gpu().poolStats().liveBuffers;
  for (const optimizerFirst of [true, false]) {
    const params = [randn([4, 8], { seed: 1 }), randn([8], { seed: 2 })];
    const opt = optim.sgdAgc(params, { lr: 0.1 });
    const grads = params.map((p) => onesLike(p));
    opt.step(grads);
    for (const g of grads) g.dispose();
    if (optimizerFirst) {
      opt.dispose();
      expect((await params[0]!.data()).length, 'a slice outlives its optimizer').toBe(32);
      for (const p of params) p.dispose();
    } else {
      for (const p of params) p.dispose();
      opt.dispose();
    }
    await gpu().sync();
    expect(gpu().poolStats().liveBuffers, optimizerFirst ? 'optimizer first' : 'parameters first').toBe(base);
  }
});

it('an op run outside a gradient frees what it saved for the backward (weightStandardize statistics)', async () => {
  const w = randn([3, 3, 4, 8], { seed: 3 });
  const gain = randn([8], { seed: 4 });
  await gpu().sync();
  const base = gpu().poolStats().liveBuffers;
  const out = ops.weightStandardize(w, gain);
  await gpu().sync();
  expect(gpu().poolStats().liveBuffers, 'only the output stays').toBe(base + 1);
  for (const t of [out, w, gain]) t.dispose();
});

// The bench's `ours` runners are user code too: a composed forward left outside tidy()
// leaks its intermediates to the garbage collector, and every later repetition then pays
// fresh createBuffer calls (the small net's inference ran at 62 ms instead of 36 that way).
it("the bench's composed runners (small net, kernel-lab baselines) return every buffer to the pool", async () => {
  await import('../bench/cases/small-net.js');
  await import('../bench/cases/lab.js');
  const { registeredCases } = await import('../bench/registry.js');
  const names = /^small\/net\/(b1x28\/infer|b32x28\/sgd-step)$|^lab\/residual\/8x24x24x512\/baseline$/;
  const picked = registeredCases().filter((c) => names.test(c.name));
  expect(picked.map((c) => c.name).sort()).toEqual(['lab/residual/8x24x24x512/baseline', 'small/net/b1x28/infer', 'small/net/b32x28/sgd-step']);
  for (const c of picked) {
    await gpu().sync();
    const before = gpu().poolStats().liveBuffers;
    const runner = await c.ours({ gpu: gpu(), tfjs: null, full: false });
    for (let r = 0; r < 3; r++) {
      await runner.run();
      await runner.sync();
    }
    await runner.dispose();
    await gpu().sync();
    expect(gpu().poolStats().liveBuffers, c.name).toBe(before);
  }
});
