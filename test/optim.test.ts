import { describe, expect, it } from 'vitest';
import { assign, ops, optim, tensor, ModelState, StateLayout, ShapeError, ValueError, type Tensor } from '../src/index.js';
import { backend } from '../src/runtime/init.js';
import * as N from './ref-nn.js';
import { size } from './ref.js';
import { expectClose, rand } from './harness.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

const f32 = (a: ArrayLike<number>, shape: number[]) => tensor(Float32Array.from(a), shape);

describe('AGC (hand-computed)', () => {
  it('linear (in, out) weight: the unit with a large gradient is clipped, the other is not', async () => {
    // Columns are the units. Unit 0: W = (3, 4), ‖W‖ = 5, bound 0.1·5 = 0.5, G = (0.03, 0.04),
    // ‖G‖ = 0.05 → unchanged. Unit 1: W = (0, 1), bound 0.1, G = (0.6, 0.8), ‖G‖ = 1 →
    // scaled by 0.1 to (0.06, 0.08). lr 1, no momentum or decay: W' = W − G'.
    const w = f32([3, 0, 4, 1], [2, 2]);
    const opt = optim.sgdAgc([{ name: 'fc/w', tensor: w, kind: 'weight' }], { lr: 1, momentum: 0, weightDecay: 0, clipping: 0.1 });
    opt.step([f32([0.03, 0.6, 0.04, 0.8], [2, 2])]);
    expectClose(await w.data(), [3 - 0.03, 0 - 0.06, 4 - 0.04, 1 - 0.08], 1e-6);
    opt.dispose();
  });

  it('four neighbouring units walked as one vec4: each keeps its own clip factor', async () => {
    // W = 1 everywhere: every unit's bound is 0.1·1. G per unit (0.05, 1, 0.05, 2): units 0
    // and 2 pass, unit 1 is scaled by 0.1 and unit 3 by 0.05, so each moves by 0.05 or 0.1.
    const w = f32([1, 1, 1, 1], [1, 4]);
    const opt = optim.sgdAgc([{ name: 'fc/w', tensor: w, kind: 'weight' }], { lr: 1, momentum: 0, weightDecay: 0, clipping: 0.1 });
    opt.step([f32([0.05, 1, 0.05, 2], [1, 4])]);
    expectClose(await w.data(), [0.95, 0.9, 0.95, 0.9], 1e-6);
    opt.dispose();
  });

  it('a zero unit is bounded by λ·eps, and a bias vector is one unit', async () => {
    // Weight unit 0 is all zero: bound 0.5·1e-3; G = (3e-3, 4e-3) (norm 5e-3) → ×0.1.
    // Bias (whole tensor): ‖W‖ = 2, bound 1, G = (0, 2) → ×0.5.
    const w = f32([0, 0], [2, 1]);
    const b = f32([2, 0], [2]);
    const opt = optim.sgdAgc([w, b], { lr: 1, momentum: 0, weightDecay: 0, clipping: 0.5 });
    opt.step([f32([3e-3, 4e-3], [2, 1]), f32([0, 2], [2])]);
    expectClose(await w.data(), [-3e-4, -4e-4], 1e-6);
    expectClose(await b.data(), [2, -1], 1e-6);
    opt.dispose();
  });
});

interface Case {
  name: string;
  shape: number[];
  kind: string;
  unitAxis: number | null;
  /** Gradient magnitude: large ones get clipped by AGC. */
  gradScale: number;
}

const CASES: Case[] = [
  { name: 'stem/conv/w', shape: [3, 3, 2, 4], kind: 'weight', unitAxis: 3, gradScale: 0.2 },
  { name: 'block/conv1x1/w', shape: [1, 1, 4, 3], kind: 'weight', unitAxis: 3, gradScale: 1e-3 },
  { name: 'block/conv3x3/w', shape: [3, 3, 8, 16], kind: 'weight', unitAxis: 3, gradScale: 0.05 },
  // 150 units: more than one workgroup (64 units each) of the step kernel.
  { name: 'block/wide/w', shape: [2, 150], kind: 'weight', unitAxis: 1, gradScale: 0.02 },
  // 264 units: four per thread (vec4 columns), 66 threads, more than one workgroup.
  { name: 'block/wider/w', shape: [2, 264], kind: 'weight', unitAxis: 1, gradScale: 0.02 },
  { name: 'stem/conv/gain', shape: [4], kind: 'gain', unitAxis: null, gradScale: 0.5 },
  // One unit of three vec4s: its norm sums the four components' partial sums.
  { name: 'block/gain', shape: [12], kind: 'gain', unitAxis: null, gradScale: 0.5 },
  { name: 'stem/conv/bias', shape: [4], kind: 'bias', unitAxis: null, gradScale: 1e-4 },
  { name: 'block/skip_gain', shape: [], kind: 'scale', unitAxis: null, gradScale: 0.3 },
  { name: 'torch/conv/w', shape: [3, 2, 2, 2], kind: 'weight', unitAxis: 0, gradScale: 0.5 },
  { name: 'classifier/w', shape: [5, 3], kind: 'weight', unitAxis: 1, gradScale: 2 },
  { name: 'classifier/b', shape: [3], kind: 'bias', unitAxis: null, gradScale: 0.1 },
];

