// Sharpness-aware minimization (SAM): the optimizer's ascent and restore against a float64
// reference step on a softmax classifier, its guard and errors, and the Trainer's two-pass
// step on a tiny NFNet (two passes, exact restore, learning, AGC + EMA composition, the
// guard) and on a model with a running tensor (running statistics follow the first pass).
import { describe, expect, it } from 'vitest';
import { assign, data, empty, keep, nfnet, noGrad, ops, optim, tensor, valueAndGrad, ModelState, ShapeError, StateLayout, ValueError, type Tensor } from '../src/index.js';
import { seedFor } from '../src/nfnet/initializers.js';
import { Model, type Architecture, type ForwardOptions, type ModelConfig } from '../src/models/model.js';
import * as N from './ref-nn.js';
import { expectClose, rand } from './harness.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

const f32 = (a: ArrayLike<number>, shape: number[]) => tensor(Float32Array.from(a), shape);

/** `fn` throws ValueError matching `re` and records no dispatch. */
function refused(fn: () => unknown, re: RegExp, cls: new (...a: never[]) => Error = ValueError): void {
  const before = gpu().counters().dispatches;
  expect(fn).toThrow(cls);
  expect(fn).toThrow(re);
  expect(gpu().counters().dispatches).toBe(before);
}

// ------------------------------------------------------------ a softmax classifier
// logits = x·W + b, label-smoothed cross-entropy: small enough for a float64 reference.
const BATCH = 6;
const IN = 5;
const CLASSES = 3;
const SMOOTHING = 0.1;
const X = rand(BATCH * IN, 11);
const LABELS = [0, 2, 1, 1, 0, 2];

/** Loss and gradient of the classifier at (W, b), in float64. */
function refLossGrad(w: Float64Array, b: Float64Array): { loss: number; gw: Float64Array; gb: Float64Array } {
  const gw = new Float64Array(IN * CLASSES);
  const gb = new Float64Array(CLASSES);
  let loss = 0;
  for (let n = 0; n < BATCH; n++) {
    const z = Array.from({ length: CLASSES }, (_, c) => b[c]! + Array.from({ length: IN }, (_, d) => X[n * IN + d]! * w[d * CLASSES + c]!).reduce((s, v) => s + v, 0));
    const m = Math.max(...z);
    const s = z.reduce((acc, v) => acc + Math.exp(v - m), 0);
    for (let c = 0; c < CLASSES; c++) {
      const target = (c === LABELS[n] ? 1 - SMOOTHING : 0) + SMOOTHING / CLASSES;
      loss += (target * (m + Math.log(s) - z[c]!)) / BATCH;
      const dz = (Math.exp(z[c]! - m) / s - target) / BATCH;
      gb[c] += dz;
      for (let d = 0; d < IN; d++) gw[d * CLASSES + c] += X[n * IN + d]! * dz;
    }
  }
  return { loss, gw, gb };
}

/** e = ρ·g/‖g‖ over both tensors (the global norm). */
function refAscent(gw: Float64Array, gb: Float64Array, rho: number): [Float64Array, Float64Array] {
  const norm = Math.sqrt([...gw, ...gb].reduce((s, v) => s + v * v, 0));
  return [gw.map((v) => (rho * v) / norm), gb.map((v) => (rho * v) / norm)];
}

const W0 = rand(IN * CLASSES, 21);
const B0 = rand(CLASSES, 22, -0.5, 0.5);

/**
 * The classifier as a ModelState. maxSegmentBytes 64 puts W (15 floats) and b in separate
 * regions, so the ascent's norm must add up over regions.
 */
function classifierState(): ModelState {
  const layout = new StateLayout();
  layout.param('fc.weight', 'weight', [IN, CLASSES], () => Float32Array.from(W0));
  layout.param('fc.bias', 'bias', [CLASSES], () => Float32Array.from(B0));
  return ModelState.create(layout, { maxSegmentBytes: 64 });
}

function classifierLoss(): (s: ModelState) => Promise<[Tensor, Tensor[][], Tensor[]]> {
  const x = f32(X, [BATCH, IN]);
  const labels = tensor(Int32Array.from(LABELS), [BATCH]);
  return valueAndGrad((s: ModelState) => ops.softmaxCrossEntropy(ops.linear(x, s.get('fc.weight'), s.get('fc.bias')), labels, { labelSmoothing: SMOOTHING }));
}

