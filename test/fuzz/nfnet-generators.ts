/**
 * Fuzz generators for the model-level API: `nfnet.create` (variant names, overrides),
 * `model.predict`, the Trainer (constructor options, `trainStep` batches, `evaluate`), the
 * optimizers (`optim.sgdAgc`, `optim.ema`: constructors and steps), checkpoints
 * (`decodeCheckpoint` + `modelFromCheckpoint` on a real pico checkpoint's mutated bytes)
 * and `importTimm` on a timm fixture's mutated bytes. Each call builds its own pico model
 * (through `c.defer`, freed after the call) so the leak check sees only the call itself.
 *
 * The checkpoint and timm bytes are made once by `prepareNfnetFuzz()`, which the runner's
 * callers await before a run (making a checkpoint reads the GPU: not a generator's job).
 */
import { readFileSync } from 'node:fs';
import { nfnet, optim, data, Tensor } from '../../src/index.js';
import type { NFNet } from '../../src/nfnet/model.js';
import type { Trainer } from '../../src/nfnet/train.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import type { Call, FuzzContext, Generator } from './runner.js';
import { CHECKSUM_KEY } from '../../src/io/safetensors.js';
import { argTarget, joinSt, show, splitSt, stMutationsFor, type ArgSpec } from './generators.js';

const V = (name: string, valid: unknown, bad: unknown[]): ArgSpec => ({ name, valid: () => valid, bad: () => bad });
const BAD_OPTION_OBJECTS = (): unknown[] => [null, 5, 'x', [], true];

/** An options argument whose valid value is `valid`; refused: non-objects, misspelled names, each field's bad values. */
function options(name: string, valid: Record<string, unknown>, fields: Record<string, unknown[]>, misspelled: Record<string, unknown>[]): ArgSpec {
  return {
    name,
    valid: () => ({ ...valid }),
    bad: () => [...BAD_OPTION_OBJECTS(), ...misspelled, ...Object.entries(fields).flatMap(([k, vs]) => vs.map((v) => ({ ...valid, [k]: v })))],
  };
}

function pico(c: FuzzContext): NFNet {
  const model = nfnet.create('pico', { numClasses: 3 });
  c.defer(() => model.dispose());
  return model;
}

function trainer(c: FuzzContext, model = pico(c)): Trainer {
  const t = new nfnet.Trainer(model, { totalSteps: 10, batchSize: 2 });
  c.defer(() => t.dispose());
  return t;
}

/** A well-formed pico batch (3 classes, 1 channel, 8×8) to corrupt one field of. */
function batch(n = 2, hw = 8): data.Batch {
  return { images: Float32Array.from({ length: n * hw * hw }, (_, i) => Math.sin(i)), labels: Int32Array.from({ length: n }, (_, i) => i % 3), shape: [n, hw, hw, 1] };
}

// ------------------------------------------------------------------ nfnet.create, predict

