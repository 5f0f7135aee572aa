// Robustness of the runtime around bad input: device limits checked before allocation,
// error paths that free what they allocated, tensors that remember their device, option
// objects checked with a did-you-mean, and the leak of sumTo.
import { describe, expect, it } from 'vitest';
import {
  DisposedError, LimitError, NfnetError, ShapeError, ValueError, defineOp, empty, init, noGrad, ops, randn, tensor, tidy,
  valueAndGrad, zeros, type Gpu, type Tensor,
} from '../src/index.js';
import { backend } from '../src/runtime/init.js';

let gpu: Gpu;

/** `fn` throws `cls` matching every pattern, with no dispatch and the pool's live bytes unchanged. */
function expectRefused(fn: () => unknown, cls: new (...a: never[]) => Error, ...patterns: RegExp[]): void {
  const dispatches = gpu.counters().dispatches;
  const live = gpu.poolStats();
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(cls);
  expect(caught).toBeInstanceOf(NfnetError);
  for (const p of patterns) expect((caught as Error).message).toMatch(p);
  expect(gpu.counters().dispatches, 'no GPU work').toBe(dispatches);
  const after = gpu.poolStats();
  expect([after.liveBytes, after.liveBuffers], 'nothing left allocated').toEqual([live.liveBytes, live.liveBuffers]);
}