describe('sgdAgc multi-tensor step', () => {
  const opts = { lr: 0.3, momentum: 0.9, nesterov: true, weightDecay: 0.05, clipping: 0.05, eps: 1e-3 };

  it('3 steps of AGC + decay + Nesterov match a float64 reference (classifier weight excluded from AGC), in one dispatch per step', async () => {
    const ref = CASES.map((c, i) => ({
      w: rand(size(c.shape), 100 + i), shape: c.shape, unitAxis: c.unitAxis,
      agc: c.name !== 'classifier/w', decay: c.kind === 'weight',
    }));
    const velocity = ref.map((p) => new Float64Array(p.w.length));
    const weights = ref.map((p) => f32(p.w, p.shape));
    const opt = optim.sgdAgc(
      CASES.map((c, i) => ({ name: c.name, tensor: weights[i]!, kind: c.kind, unitAxis: c.unitAxis })),
      { ...opts, excludeFromAgc: [/^classifier\/w$/] },
    );
    expect(opt.clippedNames).not.toContain('classifier/w');
    expect(opt.clippedNames).toContain('stem/conv/gain');
    let clippedSomewhere = false;
    for (let step = 0; step < 3; step++) {
      const g = CASES.map((c, i) => rand(size(c.shape), 200 + 10 * step + i, -c.gradScale, c.gradScale));
      const grads = g.map((gi, i) => f32(gi, CASES[i]!.shape));
      const before = gpu().counters().dispatches;
      opt.step(grads);
      expect(gpu().counters().dispatches - before, 'dispatches per step').toBe(1);
      expect(opt.dispatchesPerStep).toBe(1);
      ref.forEach((p, i) => {
        const clipped = p.agc ? N.agc(p.w, g[i]!, N.unitsOf(p.shape, p.unitAxis), opts.clipping, opts.eps) : g[i]!;
        if (clipped.some((v, k) => Math.abs(v - g[i]![k]!) > 1e-12)) clippedSomewhere = true;
        N.sgdAgcStep(p, velocity[i]!, g[i]!, opts);
      });
      for (let i = 0; i < CASES.length; i++) expectClose(await weights[i]!.data(), ref[i]!.w, 2e-6, `${CASES[i]!.name} after step ${step + 1}`);
      for (const t of grads) t.dispose();
    }
    expect(clippedSomewhere, 'the test exercises clipping').toBe(true);
    const m = await opt.readMomentum();
    m.forEach((v, i) => expectClose(v, velocity[i]!, 2e-5, `momentum of ${CASES[i]!.name}`));
    expect(opt.steps).toBe(3);
    opt.dispose();
  });

  it('split into segments (small maxSegmentBytes): one dispatch per segment, same result as one segment', async () => {
    const init = CASES.map((c, i) => rand(size(c.shape), 600 + i));
    const grads = CASES.map((c, i) => rand(size(c.shape), 700 + i, -c.gradScale, c.gradScale));
    const run = async (maxSegmentBytes?: number) => {
      const ws = init.map((w, i) => f32(w, CASES[i]!.shape));
      const opt = optim.sgdAgc(CASES.map((c, i) => ({ name: c.name, tensor: ws[i]!, kind: c.kind, unitAxis: c.unitAxis })), { ...opts, maxSegmentBytes });
      const before = gpu().counters().dispatches;
      opt.step(grads.map((g, i) => f32(g, CASES[i]!.shape)));
      opt.step(grads.map((g, i) => f32(g, CASES[i]!.shape)));
      const dispatches = (gpu().counters().dispatches - before) / 2;
      opt.dispose();
      return { dispatches, perStep: opt.dispatchesPerStep, values: await Promise.all(ws.map((w) => w.data())) };
    };
    const one = await run();
    // 32 floats per segment: the 72-element conv weight alone does not fit.
    await expect(run(128)).rejects.toThrow(ShapeError);
    const many = await run(5120); // 1280 floats per segment → several segments
    expect(one.dispatches).toBe(1);
    expect(many.dispatches).toBeGreaterThan(1);
    expect(many.dispatches).toBe(many.perStep);
    many.values.forEach((v, i) => expect(Array.from(v), CASES[i]!.name).toEqual(Array.from(one.values[i]!)));
  });

  it('plain momentum (nesterov: false), no AGC: one dispatch per step', async () => {
    const w0 = rand(6, 300);
    const w = f32(w0, [2, 3]);
    const o = { lr: 0.1, momentum: 0.5, nesterov: false, weightDecay: 0.01, clipping: 0, eps: 1e-3 };
    const opt = optim.sgdAgc([{ name: 'w', tensor: w }], o); // clipping 0: AGC off
    const p: N.RefParam = { w: Float64Array.from(w0), shape: [2, 3], unitAxis: 1, agc: false, decay: true };
    const v = new Float64Array(6);
    expect(opt.dispatchesPerStep).toBe(1);
    for (let s = 0; s < 2; s++) {
      const g = rand(6, 301 + s);
      opt.step([f32(g, [2, 3])], { lr: 0.1 });
      N.sgdAgcStep(p, v, g, o);
    }
    expectClose(await w.data(), p.w, 1e-6);
    opt.dispose();
  });

  it('a step with a wrong gradient shape throws before any GPU work and leaves every weight untouched', async () => {
    const a = f32([1, 2, 3, 4], [2, 2]);
    const b = f32([5, 6], [2]);
    const opt = optim.sgdAgc([{ name: 'a', tensor: a }, { name: 'b', tensor: b }], { lr: 1 });
    const before = gpu().counters().dispatches;
    expect(() => opt.step([f32([1, 1, 1, 1], [2, 2]), f32([1, 1, 1], [3])])).toThrow(ShapeError);
    expect(() => opt.step([f32([1, 1, 1, 1], [2, 2])])).toThrow(ShapeError);
    expect(() => opt.step([f32([1, 1, 1, 1], [4]), f32([1, 1], [2])])).toThrow(ShapeError);
    expect(gpu().counters().dispatches).toBe(before);
    expect(Array.from(await a.data())).toEqual([1, 2, 3, 4]);
    expect(Array.from(await b.data())).toEqual([5, 6]);
    expect(opt.steps).toBe(0);
    // Grads by name work too.
    opt.step({ a: f32([0, 0, 0, 0], [2, 2]), b: f32([0, 0], [2]) });
    expect(opt.steps).toBe(1);
    opt.dispose();
  });

  it('rejects bad options and parameter lists', () => {
    const w = f32([1], [1]);
    expect(() => optim.sgdAgc([w], { lr: -1 })).toThrow(ValueError);
    expect(() => optim.sgdAgc([w], { lr: 0.1, momentum: Number.NaN })).toThrow(ValueError);
    expect(() => optim.sgdAgc([], { lr: 0.1 })).toThrow(ValueError);
    expect(() => optim.sgdAgc([w, w], { lr: 0.1 })).toThrow(ValueError);
    expect(() => optim.sgdAgc([{ tensor: w, unitAxis: 3 }], { lr: 0.1 })).toThrow(ValueError);
  });
});