const createGenerators: Generator[] = [
  argTarget('nfnet.create', 'nfnet', [
    V('variant', 'pico', ['F9', 'nanno', '', null, 5, {}, 'dm_nfnet_f9']),
    options('options', { numClasses: 3, seed: 1 }, {
      depths: [[-1, 1], [Infinity, 1], [1], 'ab', [600, 600], [1.5, 1], null],
      widths: [[16, NaN], [16, 1e9], [0, 32], [16]],
      strides: [[0, 2], [1, 3], [1, -2]],
      groupWidth: [NaN, 0, 'a', 3.5],
      family: ['foo', null, 5],
      activation: ['foo', 'RELU', null],
      stem: [null, [{ channels: 8 }], [{ channels: 8, stride: 2, kernel: 3, pad: 1 }], [{ channels: 0, stride: 2, kernel: 3 }], 'x'],
      bottleneckRatio: [0, NaN, -1, 'a'],
      finalConvMult: [-1, 1.5, 100],
      numClasses: [0, 1.5, NaN, 1e9, '10'],
      inChannels: [0, 'a', -3],
      seed: [-1, NaN, 'a', 2 ** 33],
      dropout: [1, -0.1, NaN],
      alpha: [NaN, -1],
      trainResolution: [0, 1e6, 1.5],
      wsEps: [0, NaN, -1],
      padding: ['SAME', null],
      skipGain: ['yes'],
    }, [{ dephts: [1, 1] }, { sead: 1 }, { variant: 'F0' }, { numclasses: 3 }]),
  ], (variant, o) => nfnet.create(variant as string, o as nfnet.ConfigOverrides)),
  {
    name: 'model.predict', area: 'nfnet', make(c): Call {
      const model = pico(c);
      const bads: unknown[] = [null, 'x', 5, c.t([1, 8, 8, 3]), c.t([8, 8, 1]), c.i32([1, 8, 8, 1]), c.disposed([1, 8, 8, 1]), new Float32Array(64)];
      if (c.rng.int(3)) {
        const x = c.rng.pick(bads);
        return { label: `model.predict(x=${show(x)})`, run: () => model.predict(x as Tensor) };
      }
      const x = c.t([1, 8, 8, 1]);
      const other = nfnet.create('pico', { numClasses: 5 });
      c.defer(() => other.dispose());
      const opts = c.rng.pick<unknown>([null, 5, { state: 5 }, { state: other.state }, { stat: model.state }]);
      return { label: `model.predict(options=${show(opts === null || typeof opts !== 'object' ? opts : Object.keys(opts as object))})`, run: () => model.predict(x, opts as never) };
    },
  },
];

// ------------------------------------------------------------------ Trainer

const trainGenerators: Generator[] = [
  {
    name: 'nfnet.Trainer', area: 'train', make(c): Call {
      const model = pico(c);
      const valid = { totalSteps: 10, batchSize: 2 };
      const fields: Record<string, unknown[]> = {
        lr: [0, -1, NaN, Infinity, 'a'], totalSteps: [0, 1.5, NaN, Infinity, null, -3], warmupSteps: [-1, Infinity, NaN, 1.5, 11],
        momentum: [-0.1, 1.5, NaN], weightDecay: [-1, NaN, Infinity], clipping: [NaN, -1, 'a'], labelSmoothing: [2, -0.1, NaN, 1],
        ema: ['no', 1, null], agcSkipGains: ['yes', 0], seed: [NaN, -1, 1.5], batchSize: [0, NaN, -2, 'a'],
        sam: [{ rho: 0 }, { rho: -0.05 }, { rho: NaN }, { rho: Infinity }, { rho: '0.05' }, { rh: 0.05 }, {}, 0.05, true, []],
      };
      const bads: [string, unknown, unknown][] = [
        ...[null, 5, 'x', []].map((o): [string, unknown, unknown] => [`options=${show(o)}`, model, o]),
        ['options={totalStep}', model, { totalStep: 10 }],
        ['options={}', model, {}],
        ...[null, 'pico', {}].map((m): [string, unknown, unknown] => [`model=${show(m)}`, m, valid]),
        ...Object.entries(fields).flatMap(([k, vs]) => vs.map((v): [string, unknown, unknown] => [`${k}=${show(v)}`, model, { ...valid, [k]: v }])),
      ];
      const [label, m, o] = c.rng.pick(bads);
      return {
        label: `nfnet.Trainer(${label})`,
        run: () => {
          const t = new nfnet.Trainer(m as NFNet, o as never);
          c.defer(() => t.dispose()); // accepted: still freed, so only the verdict counts
          return t;
        },
      };
    },
  },
  {
    name: 'Trainer.trainStep', area: 'train', make(c): Call {
      const t = trainer(c);
      const b = batch();
      const bads: [string, unknown][] = [
        ['null', null], ['"x"', 'x'], ['{}', {}],
        ['images short', { ...b, images: b.images.subarray(1) }],
        ['images a plain array', { ...b, images: Array.from(b.images) }],
        ['labels Float32Array', { ...b, labels: Float32Array.from(b.labels) }],
        ['label 3 of 3 classes', { ...b, labels: Int32Array.from([0, 3]) }],
        ['label -1', { ...b, labels: Int32Array.from([-1, 0]) }],
        ['labels one short', { ...b, labels: Int32Array.from([0]) }],
        ['3 channels', { ...batch(2, 8), shape: [2, 8, 8, 3], images: new Float32Array(2 * 8 * 8 * 3) }],
        ['shape with 0', { ...b, shape: [0, 8, 8, 1] }],
        ['shape rank 3', { ...b, shape: [2, 64, 1] }],
        ['shape NaN', { ...b, shape: [2, NaN, 8, 1] }],
        ['shape missing', { images: b.images, labels: b.labels }],
      ];
      const [label, bad] = c.rng.pick(bads);
      return { label: `Trainer.trainStep(${label})`, run: () => t.trainStep(bad as data.Batch) };
    },
  },
  {
    name: 'Trainer.evaluate', area: 'train', make(c): Call {
      const t = trainer(c);
      const bads: unknown[] = [null, 'x', {}, [batch()], 5];
      const loader = c.rng.pick(bads);
      return { label: `Trainer.evaluate(loader=${show(loader)})`, run: () => t.evaluate(loader as data.DataLoader) };
    },
  },
];