const SGD = { lr: 0.4, momentum: 0.9, nesterov: true, weightDecay: 0.05, clipping: 0.1, eps: 1e-3 };

describe('sgdAgc with sam: { rho } (float64 reference)', () => {
  it('two SAM steps: the ascent moves w by ρ·g/‖g‖ over all regions, the update applies g(w + e) to w, with AGC, decay, Nesterov and EMA', async () => {
    const rho = 0.5;
    const state = classifierState();
    expect(state.regions.length).toBe(2);
    const opt = optim.sgdAgc(state, { ...SGD, excludeFromAgc: [], sam: { rho }, guardNonFinite: true });
    const ema = optim.ema(state);
    const lossGrad = classifierLoss();
    const w: N.RefParam = { w: Float64Array.from(W0), shape: [IN, CLASSES], unitAxis: 1, agc: true, decay: true };
    const b: N.RefParam = { w: Float64Array.from(B0), shape: [CLASSES], unitAxis: null, agc: true, decay: false };
    const vw = new Float64Array(IN * CLASSES);
    const vb = new Float64Array(CLASSES);
    const avg = [Float64Array.from(W0), Float64Array.from(B0)];
    let clipped = false;
    let samMatters = 0;
    for (let step = 0; step < 2; step++) {
      const at = refLossGrad(w.w, b.w);
      const [ew, eb] = refAscent(at.gw, at.gb, rho);
      const peak = refLossGrad(w.w.map((v, i) => v + ew[i]!), b.w.map((v, i) => v + eb[i]!));
      // GPU: pass 1, ascent, pass 2, update.
      const [loss, [grads]] = await lossGrad(state);
      expectClose(await loss.data(), [at.loss], 1e-5, `loss at w, step ${step}`);
      const before = gpu().counters().dispatches;
      opt.perturb(grads!, { loss });
      expect(gpu().counters().dispatches - before, 'dispatches of perturb (+1: the loss check)').toBe(opt.dispatchesPerPerturb + 1);
      expect(opt.dispatchesPerPerturb, '2 regions: 2 checks, 2 sums, the norm, 2 ascents').toBe(7);
      expect(opt.isPerturbed).toBe(true);
      const moved = await state.read();
      expectClose(moved.get('fc.weight')!, w.w.map((v, i) => v + ew[i]!), 2e-6, `w + e, step ${step}`);
      expectClose(moved.get('fc.bias')!, b.w.map((v, i) => v + eb[i]!), 2e-6, `b + e, step ${step}`);
      const [lossPeak, [gradsPeak]] = await lossGrad(state);
      expectClose(await lossPeak.data(), [peak.loss], 1e-5, `loss at w + e, step ${step}`);
      opt.step(gradsPeak!, { loss: lossPeak });
      expect(opt.isPerturbed).toBe(false);
      ema.update(state, optim.emaDecay(step), { guard: opt.guard });
      // Reference: AGC → decay → Nesterov at w with the gradient at w + e; then the EMA.
      if (N.agc(w.w, peak.gw, N.unitsOf(w.shape, 1), SGD.clipping, SGD.eps).some((v, i) => v !== peak.gw[i])) clipped = true;
      const plain = Float64Array.from(w.w);
      N.sgdAgcStep({ ...w, w: plain }, Float64Array.from(vw), at.gw, SGD);
      N.sgdAgcStep(w, vw, peak.gw, SGD);
      N.sgdAgcStep(b, vb, peak.gb, SGD);
      samMatters = Math.max(samMatters, ...plain.map((v, i) => Math.abs(v - w.w[i]!)));
      const d = optim.emaDecay(step);
      avg[0] = avg[0]!.map((a, i) => d * a + (1 - d) * w.w[i]!);
      avg[1] = avg[1]!.map((a, i) => d * a + (1 - d) * b.w[i]!);
      const now = await state.read();
      expectClose(now.get('fc.weight')!, w.w, 2e-6, `W after SAM step ${step + 1}`);
      expectClose(now.get('fc.bias')!, b.w, 2e-6, `b after SAM step ${step + 1}`);
      for (const t of [loss, lossPeak, ...grads!, ...gradsPeak!]) t.dispose();
    }
    expect(clipped, 'AGC clips a unit of g(w + e)').toBe(true);
    expect(samMatters, 'the SAM update differs from a plain step by far more than the tolerance').toBeGreaterThan(1e-2);
    const [mw, mb] = await opt.readMomentum();
    expectClose(mw!, vw, 2e-5, 'momentum of W');
    expectClose(mb!, vb, 2e-5, 'momentum of b');
    const averages = await ema.state.read();
    expectClose(averages.get('fc.weight')!, avg[0]!, 2e-6, 'EMA of W');
    expectClose(averages.get('fc.bias')!, avg[1]!, 2e-6, 'EMA of b');
    ema.dispose();
    opt.dispose();
    state.dispose();
  });

  it('a loose list of tensors: the tensors themselves move to w + e and come back before the update', async () => {
    const rho = 0.25;
    const w = f32(W0, [IN, CLASSES]);
    const b = f32(B0, [CLASSES]);
    const opt = optim.sgdAgc([{ name: 'w', tensor: w }, { name: 'b', tensor: b }], { lr: 0, momentum: 0.9, weightDecay: 0, clipping: 0, sam: { rho } });
    const g = refLossGrad(W0, B0);
    const [ew, eb] = refAscent(g.gw, g.gb, rho);
    opt.perturb([f32(g.gw, [IN, CLASSES]), f32(g.gb, [CLASSES])]);
    expectClose(await w.data(), Array.from(W0, (v, i) => v + ew[i]!), 2e-6, 'loose w + e');
    expectClose(await b.data(), Array.from(B0, (v, i) => v + eb[i]!), 2e-6, 'loose b + e');
    opt.step([f32(g.gw, [IN, CLASSES]), f32(g.gb, [CLASSES])]); // lr 0: the step only restores
    expect(Array.from(await w.data())).toEqual(Array.from(Float32Array.from(W0)));
    expect(Array.from(await b.data())).toEqual(Array.from(Float32Array.from(B0)));
    opt.dispose();
  });

  it('restores w to the bit (lr 0, no decay), where w + e − e would not', async () => {
    // Weights of very different magnitudes: next to 1e3, e ≈ 1e-2 loses its low bits.
    const init = Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 1e3 : 1e-3) * (1 + i / 64));
    const w = tensor(init.slice(), [8, 8]);
    const opt = optim.sgdAgc([w], { lr: 0, momentum: 0.9, weightDecay: 0, clipping: 0.01, sam: { rho: 0.1 } });
    const g = Float32Array.from(rand(64, 31));
    opt.perturb([tensor(g, [8, 8])]);
    expect(Array.from(await w.data()).some((v, i) => v !== init[i]), 'the ascent moved w').toBe(true);
    opt.step([tensor(g, [8, 8])]);
    expect(Array.from(await w.data())).toEqual(Array.from(init));
    // The subtraction would be exact here only if float addition undid itself; show it does not always.
    const e = Float32Array.from(g, (v) => v * 0.1 / Math.hypot(...g));
    const added = Float32Array.from(init, (v, i) => v + e[i]!);
    const back = Float32Array.from(added, (v, i) => v - e[i]!);
    expect(back.some((v, i) => v !== init[i]), 'float32 w + e − e differs from w somewhere').toBe(true);
    opt.dispose();
  });

  it('a zero gradient moves nothing (no NaN from 0/0); the step then runs as a plain step', async () => {
    const w = f32([1, -2, 3, -4], [2, 2]);
    const opt = optim.sgdAgc([w], { lr: 0.5, momentum: 0, weightDecay: 0, clipping: 0, sam: { rho: 0.05 }, guardNonFinite: true });
    opt.perturb([f32([0, 0, 0, 0], [2, 2])]);
    expect(Array.from(await w.data())).toEqual([1, -2, 3, -4]);
    opt.step([f32([0.2, 0.2, 0.2, 0.2], [2, 2])]);
    expectClose(await w.data(), [0.9, -2.1, 2.9, -4.1], 1e-7);
    opt.dispose();
  });

  it('guard: a non-finite g moves nothing and skips the step; a non-finite g(w + e) skips it with w restored to the bit', async () => {
    const state = classifierState();
    const opt = optim.sgdAgc(state, { ...SGD, sam: { rho: 0.5 }, guardNonFinite: true });
    const before = await state.read();
    const good = () => [f32(rand(IN * CLASSES, 41), [IN, CLASSES]), f32(rand(CLASSES, 42), [CLASSES])];
    const bad = () => [f32(rand(IN * CLASSES, 41).map((v, i) => (i === 4 ? NaN : v)), [IN, CLASSES]), f32(rand(CLASSES, 42), [CLASSES])];
    const same = async () => {
      const now = await state.read();
      for (const [name, v] of before) expect(Array.from(now.get(name)!), name).toEqual(Array.from(v));
      expect((await opt.readMomentum()).every((m) => m.every((v) => v === 0)), 'momentum untouched').toBe(true);
    };
    opt.perturb(bad());
    await same(); // no ascent
    opt.step(good());
    await same();
    opt.perturb(good(), { loss: f32([Infinity], []) });
    opt.step(good());
    await same();
    opt.perturb(good());
    expect(Array.from((await state.read()).get('fc.bias')!)).not.toEqual(Array.from(before.get('fc.bias')!));
    opt.step(bad());
    await same(); // restored, not left at w + e
    // A clean SAM step afterwards trains again.
    opt.perturb(good());
    opt.step(good());
    expect(Array.from((await state.read()).get('fc.weight')!)).not.toEqual(Array.from(before.get('fc.weight')!));
    opt.dispose();
    state.dispose();
  });

  it('refuses bad sam options and out-of-order calls with a typed error, before any GPU work', () => {
    const w = f32([1, 2, 3, 4], [2, 2]);
    const g = () => [f32([1, 1, 1, 1], [2, 2])];
    refused(() => optim.sgdAgc([w], { lr: 0.1, sam: { rho: 0 } }), /sam\.rho must be a finite number > 0, got 0/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, sam: { rho: -0.05 } }), /sam\.rho must be a finite number > 0/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, sam: { rho: NaN } }), /sam\.rho must be a finite number > 0, got NaN/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, sam: { rho: Infinity } }), /sam\.rho must be a finite number > 0/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, sam: { rh: 0.05 } } as never), /unknown option 'rh' \(did you mean 'rho'\?\)/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, sam: {} } as never), /sam\.rho is required/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, sam: 0.05 } as never), /sam must be an object \{ rho \}, got 0\.05/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, sams: { rho: 0.05 } } as never), /did you mean 'sam'/);
    const plain = optim.sgdAgc([w], { lr: 0.1 });
    refused(() => plain.perturb(g()), /SAM is off/);
    plain.dispose();
    const opt = optim.sgdAgc([w], { lr: 0.1, sam: { rho: 0.05 } });
    refused(() => opt.step(g()), /SAM is on: call perturb\(grads\)/);
    refused(() => opt.perturb([f32([1, 1], [2])]), /sgdAgc\.perturb: param0 has shape \[2, 2\], got \[2\]/, ShapeError);
    refused(() => opt.perturb(g(), { lr: 0.1 } as never), /unknown option 'lr'/);
    opt.perturb(g());
    refused(() => opt.perturb(g()), /already perturbed/);
    opt.step(g());
    expect(opt.steps).toBe(1);
    opt.dispose();
  });
});