describe('robustness', () => {
  it('starts a device', async () => {
    gpu = await init({ verbose: false });
    expect(gpu.limits.maxBufferSize).toBeGreaterThan(0);
  });

  it('tensors over the device limits are refused before allocation, and the pool never counts them', async () => {
    const limit = Math.min(gpu.limits.maxBufferSize!, gpu.limits.maxStorageBufferBindingSize!);
    const tooMany = Math.floor(limit / 4) + 1;
    expectRefused(() => zeros([tooMany]), LimitError, new RegExp(`\\[${tooMany}\\]`), /bytes/, /maxBufferSize|maxStorageBufferBindingSize/);
    expectRefused(() => zeros([2 ** 26, 2 ** 26, 4]), LimitError, /\[67108864, 67108864, 4\]/);
    expectRefused(() => empty([tooMany]), LimitError);
    expectRefused(() => randn([tooMany], { seed: 1 }), LimitError);
    expectRefused(() => tensor(new Float32Array(4), [2 ** 30, 2 ** 30, 0, 2 ** 30]), ShapeError, /needs 0 values|non-negative/); // size 0 ≠ 4
    // An op whose output would be over the limit is refused the same way, inputs untouched.
    const x = zeros([1, 1]);
    expectRefused(() => ops.broadcastTo(x, [tooMany, 1]), LimitError, /broadcastTo|empty/);
    x.dispose();
    await gpu.sync();
    // The pool itself refuses a buffer over maxBufferSize before creating or counting it.
    const before = gpu.poolStats();
    expect(() => backend().pool.acquire(gpu.limits.maxBufferSize! + 4)).toThrow(LimitError);
    const after = gpu.poolStats();
    expect([after.liveBytes, after.liveBuffers, after.creations]).toEqual([before.liveBytes, before.liveBuffers, before.creations]);
  });

  it('an op whose forward throws after allocating gives its allocations back', async () => {
    const failing = defineOp<Record<string, never>>({
      name: 'allocThenFail',
      forward: ([t]) => {
        empty([64]);
        empty(t!.shape);
        throw new ValueError('allocThenFail: refused after allocating');
      },
      backward: () => [null],
    });
    const x = zeros([4, 4]);
    await gpu.sync();
    const before = gpu.poolStats().liveBytes;
    expect(() => failing([x], {})).toThrow(/refused after allocating/);
    expect(gpu.poolStats().liveBytes).toBe(before);
    // Under a gradient too.
    await expect(valueAndGrad((t: Tensor) => failing([t], {}))(x)).rejects.toThrow(ValueError);
    await gpu.sync();
    expect(gpu.poolStats().liveBytes).toBe(before);
    x.dispose();
  });

  it('sumTo frees its intermediate: 200 calls leave live bytes flat', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const first = ops.sumTo(x, [3]);
    expect(Array.from(await first.data())).toEqual([5, 7, 9]);
    first.dispose();
    await gpu.sync();
    const before = gpu.poolStats().liveBytes;
    for (let i = 0; i < 200; i++) ops.sumTo(x, [3]).dispose();
    await gpu.sync();
    expect(gpu.poolStats().liveBytes).toBe(before);
    // And as a gradient (broadcast add's backward), inside valueAndGrad.
    const b = tensor([1, 1, 1], [3]);
    const [loss, [gb]] = await valueAndGrad((v: Tensor) => ops.sum(ops.add(x, v)))(b);
    expect(Array.from(await gb.data())).toEqual([2, 2, 2]);
    loss.dispose();
    gb.dispose();
    await gpu.sync();
    expect(gpu.poolStats().liveBytes).toBe(before + 256); // b alone
    b.dispose();
    x.dispose();
    const z = zeros([2, 3]);
    expectRefused(() => ops.sumTo(z, [4]), ShapeError, /sumTo: shapes \[4\] and \[2, 3\] do not broadcast/);
    z.dispose();
  });

  it('options: unknown names get a did-you-mean; null and wrong types are refused by name', () => {
    const x = zeros([2, 3]);
    expectRefused(() => ops.sum(x, { axis: 1 } as never), ValueError, /sum: unknown option 'axis' \(did you mean 'axes'\?\)/);
    expectRefused(() => ops.sum(x, null as never), ValueError, /sum: options must be an object/, /got null/);
    expectRefused(() => ops.mean(x, { keepdims: 'yes' } as never), ValueError, /keepdims must be true or false, got "yes"/);
    const w = zeros([3, 2]);
    expectRefused(() => ops.matmul(x, w, { transposeB: 1 } as never), ValueError, /transposeB/);
    expectRefused(() => ops.activation(x, { kind: 'rellu' } as never), ValueError, /kind must be one of/, /did you mean 'relu'/);
    expectRefused(() => ops.dropout(x, { rate: 0.5, seed: 1, trainng: false } as never), ValueError, /did you mean 'training'/);
    expectRefused(() => randn([2], { sed: 1 } as never), ValueError, /did you mean 'seed'/);
    const img = zeros([1, 3, 3, 1]);
    expectRefused(() => ops.avgPool(img, { size: 4, padding: 'VALID' }), ShapeError, /4×4 window does not fit the 3×3 input/);
    expectRefused(() => ops.maxPool(img, { size: [5, 1], stride: 1, padding: 'VALID' }), ShapeError, /maxPool: a 5×1 window/);
    expectRefused(() => ops.maxPool(img, { size: null } as never), ValueError, /size must be a positive integer/);
  });

  it('non-tensors, wrong dtypes and bad creation arguments are typed errors naming the argument', () => {
    const x = zeros([2, 3]);
    expectRefused(() => ops.exp('x' as never), ValueError, /exp: input 0 must be a Tensor, got "x"/);
    expectRefused(() => ops.matmul(x, null as never), ValueError, /matmul: b must be a Tensor, got null/);
    expectRefused(() => ops.add(x, {} as never), ValueError, /add: b must be a Tensor/);
    expectRefused(() => ops.concat([x, 5 as never]), ValueError, /concat: xs\[1\] must be a Tensor/);
    expectRefused(() => empty([2, 2], 'f64' as never), Error, /dtype must be 'f32', 'i32' or 'u32', got "f64"/);
    expectRefused(() => tensor('abc' as never), ValueError, /data must be a typed array or an array of numbers/);
    expectRefused(() => noGrad('f' as never), ValueError, /noGrad: fn must be a function/);
  });

  it('scalar, tidy and valueAndGrad refuse wrong argument kinds before any work', async () => {
    const { scalar } = await import('../src/index.js');
    expectRefused(() => scalar('a' as never), ValueError, /scalar: value must be a number, got "a"/);
    expectRefused(() => tidy('f' as never), ValueError, /tidy: fn must be a function, got "f"/);
    expectRefused(() => valueAndGrad((async (t: Tensor) => ops.sum(t)) as never), ValueError, /must be a synchronous function/);
    const x = zeros([2]);
    const before = gpu.counters().dispatches;
    await expect(valueAndGrad(((t: Tensor) => Promise.resolve(ops.sum(t))) as never)(x)).rejects.toThrow(/returned a Promise/);
    await expect(valueAndGrad((() => 'loss') as never)(x)).rejects.toThrow(ValueError);
    await expect(valueAndGrad((t: Tensor) => ops.sum(t))('x' as never)).rejects.toThrow(/argument 0 must be a Tensor/);
    expect(gpu.counters().dispatches - before).toBe(1); // the one sum the Promise-returning f ran itself
    x.dispose();
  });

  it('conv2d: options, zero-size filters and group counts over the dispatch limit are refused before GPU work', async () => {
    const x = zeros([1, 6, 6, 4]);
    const w = zeros([3, 3, 4, 8]);
    for (const bad of [null, 5, 'x', [], true]) expectRefused(() => ops.conv2d(x, w, bad as never), ValueError, /conv2d: options must be an object \{stride, padding, groups, dilation, tuning\}/);
    expectRefused(() => ops.conv2d(x, w, { strides: 2 } as never), ValueError, /unknown option 'strides' \(did you mean 'stride'\?\)/);
    expectRefused(() => ops.conv2d(x, w, { stride: null } as never), ValueError, /stride must be a positive integer or a pair/, /got null/);
    expectRefused(() => ops.conv2d(x, w, { dilation: [1, 2, 3] } as never), ValueError, /dilation/);
    expectRefused(() => ops.conv2d(x, w, { padding: 'same' } as never), ValueError, /padding must be 'SAME', 'VALID'/, /got "same"/);
    expectRefused(() => ops.conv2d(x, w, { groups: 'a' } as never), ValueError, /groups must be a positive integer, got "a"/);
    expectRefused(() => ops.conv2d(x, w, { tuning: { wgs: 64 } } as never), ValueError, /unknown option 'wgs' \(did you mean 'wg'\?\)/);
    expectRefused(() => ops.conv2d(x, w, { tuning: null } as never), ValueError, /tuning must be an object/);
    expectRefused(() => ops.conv2d(x, 'w' as never), ValueError, /conv2d: w must be a Tensor, got "w"/);
    const empty0 = zeros([0, 3, 4, 8]);
    expectRefused(() => ops.conv2d(x, empty0), ShapeError, /w \[0, 3, 4, 8\] has a 0×3 window; a filter needs at least one tap/);
    // Depthwise over more channels than workgroups per dimension: the group axis of the
    // kernels' grid is not folded, so the call is refused whole, forward and backward alike.
    const max = backend().maxWorkgroupsPerDim;
    const c = max + 5;
    const xd = zeros([1, 1, 1, c]);
    const wd = zeros([1, 1, 1, c]);
    expectRefused(() => ops.conv2d(xd, wd, { groups: c }), LimitError, new RegExp(`groups = ${c} exceeds the device's ${max} workgroups per dimension`));
    const gain = zeros([c]);
    expectRefused(() => ops.wsConv2d(xd, wd, gain, { groups: c }), LimitError, /wsConv2d: groups = /);
    // Under a gradient the weight gradient's grid is checked too: tuning.wg = 1 on a filter
    // with more than 4·max output tiles is refused up front instead of in the backward.
    const big = zeros([1, 1, 32, 8 * (max + 1)]);
    const x32 = zeros([1, 1, 1, 32]);
    const before = gpu.counters().dispatches;
    await expect(valueAndGrad((t: Tensor) => ops.sum(ops.conv2d(x32, t, { tuning: { wg: 1 } })))(big)).rejects.toThrow(/weight gradient .* needs \d+ workgroups of 1/);
    expect(gpu.counters().dispatches, 'no GPU work').toBe(before);
    // The same filter without a gradient is a valid forward.
    const y = ops.conv2d(x32, big, { tuning: { wg: 1 } });
    expect(y.shape).toEqual([1, 1, 1, 8 * (max + 1)]);
    for (const t of [x, w, empty0, xd, wd, gain, big, x32, y]) t.dispose();
  });

  it('a tensor from a disposed device throws DisposedError on use and dispose, and never touches the new pool', async () => {
    const old = tensor([1, 2, 3, 4], [4]);
    const oldView = ops.reshape(old, [2, 2]);
    await gpu.dispose();
    gpu = await init({ verbose: false });
    const fresh = zeros([4]);
    await gpu.sync();
    const stats = gpu.poolStats();
    expectRefused(() => ops.add(old, fresh), DisposedError, /belongs to a GPU device that was disposed/);
    expectRefused(() => ops.exp(oldView), DisposedError);
    await expect(old.data()).rejects.toThrow(DisposedError);
    expect(() => old.dispose()).toThrow(DisposedError);
    old.dispose(); // the second time is quiet, like any disposed tensor
    expect(() => oldView.dispose()).toThrow(DisposedError);
    const after = gpu.poolStats();
    expect([after.liveBytes, after.liveBuffers, after.pooledBytes]).toEqual([stats.liveBytes, stats.liveBuffers, stats.pooledBytes]);
    // The new device's next same-size allocation works and computes.
    const y = ops.add(fresh, tensor([1, 2, 3, 4], [4]));
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
    for (const t of [y, fresh]) t.dispose();
    expect(gpu.poolStats().liveBytes).toBeGreaterThanOrEqual(0);
    await gpu.dispose();
  });
});