// ------------------------------------------------------------------ optimizers

function gradsFor(c: FuzzContext, model: NFNet): Tensor[] {
  const shapes = new Map([...model.state.entries()].map(([spec]) => [spec.name, spec.shape]));
  return model.state.paramNames.map((n) => c.t([...shapes.get(n)!]));
}

const optimGenerators: Generator[] = [
  {
    name: 'optim.sgdAgc', area: 'optim', make(c): Call {
      const model = pico(c);
      const valid = { lr: 0.1 };
      const fields: Record<string, unknown[]> = {
        lr: [-1, NaN, 'a', Infinity, undefined], momentum: [-1, 2, NaN], nesterov: ['yes', 1], weightDecay: [-1, NaN],
        clipping: [NaN, -1, 'a'], eps: [NaN, -1, 'a'], excludeFromAgc: [5, [5], {}, null], guardNonFinite: ['no'], maxSegmentBytes: [0, -1, 1.5, NaN],
        sam: [{ rho: 0 }, { rho: NaN }, { rho: -1 }, { rh: 0.05 }, {}, null, 0.05],
      };
      const bads: [string, unknown, unknown][] = [
        ...[null, 'x', 5, {}, [1, 2], [null]].map((p): [string, unknown, unknown] => [`params=${show(p)}`, p, valid]),
        ...[null, 5, 'x', [], { lr: 0.1, momentom: 0.9 }].map((o): [string, unknown, unknown] => [`options=${show(o)}`, model.state, o]),
        ...Object.entries(fields).flatMap(([k, vs]) => vs.map((v): [string, unknown, unknown] => [`${k}=${show(v)}`, model.state, { ...valid, [k]: v }])),
      ];
      const [label, p, o] = c.rng.pick(bads);
      return {
        label: `optim.sgdAgc(${label})`,
        run: () => {
          const opt = optim.sgdAgc(p as never, o as never);
          c.defer(() => opt.dispose());
          return opt;
        },
      };
    },
  },
  {
    name: 'SgdAgc.step', area: 'optim', make(c): Call {
      const model = pico(c);
      const opt = optim.sgdAgc(model.state, { lr: 0.1 });
      c.defer(() => opt.dispose());
      const grads = gradsFor(c, model);
      const bads: [string, () => unknown[]][] = [
        ['grads=null', () => [null]],
        ['grads="x"', () => ['x']],
        ['grads=[]', () => [[]]],
        ['one grad short', () => [grads.slice(1)]],
        ['one grad too many', () => [[...grads, c.t([2])]]],
        ['a grad of another shape', () => [[c.t([3]), ...grads.slice(1)]]],
        ['a disposed grad', () => [[c.disposed([...grads[0]!.shape]), ...grads.slice(1)]]],
        ['an i32 grad', () => [[c.i32([...grads[0]!.shape]), ...grads.slice(1)]]],
        ['a grad "x"', () => [['x', ...grads.slice(1)]]],
        ['options=null', () => [grads, null]],
        ['lr=NaN', () => [grads, { lr: NaN }]],
        ['lr=-1', () => [grads, { lr: -1 }]],
        ['loss="x"', () => [grads, { loss: 'x' }]],
        ['options={lrr}', () => [grads, { lrr: 0.1 }]],
      ];
      const [label, args] = c.rng.pick(bads);
      const a = args();
      return { label: `SgdAgc.step(${label})`, run: () => opt.step(a[0] as Tensor[], a[1] as never) };
    },
  },
  {
    name: 'optim.ema', area: 'optim', make(c): Call {
      const params = c.rng.pick<unknown>([null, 'x', 5, {}, [1, 2], [null], undefined]);
      return {
        label: `optim.ema(params=${show(params)})`,
        run: () => {
          const e = optim.ema(params as never);
          c.defer(() => e.dispose());
          return e;
        },
      };
    },
  },
  {
    name: 'Ema.update', area: 'optim', make(c): Call {
      const model = pico(c);
      const e = optim.ema(model.state);
      c.defer(() => e.dispose());
      const other = nfnet.create('pico', { numClasses: 5 });
      c.defer(() => other.dispose());
      const bads: [string, unknown, unknown, unknown][] = [
        ...[NaN, 2, -1, 'a', null, Infinity].map((d): [string, unknown, unknown, unknown] => [`decay=${show(d)}`, model.state, d, undefined]),
        ['params=null', null, 0.9, undefined],
        ['params of another model', other.state, 0.9, undefined],
        ['options=5', model.state, 0.9, 5],
        ['options={gaurd}', model.state, 0.9, { gaurd: 1 }],
        ['options={guard: "x"}', model.state, 0.9, { guard: 'x' }],
      ];
      const [label, p, d, o] = c.rng.pick(bads);
      return { label: `Ema.update(${label})`, run: () => e.update(p as never, d as number, o as never) };
    },
  },
];