// ------------------------------------------------------------ the Trainer on a tiny NFNet

function stripes(n: number): data.ImageSet {
  // Horizontal stripes, vertical stripes, a checkerboard and flat grey (as train.test.ts).
  const images = new Uint8Array(n * 28 * 28);
  const labels = new Int32Array(n);
  const texture = [(y: number) => y % 4 < 2, (_: number, x: number) => x % 4 < 2, (y: number, x: number) => (y + x) % 4 < 2, () => false];
  for (let i = 0; i < n; i++) {
    labels[i] = i % 4;
    const phase = (i >> 2) % 4;
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) images[i * 784 + y * 28 + x] = texture[labels[i]!]!(y + phase, x + phase) ? 230 : labels[i] === 3 ? 120 : 25;
  }
  return { images, labels, count: n, height: 28, width: 28, channels: 1, classes: 4 };
}

const batchOf = (n: number) => [...new data.DataLoader(stripes(n), { batchSize: n }).epoch()][0]!;

/**
 * Record every forward of `model` (its options), and on the second forward of a step a
 * copy of the parameters it runs on.
 */
function spyForward(model: Model) {
  const calls: ForwardOptions[] = [];
  let snapshot: Tensor[] | null = null;
  const original = model.forward.bind(model);
  model.forward = (x, options = {}) => {
    calls.push({ ...options });
    if (calls.length % 2 === 0) {
      snapshot?.forEach((t) => t.dispose());
      snapshot = noGrad(() => model.state.params.map((p) => {
        const t = keep(empty(p.shape)); // outlives the pass's memory scope
        assign(t, p);
        return t;
      }));
    }
    return original(x, options);
  };
  return { calls, snapshot: () => snapshot };
}