/** Buffer copies `f` records. */
function copiesOf(f: () => void): number {
  const b = backend();
  const original = b.copy;
  let n = 0;
  b.copy = (...args) => {
    n++;
    original.apply(b, args);
  };
  try {
    f();
  } finally {
    b.copy = original;
  }
  return n;
}

describe('sgdAgc steps a ModelState in place', () => {
  const opts = { lr: 0.3, momentum: 0.9, nesterov: true, weightDecay: 0.05, clipping: 0.05, eps: 1e-3 };
  const make = (seed: number) => CASES.map((c, i) => f32(rand(size(c.shape), seed + i), c.shape));
  const specs = (ws: Tensor[]) => CASES.map((c, i) => ({ name: c.name, tensor: ws[i]!, kind: c.kind, unitAxis: c.unitAxis }));
  const gradsAt = (step: number) => CASES.map((c, i) => f32(rand(size(c.shape), 900 + 10 * step + i, -c.gradScale, c.gradScale), c.shape));
  /** A state holding CASES with the values `make(seed)` gives. */
  const stateOf = (seed: number) => {
    const layout = new StateLayout();
    CASES.forEach((c, i) => layout.param(c.name, c.kind === 'weight' ? 'weight' : 'bias', c.shape, () => Float32Array.from(rand(size(c.shape), seed + i)), c.unitAxis));
    return ModelState.create(layout);
  };

  it("a state's parameters are slices of one buffer, keep their values, work in ops, and step exactly as loose copies do", async () => {
    const init = make(800);
    const before = await Promise.all(init.map((t) => t.data()));
    const state = stateOf(800);
    const copied = make(800);
    const a = optim.sgdAgc(state, opts);
    const c = optim.sgdAgc(specs(copied), opts);
    const inState = state.params;
    const buffers = new Set(inState.filter((t) => t.size).map((t) => t.buffer));
    expect(buffers.size, 'one weight region').toBe(1);
    expect(inState.some((t) => t.byteOffset > 0)).toBe(true);
    expect(inState[1]!.binding.offset, 'binding = buffer + byteOffset').toBe(inState[1]!.byteOffset);
    for (let i = 0; i < CASES.length; i++) expect(Array.from(await inState[i]!.data()), CASES[i]!.name).toEqual(Array.from(before[i]!));
    // An op reading a state's parameter (a slice at a non-zero offset).
    const w = inState[CASES.findIndex((k) => k.name === 'classifier/w')]!;
    const x = f32([1, 2, 3, 4, 5], [1, 5]);
    const y = await ops.matmul(x, w).data();
    const wv = await w.data();
    expectClose(y, [0, 1, 2].map((j) => [0, 1, 2, 3, 4].reduce((s, k) => s + (k + 1) * wv[k * 3 + j]!, 0)), 1e-5);
    for (let step = 0; step < 3; step++) {
      const g = gradsAt(step);
      expect(copiesOf(() => a.step(g)), 'state: only the grads are gathered').toBe(CASES.length);
      expect(copiesOf(() => c.step(gradsAt(step))), 'loose: grads and weights gathered, weights scattered').toBe(3 * CASES.length);
    }
    for (let i = 0; i < CASES.length; i++) {
      expect(Array.from(await inState[i]!.data()), CASES[i]!.name).toEqual(Array.from(await copied[i]!.data()));
    }
    a.dispose();
    c.dispose();
    // The state outlives the optimizer.
    expect((await inState[0]!.data()).length).toBe(size(CASES[0]!.shape));
    state.dispose();
    for (const t of [...copied, ...init]) t.dispose();
  });

  it('a second optimizer over the same parameters takes them over; the first still steps them correctly (by copies)', async () => {
    const ws = make(850);
    const ref = make(850);
    const first = optim.sgdAgc(specs(ws), opts);
    const second = optim.sgdAgc(specs(ws), opts); // a second mirror of ws
    const solo = optim.sgdAgc(specs(ref), opts);
    for (let step = 0; step < 2; step++) {
      first.step(gradsAt(step));
      solo.step(gradsAt(step));
    }
    for (let i = 0; i < CASES.length; i++) expect(Array.from(await ws[i]!.data()), CASES[i]!.name).toEqual(Array.from(await ref[i]!.data()));
    for (const o of [first, second, solo]) o.dispose();
    for (const t of [...ws, ...ref]) t.dispose();
  });

  it('a parameter passed as a view of another tensor: the tensor it shares storage with sees every step', async () => {
    const base = f32([1, 2, 3, 4, 5, 6], [2, 3]);
    const view = base.view([3, 2]);
    const opt = optim.sgdAgc([{ name: 'w', tensor: view, kind: 'bias', unitAxis: null }], { lr: 0.5, momentum: 0, weightDecay: 0, clipping: 0 });
    expect(view.buffer, 'the view keeps its own storage').toBe(base.buffer);
    opt.step([f32([1, 1, 1, 1, 1, 1], [3, 2])]);
    expect(Array.from(await base.data())).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
    opt.dispose();
    view.dispose();
    base.dispose();
  });

  it("the EMA reads a state's regions in place and averages the same as from copies", async () => {
    const state = stateOf(870);
    const copies = make(870);
    const opt = optim.sgdAgc(state, opts);
    const emaIn = optim.ema(state);
    const emaCopy = optim.ema(copies);
    opt.step(gradsAt(0));
    copies.forEach((t, i) => assign(t, state.params[i]!));
    expect(copiesOf(() => emaIn.update(state, 0.7)), 'copies of an in-place EMA update').toBe(0);
    expect(copiesOf(() => emaCopy.update(copies, 0.7))).toBe(CASES.length);
    const [a, b] = [emaIn.values(), emaCopy.values()];
    for (let i = 0; i < CASES.length; i++) expect(Array.from(await a[i]!.data()), CASES[i]!.name).toEqual(Array.from(await b[i]!.data()));
    expect(emaIn.state.layout, 'the averages are a state of the same layout').toBe(state.layout);
    for (const o of [opt, emaIn, emaCopy]) o.dispose();
    state.dispose();
    for (const t of [...copies, ...a, ...b]) t.dispose();
  });
});