// ------------------------------------------------------------------ checkpoints and timm files

let checkpointBytes: Uint8Array | null = null;
let timmBytes: Uint8Array | null = null;

/** The real files the file generators mutate: a pico checkpoint (params, momentum, EMA) and timm's dm_nfnet_tiny fixture. */
export async function prepareNfnetFuzz(): Promise<void> {
  if (!checkpointBytes) {
    const model = nfnet.create('pico', { numClasses: 3 });
    const t = new nfnet.Trainer(model, { totalSteps: 10, batchSize: 2 });
    try {
      checkpointBytes = await nfnet.encodeCheckpoint(model, t);
    } finally {
      t.dispose();
      model.dispose();
    }
  }
  timmBytes ??= new Uint8Array(readFileSync('test/fixtures/timm/dm_nfnet_tiny.safetensors' /* from the repository root, where npm and vitest run */));
}

function prepared(bytes: Uint8Array | null): Uint8Array {
  if (!bytes) throw new Error('fuzz: call prepareNfnetFuzz() before drawing nfnet file generators');
  return bytes;
}

type Meta = Record<string, string>;
/** A checkpoint with its metadata edited (the tensors and their checksums untouched). */
function withMeta(f: Uint8Array, edit: (m: Meta) => void): Uint8Array {
  const { header, body } = splitSt(f);
  edit(header.__metadata__ as Meta);
  return joinSt(header, body);
}
function withConfig(f: Uint8Array, edit: (cfg: Record<string, unknown>) => void): Uint8Array {
  return withMeta(f, (m) => {
    const cfg = JSON.parse(m.config!);
    edit(cfg);
    m.config = JSON.stringify(cfg);
  });
}
/** A checkpoint with its tensors re-encoded after an edit (valid checksums: only the content is wrong). */
function withTensors(f: Uint8Array, edit: (t: Map<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(f, 'fuzz');
  const m = new Map([...tensors].map(([k, t]) => [k, { dtype: 'F32' as const, shape: [...t.shape], data: new Float32Array(t.bytes.slice().buffer) }]));
  edit(m);
  const { [CHECKSUM_KEY]: _drop, ...rest } = metadata as Meta;
  return encodeSafetensors(Object.fromEntries(m), rest);
}

const checkpointMutations: [string, (f: Uint8Array, c: FuzzContext) => Uint8Array][] = [
  ...stMutationsFor('param/head.fc.weight', 'param/head.fc.bias'),
  ['format "other/1"', (f) => withMeta(f, (m) => void (m.format = 'other/1'))],
  ['no config', (f) => withMeta(f, (m) => void delete m.config)],
  ['config not JSON', (f) => withMeta(f, (m) => void (m.config = '{"depths": [1,'))],
  ['config "null"', (f) => withMeta(f, (m) => void (m.config = 'null'))],
  ['config depths [-1, 1]', (f) => withConfig(f, (cfg) => void (cfg.depths = [-1, 1]))],
  ['config depths [1e9, 1]', (f) => withConfig(f, (cfg) => void (cfg.depths = [1e9, 1]))],
  ['config activation "foo"', (f) => withConfig(f, (cfg) => void (cfg.activation = 'foo'))],
  ['config widths [16, 48]', (f) => withConfig(f, (cfg) => void (cfg.widths = [16, 48]))],
  ['config numClasses 4', (f) => withConfig(f, (cfg) => void (cfg.numClasses = 4))],
  ['config an extra field', (f) => withConfig(f, (cfg) => void (cfg.extraField = 1))],
  ['step "abc"', (f) => withMeta(f, (m) => void (m.step = 'abc'))],
  ['step -1', (f) => withMeta(f, (m) => void (m.step = '-1'))],
  ['trainOptions not JSON', (f) => withMeta(f, (m) => void (m.trainOptions = '{'))],
  ['a parameter missing', (f) => withTensors(f, (t) => void t.delete([...t.keys()].find((k) => k.startsWith('param/'))!))],
  ['a momentum missing', (f) => withTensors(f, (t) => void t.delete([...t.keys()].find((k) => k.startsWith('momentum/'))!))],
  ['a parameter transposed', (f) => withTensors(f, (t) => {
    const k = [...t.keys()].find((n) => n.startsWith('param/') && t.get(n)!.shape.length === 2 && t.get(n)!.shape[0] !== t.get(n)!.shape[1])!;
    t.get(k)!.shape.reverse();
  })],
  ['a momentum of another shape', (f) => withTensors(f, (t) => {
    const k = [...t.keys()].find((n) => n.startsWith('momentum/') && t.get(n)!.shape.length > 1)!;
    const e = t.get(k)!;
    e.shape = [e.data.length];
  })],
  ['an unexpected tensor', (f) => withTensors(f, (t) => void t.set('other/x', { dtype: 'F32', shape: [2], data: new Float32Array(2) }))],
  ['a NaN weight', (f) => withTensors(f, (t) => void (t.get([...t.keys()].find((k) => k.startsWith('param/'))!)!.data[0] = NaN))],
];

/** What a loader does with a checkpoint: decode it, build the model, restore the trainer. */
function loadCheckpoint(bytes: Uint8Array): number {
  const ck = nfnet.decodeCheckpoint(bytes, 'fuzz checkpoint');
  const model = nfnet.modelFromCheckpoint(ck);
  try {
    const t = new nfnet.Trainer(model, { totalSteps: 10, batchSize: 2 });
    try {
      nfnet.restore(model, ck, t);
    } finally {
      t.dispose();
    }
  } finally {
    model.dispose();
  }
  return ck.params.size;
}

// timm's files carry no checksums (timm's own writer has none), so a flipped bit in their
// data cannot be told from a weight: those two mutations are left to our checkpoints.
const TIMM_MUTATIONS = stMutationsFor('head.fc.weight', 'head.fc.bias').filter(([label]) => !label.startsWith('bit flip'));

const fileGenerators: Generator[] = [
  {
    name: 'nfnet.decodeCheckpoint(mutated)', area: 'checkpoint', make(c): Call {
      const original = prepared(checkpointBytes);
      const [label, mutate] = c.rng.pick(checkpointMutations);
      const bytes = mutate(original, c);
      const reference = nfnet.decodeCheckpoint(original);
      return {
        label: `decodeCheckpoint(${label})`,
        run: () => {
          loadCheckpoint(bytes);
          return nfnet.decodeCheckpoint(bytes);
        },
        // A mutation that leaves every tensor and the config as they were (e.g. JSON whitespace) is harmless.
        benign: (r) => {
          const ck = r as nfnet.Checkpoint;
          if (JSON.stringify(ck.config) !== JSON.stringify(reference.config) || ck.step !== reference.step) return false;
          for (const [k, v] of reference.params) if (!ck.params.get(k) || ck.params.get(k)!.some((x, i) => !Object.is(x, v[i]))) return false;
          return ck.params.size === reference.params.size && ck.momentum.size === reference.momentum.size && ck.ema.size === reference.ema.size;
        },
      };
    },
  },
  argTarget('nfnet.decodeCheckpoint', 'checkpoint', [V('bytes', null, [null, undefined, 'abc', [1, 2, 3], new Float32Array(4), {}, new Uint8Array(0)])], (b) => nfnet.decodeCheckpoint(b as Uint8Array)),
  {
    name: 'nfnet.importTimm(mutated)', area: 'checkpoint', make(c): Call {
      const original = prepared(timmBytes);
      const [label, mutate] = c.rng.pick(TIMM_MUTATIONS);
      const bytes = mutate(original, c);
      const reference = decodeSafetensors(original, 'fuzz').tensors;
      return {
        label: `importTimm(${label})`,
        run: () => {
          const { model } = nfnet.importTimm(bytes);
          model.dispose();
          return decodeSafetensors(bytes, 'fuzz').tensors;
        },
        benign: (r) => {
          const t = r as typeof reference;
          if (t.size !== reference.size) return false;
          for (const [k, v] of reference) {
            const u = t.get(k);
            if (!u || u.shape.join() !== v.shape.join() || u.bytes.some((x, i) => x !== v.bytes[i])) return false;
          }
          return true;
        },
      };
    },
  },
  argTarget('nfnet.importTimm', 'checkpoint', [
    V('file', null, [null, 'abc', 5, {}, new Float32Array(4)]),
  ], (f) => nfnet.importTimm(f as Uint8Array)),
  {
    name: 'nfnet.importTimm(options)', area: 'checkpoint', make(c): Call {
      const bytes = prepared(timmBytes);
      const o = c.rng.pick<unknown>([5, 'x', { variant: 'F9' }, { varient: 'dm_nfnet_f0' }, { variant: 'dm_nfnet_f0' }, { overrides: { depths: [-1] } }, { overrides: 5 }]);
      return {
        label: `importTimm(options=${show(o)})`,
        run: () => {
          const r = nfnet.importTimm(bytes, o as never);
          r.model.dispose();
          return r.loaded;
        },
      };
    },
  },
];

export const NFNET_GENERATORS: readonly Generator[] = [...createGenerators, ...trainGenerators, ...optimGenerators, ...fileGenerators];