const flat = (m: Map<string, Float32Array>) => Float64Array.from([...m.values()].flatMap((v) => Array.from(v)));

/**
 * A model whose forward in training mode adds 1 to a running tensor in place, as batch norm
 * updates its running mean: the count of the training forwards whose update was kept.
 */
class CountingNet implements Architecture {
  readonly config: ModelConfig = { family: 'test', variant: 'counting', numClasses: 2, inChannels: 1, trainResolution: 4, testResolution: 4 };
  readonly layout = new StateLayout();
  private readonly w = this.layout.param('fc.weight', 'weight', [1, 2], () => Float32Array.of(0.5, -0.5));
  private readonly passes = this.layout.running('passes', [1], () => Float32Array.of(0));
  plan() {
    return [];
  }
  run(state: ModelState, x: Tensor, o: Required<ForwardOptions>): Tensor {
    if (o.training) noGrad(() => assign(state.get(this.passes), ops.addScalar(state.get(this.passes), 1)));
    return ops.linear(ops.globalMeanPool(x), state.get(this.w));
  }
}

const COUNTING_BATCH: data.Batch = { images: Float32Array.from({ length: 4 * 16 }, (_, i) => (i % 7) / 7), labels: Int32Array.of(0, 1, 0, 1), shape: [4, 4, 4, 1] };