describe('EMA of the weights', () => {
  it('decay schedule min(0.99999, (1+t)/(10+t))', () => {
    expect(optim.emaDecay(0)).toBeCloseTo(0.1, 12);
    expect(optim.emaDecay(10)).toBeCloseTo(11 / 20, 12);
    expect(optim.emaDecay(1e7)).toBe(0.99999);
  });

  it('3 updates follow the float64 recurrence; values() and copyTo() read the averages', async () => {
    const shapes = [[2, 3], [3], []];
    const w0 = shapes.map((s, i) => rand(size(s), 400 + i));
    const weights = w0.map((w, i) => f32(w, shapes[i]!));
    const avg = w0.map((w) => Float64Array.from(w));
    const ema = optim.ema(weights);
    for (let t = 0; t < 3; t++) {
      const next = shapes.map((s, i) => rand(size(s), 500 + 10 * t + i));
      next.forEach((w, i) => {
        weights[i]!.dispose();
        weights[i] = f32(w, shapes[i]!);
      });
      const d = optim.emaDecay(t);
      ema.update(weights, d);
      avg.forEach((a, i) => a.forEach((v, k) => (a[k] = d * v + (1 - d) * next[i]![k]!)));
    }
    const values = ema.values();
    for (let i = 0; i < shapes.length; i++) {
      expect(values[i]!.shape).toEqual(shapes[i]);
      expectClose(await values[i]!.data(), avg[i]!, 1e-6, `average ${i}`);
    }
    const target: Tensor[] = shapes.map((s) => f32(new Float32Array(size(s)), s));
    ema.copyTo(target);
    expectClose(await target[0]!.data(), avg[0]!, 1e-6);
    expect(() => ema.update([weights[0]!], 0.5)).toThrow(ShapeError);
    expect(() => ema.update(weights, 1.5)).toThrow(ValueError);
    ema.dispose();
  });

  it("averages a state's running statistics (BN mean/variance) like its weights, as timm's ModelEmaV2 does", async () => {
    const layout = new StateLayout();
    layout.param('w', 'weight', [2, 3], () => Float32Array.from([1, 2, 3, 4, 5, 6]));
    layout.running('bn.running_mean', [5], () => new Float32Array(5));
    layout.running('bn.running_var', [3], () => new Float32Array(3).fill(1));
    const state = ModelState.create(layout);
    const ema = optim.ema(state);
    const w = [2, 2, 2, 2, 2, 2];
    const mean = [0.5, -1, 2, 3, -4];
    const variance = [4, 0.25, 9];
    assign(state.get('w'), Float32Array.from(w));
    assign(state.get('bn.running_mean'), Float32Array.from(mean));
    assign(state.get('bn.running_var'), Float32Array.from(variance));
    ema.update(state, 0.75);
    const got = await ema.state.read();
    expectClose(got.get('w')!, [1, 2, 3, 4, 5, 6].map((v, i) => 0.75 * v + 0.25 * w[i]!), 1e-6, 'weights');
    expectClose(got.get('bn.running_mean')!, mean.map((m) => 0.25 * m), 1e-6, 'running mean');
    expectClose(got.get('bn.running_var')!, variance.map((v) => 0.75 + 0.25 * v), 1e-6, 'running variance');
    // The live state is only read.
    expectClose(await state.get('bn.running_var').data(), variance, 0);
    ema.dispose();
    state.dispose();
  });
});