describe('Trainer with sam: { rho }', () => {
  it('runs two forward-backward passes per step, the second at w + ρ·g/‖g‖ with the same seed; reports the first pass\'s loss', async () => {
    const rho = 0.05;
    const model = nfnet.create('pico', { seed: 3, numClasses: 4 });
    const trainer = new nfnet.Trainer(model, { totalSteps: 4, lr: 0.1, seed: 5, sam: { rho } });
    expect(trainer.options.sam).toEqual({ rho });
    const spy = spyForward(model);
    const batch = batchOf(8);
    const w0 = await model.state.read();
    // The gradient at w0, as the Trainer's first pass computes it.
    const x = tensor(batch.images, batch.shape);
    const labels = tensor(batch.labels, [8]);
    const [refLoss, [g]] = await valueAndGrad((s: ModelState) =>
      ops.softmaxCrossEntropy(model.forward(x, { training: true, seed: seedFor(5, 'step0'), state: s }), labels, { labelSmoothing: nfnet.TRAIN_DEFAULTS.labelSmoothing }),
    )(model.state);
    spy.calls.length = 0;
    const gValues = await Promise.all(g!.map(async (t) => Float64Array.from(await t.data())));
    const counters = gpu().counters();
    const r = await trainer.trainStep(batch);
    expect(gpu().counters().readbacks - counters.readbacks, 'one readback per SAM step').toBe(1);
    expect(spy.calls.length).toBe(2);
    expect(spy.calls.map((c) => [c.training, c.seed])).toEqual([[true, seedFor(5, 'step0')], [true, seedFor(5, 'step0')]]);
    expect(r.loss).toBeCloseTo((await refLoss.data())[0]!, 5);
    expect(r.skipped).toBe(false);
    // The weights of the second pass: w0 + ρ·g/‖g‖.
    const norm = Math.sqrt(gValues.reduce((s, v) => s + v.reduce((a, b) => a + b * b, 0), 0));
    const at = await Promise.all(spy.snapshot()!.map((t) => t.data()));
    const start = [...w0.values()];
    at.forEach((v, i) => expectClose(v, Float64Array.from(start[i]!, (w, k) => w + (rho * gValues[i]![k]!) / norm), 1e-5, model.state.paramNames[i]));
    // A plain trainer runs one pass.
    const plain = new nfnet.Trainer(model, { totalSteps: 4, lr: 0.1, seed: 5 });
    spy.calls.length = 0;
    await plain.trainStep(batch);
    expect(spy.calls.length).toBe(1);
    for (const t of [x, labels, refLoss, ...g!, ...spy.snapshot()!]) t.dispose();
    plain.dispose();
    trainer.dispose();
    model.dispose();
  }, 300_000); // the file's first NFNet builds every pipeline: 35–120 s on a loaded 2-core machine

  it('puts w back exactly before the update: a step at learning rate 0 without weight decay leaves every weight bit-identical', async () => {
    const model = nfnet.create('pico', { seed: 4, numClasses: 4 });
    // totalSteps 1: the cosine schedule gives lr 0 from the second step on.
    const trainer = new nfnet.Trainer(model, { totalSteps: 1, lr: 0.2, weightDecay: 0, seed: 6, sam: { rho: 0.1 } });
    const spy = spyForward(model);
    const batch = batchOf(8);
    expect((await trainer.trainStep(batch)).lr).toBe(0.2);
    const before = await model.state.read();
    const r = await trainer.trainStep(batch);
    expect(r.lr).toBe(0);
    expect(r.skipped).toBe(false);
    const after = await model.state.read();
    for (const [name, v] of before) expect(Array.from(after.get(name)!), name).toEqual(Array.from(v));
    // …though the second pass did run at other weights.
    const moved = await Promise.all(spy.snapshot()!.map(async (t) => Float64Array.from(await t.data())));
    const diff = Math.sqrt(moved.reduce((s, v, i) => s + v.reduce((a, x, k) => a + (x - before.get(model.state.paramNames[i]!)![k]!) ** 2, 0), 0));
    expect(diff).toBeCloseTo(0.1, 3);
    spy.snapshot()!.forEach((t) => t.dispose());
    trainer.dispose();
    model.dispose();
  });

  it('lowers the loss on a tiny fixed batch over a few steps', async () => {
    const model = nfnet.create('pico', { seed: 2, numClasses: 4 });
    const trainer = new nfnet.Trainer(model, { totalSteps: 8, lr: 0.2, seed: 1, sam: { rho: 0.05 } });
    const batch = batchOf(8);
    const losses: number[] = [];
    for (let s = 0; s < 8; s++) losses.push((await trainer.trainStep(batch)).loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(0.7 * losses[0]!);
    trainer.dispose();
    model.dispose();
  });

  it('composes with AGC and the EMA exactly as perturb → step → ema.update on the optimizer API, and the EMA averages the restored-and-updated weights', async () => {
    const batch = batchOf(8);
    const opts = { totalSteps: 3, lr: 0.3, clipping: 0.01, seed: 7, sam: { rho: 0.1 } };
    const a = nfnet.create('pico', { seed: 9, numClasses: 4 });
    const trainer = new nfnet.Trainer(a, opts);
    const w0 = flat(await a.state.read());
    await trainer.trainStep(batch);
    await trainer.trainStep(batch);
    // By hand on a twin model: the same passes, optimizer and EMA.
    const b = nfnet.create('pico', { seed: 9, numClasses: 4 });
    const opt = optim.sgdAgc(b.state, { lr: 0, momentum: 0.9, weightDecay: nfnet.TRAIN_DEFAULTS.weightDecay, clipping: 0.01, excludeFromAgc: ['head.fc.weight', /skipGain$/], guardNonFinite: true, sam: { rho: 0.1 } });
    expect(opt.clippedNames.length).toBeGreaterThan(0);
    const ema = optim.ema(b.state);
    const x = tensor(batch.images, batch.shape);
    const labels = tensor(batch.labels, [8]);
    let w1: Float64Array | null = null;
    for (let step = 0; step < 2; step++) {
      const f = valueAndGrad((s: ModelState) =>
        ops.softmaxCrossEntropy(b.forward(x, { training: true, seed: seedFor(7, `step${step}`), state: s }), labels, { labelSmoothing: nfnet.TRAIN_DEFAULTS.labelSmoothing }),
      );
      const [l1, [g1]] = await f(b.state);
      opt.perturb(g1!, { loss: l1 });
      const [l2, [g2]] = await f(b.state);
      opt.step(g2!, { loss: l2, lr: nfnet.learningRate(step, 0.3, 0, 3) });
      ema.update(b.state, optim.emaDecay(step), { guard: opt.guard });
      if (step === 0) w1 = flat(await b.state.read());
      for (const t of [l1, l2, ...g1!, ...g2!]) t.dispose();
    }
    expect(Array.from(flat(await a.state.read()))).toEqual(Array.from(flat(await b.state.read())));
    const emaA = flat(await trainer.ema!.state.read());
    expect(Array.from(emaA)).toEqual(Array.from(flat(await ema.state.read())));
    const momentumA = await trainer.optimizer.readMomentum();
    (await opt.readMomentum()).forEach((m, i) => expect(Array.from(momentumA[i]!)).toEqual(Array.from(m)));
    // EMA after two steps from w0: decay 0.1 then 2/11.
    const w2 = flat(await a.state.read());
    const d0 = optim.emaDecay(0);
    const d1 = optim.emaDecay(1);
    expectClose(emaA, w0.map((v, i) => d1 * (d0 * v + (1 - d0) * w1![i]!) + (1 - d1) * w2[i]!), 1e-6, 'EMA');
    for (const t of [x, labels]) t.dispose();
    ema.dispose();
    opt.dispose();
    trainer.dispose();
    a.dispose();
    b.dispose();
  });

  it('a non-finite batch is skipped with weights, momentum and EMA untouched (w restored, not left at w + e)', async () => {
    const model = nfnet.create('pico', { seed: 1, numClasses: 4 });
    const trainer = new nfnet.Trainer(model, { totalSteps: 5, lr: 0.1, seed: 2, sam: { rho: 0.05 } });
    const batch = batchOf(8);
    await trainer.trainStep(batch);
    const before = { w: flat(await model.state.read()), e: flat(await trainer.ema!.state.read()), m: (await trainer.optimizer.readMomentum()).map((m) => Array.from(m)) };
    const images = batch.images.slice();
    images[100] = NaN;
    const r = await trainer.trainStep({ ...batch, images });
    expect(r.skipped).toBe(true);
    expect(trainer.skippedSteps).toBe(1);
    expect(Array.from(flat(await model.state.read()))).toEqual(Array.from(before.w));
    expect(Array.from(flat(await trainer.ema!.state.read()))).toEqual(Array.from(before.e));
    expect((await trainer.optimizer.readMomentum()).map((m) => Array.from(m))).toEqual(before.m);
    expect((await trainer.trainStep(batch)).skipped).toBe(false);
    trainer.dispose();
    model.dispose();
  });

  it('running statistics (as batch norm keeps) follow the first pass only: the second pass\'s update is undone', async () => {
    const batch = COUNTING_BATCH;
    const counts = async (sam: boolean) => {
      const model = new Model(new CountingNet());
      const forwards = spyForward(model).calls;
      const trainer = new nfnet.Trainer(model, { totalSteps: 3, lr: 0.1, seed: 1, ...(sam ? { sam: { rho: 0.05 } } : {}) });
      for (let s = 0; s < 3; s++) expect((await trainer.trainStep(batch)).skipped).toBe(false);
      const kept = (await model.state.read()).get('passes')![0];
      trainer.dispose();
      model.dispose();
      return { forwards: forwards.length, kept };
    };
    expect(await counts(false)).toEqual({ forwards: 3, kept: 3 });
    expect(await counts(true)).toEqual({ forwards: 6, kept: 3 });
  });

  it('with ops.batchNorm: after a SAM step the running statistics are those of one training forward at w (bit for bit)', async () => {
    // conv-free BN net: batch norm over 2 channels (training: batch statistics, running update in place), pool, linear.
    class BnNet implements Architecture {
      readonly config: ModelConfig = { family: 'test', variant: 'bn', numClasses: 2, inChannels: 2, trainResolution: 4, testResolution: 4 };
      readonly layout = new StateLayout();
      private readonly gamma = this.layout.param('bn.weight', 'gain', [2], () => Float32Array.of(1.2, 0.8));
      private readonly beta = this.layout.param('bn.bias', 'bias', [2], () => Float32Array.of(0.1, -0.1));
      private readonly mean = this.layout.running('bn.running_mean', [2], () => Float32Array.of(0, 0));
      private readonly variance = this.layout.running('bn.running_var', [2], () => Float32Array.of(1, 1));
      private readonly w = this.layout.param('fc.weight', 'weight', [2, 2], () => Float32Array.of(0.5, -0.5, 0.25, 0.75));
      plan() {
        return [];
      }
      run(state: ModelState, x: Tensor, o: Required<ForwardOptions>): Tensor {
        const h = ops.batchNorm(x, state.get(this.gamma), state.get(this.beta), state.get(this.mean), state.get(this.variance), { training: o.training, activation: 'relu' });
        return ops.linear(ops.globalMeanPool(h), state.get(this.w));
      }
    }
    const batch: data.Batch = { images: Float32Array.from({ length: 4 * 16 * 2 }, (_, i) => Math.sin(i * 0.7) * (1 + (i % 3))), labels: Int32Array.of(0, 1, 1, 0), shape: [4, 4, 4, 2] };
    const running = async (m: Model) => {
      const r = await m.state.read();
      return [...r.get('bn.running_mean')!, ...r.get('bn.running_var')!];
    };
    // Reference: one training forward at the initial weights.
    const ref = new Model(new BnNet());
    noGrad(() => ref.forward(tensor(batch.images, batch.shape), { training: true }).dispose());
    const once = await running(ref);
    expect(once).not.toEqual([0, 0, 1, 1]);
    const model = new Model(new BnNet());
    const trainer = new nfnet.Trainer(model, { totalSteps: 2, lr: 0.1, seed: 1, sam: { rho: 0.5 } });
    expect((await trainer.trainStep(batch)).skipped).toBe(false);
    expect(await running(model)).toEqual(once);
    // The weights moved, so the second pass really ran elsewhere and was not kept.
    expect(Array.from((await model.state.read()).get('fc.weight')!)).not.toEqual([0.5, -0.5, 0.25, 0.75].map(Math.fround));
    trainer.dispose();
    model.dispose();
    ref.dispose();
  });

  it('a failed second pass leaves w, running statistics and the step count as before the step, and the next step runs', async () => {
    const model = new Model(new CountingNet());
    const trainer = new nfnet.Trainer(model, { totalSteps: 3, lr: 0.1, seed: 1, sam: { rho: 0.05 } });
    const before = await model.state.read();
    const original = model.forward.bind(model);
    let calls = 0;
    model.forward = (x, options) => {
      if (++calls === 2) throw new ValueError('injected failure of the second pass');
      return original(x, options);
    };
    await expect(trainer.trainStep(COUNTING_BATCH)).rejects.toThrow(/injected failure/);
    expect(trainer.optimizer.isPerturbed).toBe(false);
    expect(trainer.step).toBe(0);
    const after = await model.state.read();
    expect(Array.from(after.get('fc.weight')!)).toEqual(Array.from(before.get('fc.weight')!));
    expect(Array.from(after.get('passes')!)).toEqual([1]); // the first pass's update stands, as in any step
    expect((await trainer.trainStep(COUNTING_BATCH)).skipped).toBe(false);
    expect(Array.from((await model.state.read()).get('passes')!)).toEqual([2]);
    trainer.dispose();
    model.dispose();
  });

  it('checks sam in TrainOptions (typed errors, did-you-mean) and records it in the resolved options and checkpoints', async () => {
    const model = nfnet.create('pico', { numClasses: 4 });
    const t = (o: unknown) => () => new nfnet.Trainer(model, o as nfnet.TrainOptions);
    refused(t({ totalSteps: 5, sam: { rho: 0 } }), /Trainer: sam\.rho must be a finite number > 0, got 0/);
    refused(t({ totalSteps: 5, sam: { rho: -1 } }), /sam\.rho must be a finite number > 0, got -1/);
    refused(t({ totalSteps: 5, sam: { rho: NaN } }), /sam\.rho must be a finite number > 0, got NaN/);
    refused(t({ totalSteps: 5, sam: { rho: '0.05' } }), /sam\.rho must be a finite number > 0, got "0\.05"/);
    refused(t({ totalSteps: 5, sam: { rh: 0.05 } }), /Trainer: sam: unknown option 'rh' \(did you mean 'rho'\?\)/);
    refused(t({ totalSteps: 5, sam: true }), /sam must be an object \{ rho \}, got true/);
    refused(t({ totalSteps: 5, sams: { rho: 0.05 } }), /unknown option 'sams' \(did you mean 'sam'\?\)/);
    expect(nfnet.TRAIN_DEFAULTS.sam).toBeNull();
    expect(nfnet.resolveTrainOptions({ totalSteps: 5 }).sam).toBeNull();
    expect(nfnet.resolveTrainOptions({ totalSteps: 5, sam: undefined }).sam).toBeNull();
    expect(nfnet.resolveTrainOptions({ totalSteps: 5, sam: null }).sam).toBeNull();
    const trainer = new nfnet.Trainer(model, { totalSteps: 5, sam: { rho: 0.05 } });
    expect(nfnet.resolveTrainOptions(JSON.parse(JSON.stringify(trainer.options)))).toEqual(trainer.options);
    const ck = nfnet.decodeCheckpoint(await nfnet.encodeCheckpoint(model, trainer));
    expect(ck.trainOptions?.sam).toEqual({ rho: 0.05 });
    trainer.dispose();
    model.dispose();
  });
});
