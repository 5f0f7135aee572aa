/**
 * The fuzz generator table: every entry builds one bad call to a public function. Most
 * entries come from `argTarget`: a function, a valid value per argument, and per argument
 * a list of values that must be refused; a call corrupts one argument. File entries mutate
 * a valid file's bytes in ways that make it invalid (or confirm the result is unchanged).
 *
 * To cover more of the API (nfnet.create, Trainer, optimizers, checkpoints), add entries to
 * GENERATORS with argTarget(...) or a hand-written { name, area, make }.
 */
import {
  grad, keep, noGrad, ops, empty, full, ones, onesLike, randn, scalar, tensor, tidy, uniform, valueAndGrad, zeros, zerosLike, assign,
  data, init, Tensor,
} from '../../src/index.js';
import { decodeSafetensors, encodeSafetensors, toFloat32 } from '../../src/io/safetensors.js';
import { backend } from '../../src/runtime/init.js';
import { DEBIAN_FASHION_MNIST, readCifar10, readFashionMnist } from '../../src/data/node-files.js';
import type { Call, FuzzContext, Generator } from './runner.js';

/** One argument: how to make a valid value, and values that must be refused. */
export interface ArgSpec {
  name: string;
  valid(c: FuzzContext): unknown;
  bad(c: FuzzContext): unknown[];
}

export function show(v: unknown): string {
  if (v instanceof Tensor) return `${v.disposed ? 'disposed ' : ''}T[${v.shape.join(',')}]${v.dtype === 'f32' ? '' : v.dtype}`;
  if (typeof v === 'function') return v.constructor.name === 'AsyncFunction' ? 'async fn' : `fn ${v.name || ''}`;
  if (typeof v === 'symbol') return 'Symbol';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  try {
    const s = JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));
    return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 60)}…` : s;
  } catch {
    return String(v);
  }
}

/** A generator that calls `fn` with one argument replaced by one of its bad values. */
export function argTarget(name: string, area: string, args: ArgSpec[], fn: (...a: unknown[]) => unknown): Generator {
  return {
    name,
    area,
    make(c) {
      const k = c.rng.int(args.length);
      const bads = args[k]!.bad(c);
      const values = args.map((a, i) => (i === k ? c.rng.pick(bads) : a.valid(c)));
      return { label: `${name}(${args[k]!.name}=${show(values[k])})`, run: () => fn(...values) };
    },
  };
}

// ------------------------------------------------------------------ bad values by kind

const NOT_TENSOR = (): unknown[] => [undefined, null, 0.5, NaN, 'x', true, {}, [], [1, 2], () => 1, new Float32Array(4), { shape: [2, 3], dtype: 'f32' }, Symbol('s')];
const notTensorOrNumber = () => NOT_TENSOR().filter((v) => !(typeof v === 'number' && Number.isFinite(v)));
/** One f32 element more than the device can hold in one bindable buffer (2^28 + 1 on SwiftShader). */
function overLimit(): number[] {
  const { maxBufferSize, maxStorageBufferBindingSize } = backend().device.limits;
  return [Math.floor(Math.min(maxBufferSize, maxStorageBufferBindingSize) / 4) + 1];
}
const BAD_SHAPES = (): unknown[] => [undefined, null, 'abc', 3, [-1], [1.5], [NaN], [Infinity], [2 ** 26, 2 ** 26, 4], overLimit(), Array(9).fill(1), {}, ['2']];
const BAD_NUMBERS = (): unknown[] => [NaN, Infinity, -Infinity, 'a', null, {}, [1]];
const BAD_BOOLS = (): unknown[] => ['yes', 1, null, NaN, {}];
const BAD_POSINT = (): unknown[] => [0, -1, 1.5, NaN, Infinity, 'a', null, [1], [1, 2, 3], {}];
const BAD_OPTION_OBJECTS = (): unknown[] => [null, 5, 'x', [], true, { bogus: 1 }];

/** A tensor argument: valid f32 of `shape`; refused: non-tensors, a disposed tensor, i32 (unless any dtype), `extra`. */
function T(name: string, shape: number[], o: { numbers?: boolean; anyDtype?: boolean; optional?: boolean; extra?: (c: FuzzContext) => unknown[] } = {}): ArgSpec {
  return {
    name,
    valid: (c) => c.t(shape),
    bad: (c) => [
      ...(o.numbers ? notTensorOrNumber() : NOT_TENSOR()).filter((v) => !(o.optional && v === undefined)),
      c.disposed(shape),
      ...(o.anyDtype ? [] : [c.i32(shape)]),
      ...(o.extra?.(c) ?? []),
    ],
  };
}

/** An options argument: `valid` passes; refused: non-objects, unknown and misspelled names, bad field values. */
function O(name: string, valid: Record<string, unknown>, fields: Record<string, unknown[]>, extra: unknown[] = []): ArgSpec {
  return {
    name,
    valid: () => ({ ...valid }),
    bad: () => {
      const out: unknown[] = [...BAD_OPTION_OBJECTS(), ...extra];
      const keys = Object.keys(fields);
      if (keys.length) out.push({ [`${keys[0]!}s`]: valid[keys[0]!] ?? 1 }); // a misspelled name
      for (const [k, vs] of Object.entries(fields)) for (const v of vs) out.push({ ...valid, [k]: v });
      return out;
    },
  };
}

const V = (name: string, valid: unknown, bad: unknown[] | (() => unknown[])): ArgSpec => ({ name, valid: () => valid, bad: typeof bad === 'function' ? bad : () => bad });
/** A shape argument; its bad values are built at call time (one needs the device's limits). */
const S = (name: string, valid: number[], extra: unknown[] = []): ArgSpec => V(name, valid, () => [...BAD_SHAPES(), ...extra]);
const F = (name: string, valid: (c: FuzzContext) => unknown, bad: unknown[]): ArgSpec => ({ name, valid, bad: () => bad });

// ------------------------------------------------------------------ ops

const AXES = [5, -5, 1.5, 'a', null, [0, 0], NaN, {}];
const unaryNames = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'square', 'abs', 'reciprocal', 'relu', 'sigmoid', 'tanh'] as const;
const binaryArith = ['add', 'sub', 'mul', 'div'] as const;
const binaryTensor = ['maximum', 'minimum', 'gt', 'ge', 'eq', 'lt', 'le'] as const;
const call = (f: unknown) => f as (...a: unknown[]) => unknown;

const opGenerators: Generator[] = [
  ...unaryNames.map((n) => argTarget(`ops.${n}`, 'ops', [T('x', [2, 3])], call(ops[n]))),
  ...binaryArith.map((n) => argTarget(`ops.${n}`, 'ops', [
    T('a', [2, 3], { numbers: true, extra: (c) => [c.t([4, 3])] }),
    T('b', [2, 3], { numbers: true, extra: (c) => [c.t([2, 4]), Infinity] }),
  ], call(ops[n]))),
  ...binaryTensor.map((n) => argTarget(`ops.${n}`, 'ops', [T('a', [2, 3], { extra: () => [2] }), T('b', [2, 3], { extra: (c) => [c.t([3, 2])] })], call(ops[n]))),
  argTarget('ops.pow', 'ops', [T('x', [2, 3]), V('p', 2, BAD_NUMBERS())], call(ops.pow)),
  argTarget('ops.affine', 'ops', [T('x', [2, 3]), V('a', 2, BAD_NUMBERS()), V('b', 1, BAD_NUMBERS())], call(ops.affine)),
  argTarget('ops.mulScalar', 'ops', [T('x', [2, 3]), V('a', 2, BAD_NUMBERS())], call(ops.mulScalar)),
  argTarget('ops.addScalar', 'ops', [T('x', [2, 3]), V('b', 2, BAD_NUMBERS())], call(ops.addScalar)),
  argTarget('ops.where', 'ops', [
    T('cond', [2, 3], { extra: (c) => [c.t([4])] }),
    T('a', [2, 3], { numbers: true }),
    T('b', [2, 3], { numbers: true, extra: (c) => [c.t([5, 3])] }),
  ], call(ops.where)),
  ...(['sum', 'mean', 'max', 'min', 'variance'] as const).map((n) =>
    argTarget(`ops.${n}`, 'ops', [T('x', [2, 3]), O('options', { axes: 1, keepdims: false }, { axes: AXES, keepdims: BAD_BOOLS() })], call(ops[n]))),
  argTarget('ops.reshape', 'ops', [
    T('x', [2, 3], { anyDtype: true }),
    V('shape', [3, 2], () => [...BAD_SHAPES().filter((s) => JSON.stringify(s) !== '[-1]'), [4, 2], [-1, -1], [-2, 3], [-1, 4]]),
  ], call(ops.reshape)),
  argTarget('ops.broadcastTo', 'ops', [T('x', [1, 3], { anyDtype: true }), S('shape', [2, 3], [[2, 4], [3]])], call(ops.broadcastTo)),
  argTarget('ops.sumTo', 'ops', [T('x', [2, 3]), S('shape', [3], [[4], [2, 2, 3]])], call(ops.sumTo)),
  argTarget('ops.permute', 'ops', [T('x', [2, 3], { anyDtype: true }), V('perm', [1, 0], [[0], [0, 0], [0, 2], 'ab', null, 5, [0.5, 1]])], call(ops.permute)),
  argTarget('ops.transpose', 'ops', [T('x', [2, 3], { anyDtype: true }), V('axis0', 0, AXES.filter((a) => !Array.isArray(a)))], call(ops.transpose)),
  argTarget('ops.slice', 'ops', [
    T('x', [2, 3], { anyDtype: true }),
    V('begin', [0, 1], [[0], [-1, 0], [0, 3], null, 'ab', [0.5, 0]]),
    V('size', [2, 2], [[3, 1], [1], null, [-2, 1], [1.5, 1]]),
  ], call(ops.slice)),
  argTarget('ops.pad', 'ops', [
    T('x', [2, 3], { anyDtype: true }), // a zero fill moves i32 data as it is
    V('paddings', [[1, 0], [0, 1]], [[[1, 0]], [[-1, 0], [0, 0]], [[0.5, 0], [0, 0]], null, 'ab', [1, 2], [[1], [2]]]),
    V('value', 0, [NaN, Infinity, 'a', null]),
  ], call(ops.pad)),
  argTarget('ops.concat', 'ops', [
    F('xs', (c) => [c.t([2, 3]), c.t([1, 3])], []),
    V('axis', 0, [2, -3, 1.5, 'a', null]),
  ], call(ops.concat)),
  {
    name: 'ops.concat(xs)', area: 'ops', make(c) {
      const bads: unknown[] = [[], null, 'ab', [c.t([2, 3]), 'x'], [c.t([2, 3]), c.disposed([2, 3])], [c.t([2, 3]), c.t([2, 4])], [c.t([2, 3]), c.i32([2, 3])], { 0: c.t([2]) }];
      const xs = c.rng.pick(bads);
      return { label: `ops.concat(xs=${show(xs)})`, run: () => ops.concat(xs as Tensor[]) };
    },
  },
  argTarget('ops.matmul', 'ops', [
    T('a', [2, 3], { extra: (c) => [c.t([3]), c.t([2, 4])] }),
    T('b', [3, 4], { extra: (c) => [c.t([2, 4])] }),
    O('options', { transposeA: false, transposeB: false }, { transposeA: BAD_BOOLS(), transposeB: BAD_BOOLS() }),
  ], call(ops.matmul)),
  ...(['softmax', 'logSoftmax'] as const).map((n) => argTarget(`ops.${n}`, 'ops', [T('x', [2, 3]), V('axis', -1, [2, -3, 1.5, 'a', null, NaN])], call(ops[n]))),
  argTarget('ops.conv2d', 'ops', [
    T('x', [1, 5, 5, 4], { extra: (c) => [c.t([5, 5, 4])] }),
    T('w', [3, 3, 4, 8], { extra: (c) => [c.t([3, 3, 3, 8]), c.t([0, 3, 4, 8])] }),
    O('options', { stride: 1, padding: 'SAME', groups: 1, dilation: 1 }, {
      stride: BAD_POSINT(), padding: ['same', 5, null, [[1, 1]], [[-1, 0], [0, 0]]], groups: [0, 3, 1.5, 'a', NaN], dilation: BAD_POSINT(),
      tuning: [null, 5, 'x', { wgs: 64 }, { wg: 0 }, { wg: 1000 }, { winogradTile: 3 }],
    }),
  ], call(ops.conv2d)),
  {
    // Depthwise over more channels than the grid has workgroups per dimension (65,535 here).
    name: 'ops.conv2d(groups over the dispatch limit)', area: 'ops', make(c) {
      const groups = backend().maxWorkgroupsPerDim + 1 + c.rng.int(8);
      const x = c.t([1, 1, 1, groups]);
      const w = c.t([1, 1, 1, groups]);
      return { label: `ops.conv2d(groups=${groups})`, run: () => ops.conv2d(x, w, { groups }) };
    },
  },
  argTarget('ops.weightStandardize', 'ops', [
    T('w', [3, 3, 4, 8], { extra: (c) => [c.t([8])] }),
    T('gain', [8], { extra: (c) => [c.t([4])] }),
    O('options', { eps: 1e-4 }, { eps: [0, -1, NaN, 'a', Infinity] }),
  ], call(ops.weightStandardize)),
  argTarget('ops.activation', 'ops', [
    T('x', [2, 4]),
    O('options', { kind: 'relu' }, { kind: ['foo', 'constructor', 'toString', 5, null, 'RELU'], gamma: BAD_NUMBERS(), bias: ['x', 5, {}] }, [undefined]),
  ], call(ops.activation)),
  ...(['avgPool', 'maxPool'] as const).map((n) => argTarget(`ops.${n}`, 'ops', [
    T('x', [1, 4, 4, 2], { extra: (c) => [c.t([4, 4, 2])] }),
    O('options', { size: 2, stride: 2, padding: 'SAME' }, { size: BAD_POSINT(), stride: BAD_POSINT(), padding: ['same', 'FULL', 5, null] },
      [{ size: 5, padding: 'VALID' }, { size: [1, 6], stride: 1, padding: 'VALID' }]),
  ], call(ops[n]))),
  argTarget('ops.globalMeanPool', 'ops', [T('x', [1, 2, 2, 3], { extra: (c) => [c.t([2, 3])] })], call(ops.globalMeanPool)),
  argTarget('ops.linear', 'ops', [
    T('x', [2, 3], { extra: (c) => [c.t([2, 4])] }),
    T('w', [3, 4], { extra: (c) => [c.t([4])] }),
    T('b', [4], { optional: true, extra: (c) => [c.t([3])] }),
  ], call(ops.linear)),
  ...(['dropout', 'stochasticDepth', 'dropPath'] as const).map((n) => argTarget(`ops.${n}`, 'ops', [
    T('x', [2, 3]),
    O('options', { rate: 0.5, seed: 1 }, { rate: [-0.1, 2, NaN, 'a', null], seed: BAD_NUMBERS(), training: BAD_BOOLS() }, [undefined]),
  ], call(ops[n]))),
  argTarget('ops.layerNorm', 'ops', [
    T('x', [2, 3], { extra: (c) => [c.t([])] }),
    T('weight', [3], { extra: (c) => [c.t([2])] }),
    T('bias', [3], { extra: (c) => [c.t([3, 1])] }),
    O('options', { eps: 1e-6 }, { eps: [0, -1, ...BAD_NUMBERS()] }),
  ], call(ops.layerNorm)),
  argTarget('ops.attention', 'ops', [
    T('q', [1, 2, 3, 4], { extra: (c) => [c.t([2, 3, 4])] }),
    T('k', [1, 2, 3, 4], { extra: (c) => [c.t([1, 2, 3, 5]), c.t([1, 1, 3, 4])] }),
    T('v', [1, 2, 3, 4], { extra: (c) => [c.t([1, 2, 4, 4])] }),
    O('options', { scale: 0.5 }, { scale: BAD_NUMBERS() }),
  ], call(ops.attention)),
  argTarget('ops.patchify', 'ops', [
    T('x', [1, 4, 4, 2], { extra: (c) => [c.t([4, 4, 2]), c.t([1, 3, 4, 2])] }),
    V('patch', 2, BAD_POSINT()),
  ], call(ops.patchify)),
  argTarget('ops.softmaxCrossEntropy', 'ops', [
    T('logits', [2, 3], { extra: (c) => [c.t([6])] }),
    F('labels', (c) => c.own(tensor(new Int32Array([0, 2]), [2])), ['x', null, 3]),
    O('options', { labelSmoothing: 0.1 }, { labelSmoothing: [-0.1, 2, NaN, 'a', null] }),
  ], call(ops.softmaxCrossEntropy)),
  argTarget('ops.residual', 'ops', [
    T('x', [2, 3]),
    T('h', [2, 3], { extra: (c) => [c.t([3, 2])] }),
    T('skipGain', [1], { extra: (c) => [c.t([2])] }),
    V('alpha', 0.2, BAD_NUMBERS()),
  ], call(ops.residual)),
  argTarget('ops.batchNorm', 'ops', [
    T('x', [2, 3, 4], { extra: (c) => [c.t([4]), c.t([1, 4]), c.t([2, 3, 5])] }),
    T('weight', [4], { extra: (c) => [c.t([3]), c.t([1, 4])] }),
    T('bias', [4], { extra: (c) => [c.t([5])] }),
    T('runningMean', [4], { extra: (c) => [c.t([2])] }),
    T('runningVar', [4], { extra: (c) => [c.t([4, 1])] }),
    O('options', { training: true }, { training: [1, 'yes', null], momentum: [-0.1, 1.5, NaN, 'a', null], eps: [0, -1, NaN, Infinity, 'a'], activation: ['gelu', 'RELU', 5, null] }, [undefined, {}]),
  ], call(ops.batchNorm)),
];

// ------------------------------------------------------------------ creation

const creationGenerators: Generator[] = [
  argTarget('tensor', 'creation', [
    V('data', [1, 2, 3, 4, 5, 6], [undefined, null, 'abcdef', 5, {}, [1, 'a', 3, 4, 5, 6], [[1, 2], [3, 4], [5, 6]], [1, 2, 3]]),
    V('shape', [2, 3], () => [...BAD_SHAPES().filter((s) => s !== undefined), [4, 2]]), // undefined: 1-D, valid
    V('dtype', 'f32', ['f64', 'float32', 5, null]),
  ], call(tensor)),
  argTarget('scalar', 'creation', [V('value', 1, ['a', null, undefined, {}, [1]])], call(scalar)),
  argTarget('zeros', 'creation', [S('shape', [2, 3])], call(zeros)),
  argTarget('ones', 'creation', [S('shape', [2, 3])], call(ones)),
  argTarget('full', 'creation', [S('shape', [2, 3]), V('value', 1, ['a', null, undefined, {}])], call(full)),
  argTarget('empty', 'creation', [S('shape', [2, 3]), V('dtype', 'f32', ['f64', 'F32', 5, null])], call(empty)),
  argTarget('zerosLike', 'creation', [T('t', [2, 3], { anyDtype: true })], call(zerosLike)),
  argTarget('onesLike', 'creation', [T('t', [2, 3], { anyDtype: true })], call(onesLike)),
  argTarget('randn', 'creation', [
    S('shape', [2, 3]),
    O('options', { seed: 1, mean: 0, std: 1 }, { seed: BAD_NUMBERS(), mean: BAD_NUMBERS(), std: [-1, ...BAD_NUMBERS()], offset: [-1, 1.5, 2 ** 33, 'a'] }),
  ], call(randn)),
  argTarget('uniform', 'creation', [
    S('shape', [2, 3]),
    O('options', { seed: 1, low: 0, high: 1 }, { seed: BAD_NUMBERS(), low: [2, ...BAD_NUMBERS()], high: [-1, ...BAD_NUMBERS()] }),
  ], call(uniform)),
  argTarget('assign', 'creation', [
    T('target', [2, 3], { anyDtype: true }),
    F('source', () => new Float32Array(6), ['x', null, 5, new Float32Array(5), new Float64Array(6), new Int32Array(6), {}]),
  ], call(assign)),
  {
    name: 'assign(tensor source)', area: 'creation', make(c) {
      const target = c.t([2, 3]);
      const source = c.rng.pick([c.t([3, 3]), c.disposed([2, 3]), c.i32([2, 3])]);
      return { label: `assign(source=${show(source)})`, run: () => assign(target, source) };
    },
  },
];

// ------------------------------------------------------------------ autodiff

const autodiffGenerators: Generator[] = [
  {
    name: 'valueAndGrad', area: 'autodiff', make(c) {
      const x = c.t([2, 3]);
      const fs: [string, unknown][] = [
        ['undefined', undefined], ['"f"', 'f'], ['5', 5],
        ['async f', async (t: Tensor) => ops.sum(t)],
        ['f returning a Promise', (t: Tensor) => Promise.resolve(ops.sum(t))],
        ['f returning a string', () => 'loss'],
        ['f returning []', () => []],
        ['f returning a non-scalar', (t: Tensor) => ops.exp(t)],
        ['f returning [scalar, "aux"]', (t: Tensor) => [ops.sum(t), 'aux']],
      ];
      // f itself runs ops before its result can be judged: that GPU work is the caller's.
      const runsOps = ['f returning a Promise', 'f returning a non-scalar', 'f returning [scalar, "aux"]'];
      const args: [string, unknown][] = [['undefined', undefined], ['null', null], ['"x"', 'x'], ['disposed', c.disposed([2, 3])], ['i32', c.i32([2, 3])], ['[x, "y"]', [x, 'y']]];
      if (c.rng.int(2)) {
        const [label, f] = c.rng.pick(fs);
        return { label: `valueAndGrad(${label})`, run: () => valueAndGrad(f as (t: Tensor) => Tensor)(x), gpuWorkAllowed: runsOps.includes(label) };
      }
      const [label, arg] = c.rng.pick(args);
      return { label: `valueAndGrad(f)(${label})`, run: () => valueAndGrad((t: Tensor) => ops.sum(t))(arg as Tensor) };
    },
  },
  argTarget('grad', 'autodiff', [V('f', null, [undefined, 'f', 5, async () => 1])], (f) => grad(f as (t: Tensor) => Tensor)),
  argTarget('tidy', 'autodiff', [V('fn', null, ['f', undefined, 5, null, async () => 1])], call(tidy)),
  argTarget('noGrad', 'autodiff', [V('fn', null, ['f', undefined, 5, null])], call(noGrad)),
  argTarget('keep', 'autodiff', [V('t', null, [undefined, null, 'x', 5, {}])], call(keep)),
  {
    name: 'Tensor.view', area: 'autodiff', make(c) {
      const x = c.rng.int(4) ? c.t([2, 3]) : c.disposed([2, 3]);
      const shape = x.disposed ? [3, 2] : c.rng.pick([[4, 2], [7], [-6, -1], null, 'ab', [1.5, 4]]);
      return { label: `Tensor.view(${x.disposed ? 'disposed' : show(shape)})`, run: () => x.view(shape as number[]) };
    },
  },
];

// ------------------------------------------------------------------ runtime

const runtimeGenerators: Generator[] = [
  argTarget('init', 'runtime', [
    O('options', { verbose: false }, { powerPreference: ['fast', 5, null], fast: BAD_BOOLS(), forceSoftware: BAD_BOOLS(), maxPooledBytes: [-1, 1.5, NaN, 'a'], verbose: BAD_BOOLS() }),
  ], call(init)),
];

// ------------------------------------------------------------------ files

function sameTensors(a: Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>, b: typeof a): boolean {
  if (a.size !== b.size) return false;
  for (const [k, t] of a) {
    const u = b.get(k);
    if (!u || u.dtype !== t.dtype || u.shape.join() !== t.shape.join() || u.bytes.length !== t.bytes.length || u.bytes.some((x, i) => x !== t.bytes[i])) return false;
  }
  return true;
}

const ST_ORIGINAL = () => encodeSafetensors({
  'param/a.w': { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  'param/b': { dtype: 'F32', shape: [4], data: Float32Array.from([0.5, -1, 2, 0]) },
}, { format: 'fuzz' });

/** Header and body of a safetensors file, for targeted edits. */
export function splitSt(bytes: Uint8Array): { header: Record<string, any>; body: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), body: bytes.subarray(8 + n) };
}

export function joinSt(header: unknown, body: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const head = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + body.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(head.length), true);
  out.set(head, 8);
  out.set(body, 8 + head.length);
  return out;
}

export type Mutation = [string, (f: Uint8Array, c: FuzzContext) => Uint8Array];
/** Mutations of a safetensors file holding tensors `a` (rank 2, F32) and `b` (rank 1, F32). */
export function stMutationsFor(a: string, b: string): Mutation[] {
  return [
  ['header length −1', (f) => { const g = f.slice(); new DataView(g.buffer).setBigInt64(0, -1n, true); return g; }],
  ['header length one less', (f) => { const g = f.slice(); const v = new DataView(g.buffer); v.setBigUint64(0, v.getBigUint64(0, true) - 1n, true); return g; }],
  ['header length one more', (f) => { const g = f.slice(); const v = new DataView(g.buffer); v.setBigUint64(0, v.getBigUint64(0, true) + 1n, true); return g; }],
  ['header length 2^40', (f) => { const g = f.slice(); new DataView(g.buffer).setBigUint64(0, 2n ** 40n, true); return g; }],
  ['null header', (f) => joinSt('null', splitSt(f).body)],
  ['array header', (f) => joinSt('[1,2]', splitSt(f).body)],
  ['header not JSON', (f) => joinSt('{"a":', splitSt(f).body)],
  ['tensor entry null', (f) => { const { header, body } = splitSt(f); header[b] = null; return joinSt(header, body); }],
  ['dtype I32 for a float parameter', (f) => { const { header, body } = splitSt(f); header[a].dtype = 'I32'; return joinSt(header, body); }],
  ['dtype F8', (f) => { const { header, body } = splitSt(f); header[a].dtype = 'F8'; return joinSt(header, body); }],
  ['dtype "__proto__"', (f) => { const { header, body } = splitSt(f); header[a].dtype = '__proto__'; return joinSt(header, body); }],
  ['shape with -1', (f) => { const { header, body } = splitSt(f); header[b].shape = [-1, -4]; return joinSt(header, body); }],
  ['shape "4"', (f) => { const { header, body } = splitSt(f); header[b].shape = '4'; return joinSt(header, body); }],
  ['offsets overlapping', (f) => { const { header, body } = splitSt(f); header[b].data_offsets = [0, 16]; return joinSt(header, body); }],
  ['offsets reversed', (f) => { const { header, body } = splitSt(f); const [lo, hi] = header[b].data_offsets; header[b].data_offsets = [hi, lo]; return joinSt(header, body); }],
  ['offsets beyond the file', (f) => { const { header, body } = splitSt(f); header[b].data_offsets = [1000, 1016]; return joinSt(header, body); }],
  ['offsets missing', (f) => { const { header, body } = splitSt(f); delete header[b].data_offsets; return joinSt(header, body); }],
  ['metadata not strings', (f) => { const { header, body } = splitSt(f); header.__metadata__ = { format: 5 }; return joinSt(header, body); }],
  ['metadata null', (f) => { const { header, body } = splitSt(f); header.__metadata__ = null; return joinSt(header, body); }],
  ['trailing garbage', (f) => { const g = new Uint8Array(f.length + 7); g.set(f); g.fill(0xab, f.length); return g; }],
  ['truncated by 1', (f) => f.slice(0, f.length - 1)],
  ['truncated to 5 bytes', (f) => f.slice(0, 5)],
  ['bit flip in the data', (f, c) => { const g = f.slice(); const { body } = splitSt(f); const at = g.length - body.length + c.rng.int(body.length); g[at] ^= 1 << c.rng.int(8); return g; }],
  ['bit flip anywhere', (f, c) => { const g = f.slice(); const at = 8 + c.rng.int(g.length - 8); g[at] ^= 1 << c.rng.int(8); return g; }],
  ];
}
export const stMutations: Mutation[] = stMutationsFor('param/a.w', 'param/b');

const fileGenerators: Generator[] = [
  {
    name: 'decodeSafetensors(mutated)', area: 'io', make(c): Call {
      const original = ST_ORIGINAL();
      const [label, mutate] = c.rng.pick(stMutations);
      const bytes = mutate(original, c);
      const reference = decodeSafetensors(original, 'fuzz').tensors;
      return {
        label: `decodeSafetensors(${label})`,
        // What a loader does: decode, then convert every tensor to parameter values.
        run: () => {
          const { tensors } = decodeSafetensors(bytes, 'fuzz');
          for (const t of tensors.values()) toFloat32(t);
          return tensors;
        },
        benign: (r) => sameTensors(r as typeof reference, reference),
      };
    },
  },
  argTarget('decodeSafetensors', 'io', [V('file', null, [null, undefined, 'abc', [1, 2, 3], new Float32Array(4), {}])], (f) => decodeSafetensors(f as Uint8Array)),
  {
    name: 'data.idxImageSet(mutated)', area: 'data', make(c): Call {
      const [n, h, w] = [3, 2, 2];
      const images = new Uint8Array([0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, h, 0, 0, 0, w, ...Array.from({ length: n * h * w }, (_, i) => i * 7)]);
      const labels = new Uint8Array([0, 0, 8, 1, 0, 0, 0, n, 1, 9, 4]);
      const mutations: [string, () => [Uint8Array, Uint8Array]][] = [
        ['label 200 of 10 classes', () => { const l = labels.slice(); l[8 + c.rng.int(n)] = 10 + c.rng.int(246); return [images, l]; }],
        ['image magic type 0x0d', () => { const g = images.slice(); g[2] = 0x0d; return [g, labels]; }],
        ['image magic nonzero', () => { const g = images.slice(); g[c.rng.int(2)] = 1 + c.rng.int(255); return [g, labels]; }],
        ['image rank 9', () => { const g = images.slice(); g[3] = 9; return [g, labels]; }],
        ['image rank 0', () => { const g = images.slice(); g[3] = 0; return [g, labels]; }],
        ['label rank 2', () => { const l = labels.slice(); l[3] = 2; return [images, l]; }],
        ['image dim changed', () => { const g = images.slice(); g[7 + 4 * c.rng.int(3)]! += 1 + c.rng.int(5); return [g, labels]; }],
        ['label count changed', () => { const l = labels.slice(); l[7] = n + 1; return [images, l]; }],
        ['images truncated', () => [images.slice(0, images.length - 1 - c.rng.int(images.length - 1)), labels]],
        ['labels truncated', () => [images, labels.slice(0, labels.length - 1 - c.rng.int(labels.length - 1))]],
        ['images with trailing bytes', () => [new Uint8Array([...images, 1, 2, 3]), labels]],
        ['labels not bytes', () => ['abc' as unknown as Uint8Array, labels]],
      ];
      const [label, make] = c.rng.pick(mutations);
      const [img, lab] = make();
      return { label: `idxImageSet(${label})`, run: () => data.idxImageSet(img, lab, data.FASHION_MNIST_CLASSES) };
    },
  },
  {
    name: 'data.parseCifar10(mutated)', area: 'data', make(c): Call {
      const record = new Uint8Array(3073);
      const bads: [string, Uint8Array][] = [
        ['label 10', (() => { const r = record.slice(); r[0] = 10 + c.rng.int(246); return r; })()],
        ['truncated', record.slice(0, 3000)],
        ['empty', new Uint8Array(0)],
      ];
      const [label, bytes] = c.rng.pick(bads);
      return { label: `parseCifar10(${label})`, run: () => data.parseCifar10(bytes) };
    },
  },
];

// ------------------------------------------------------------------ data loader

function smallSet(labels = [0, 1, 2, 1], h = 4): data.ImageSet {
  const [w, ch] = [4, 1];
  return {
    images: Uint8Array.from({ length: labels.length * h * w * ch }, (_, i) => (i * 37) % 256),
    labels: Int32Array.from(labels), count: labels.length, height: h, width: w, channels: ch, classes: 3,
  };
}

const loaderGenerators: Generator[] = [
  argTarget('data.DataLoader', 'data', [
    F('set', () => smallSet(), [null, 'set', { ...smallSet(), labels: Int32Array.from([0, 1, 200, 1]) }, { ...smallSet(), count: 7 }, { ...smallSet(), images: new Uint8Array(5) }]),
    O('options', { batchSize: 2, shuffle: true, seed: 1 }, {
      batchSize: [0, -1, 1.5, NaN, '4', null],
      shuffle: BAD_BOOLS(), flip: BAD_BOOLS(), keepLast: BAD_BOOLS(),
      seed: [NaN, -1, 'a', Infinity, 1.5],
      cropPadding: [1.5, -1, NaN, 'a', Infinity],
      cropSize: [0, 1.5, 100, NaN, 'a'],
      mean: [[0.5, 0.5], [NaN], 'a', 5],
      std: [[0], [-1], [NaN], [0.1, 0.1], 'a'],
    }, [{ batchSize: 2, std: [0.5] }]),
  ], (set, options) => {
    // Constructing and drawing one batch: where a bad option used to surface, if at all.
    const loader = new data.DataLoader(set as data.ImageSet, options as data.LoaderOptions);
    const first = loader.epoch().next().value;
    if (first && !first.images.every(Number.isFinite)) throw new Error('non-finite pixels in the first batch');
    return loader;
  }),
  argTarget('data.channelStats', 'data', [F('set', () => smallSet(), [null, 'x', {}, { ...smallSet(), images: new Uint8Array(3) }])], call(data.channelStats)),
  argTarget('data.concatSets', 'data', [
    F('sets', () => [smallSet(), smallSet()], [null, 'x', [], [smallSet(), null], [smallSet(), smallSet([0], 2)], [smallSet(), { ...smallSet(), labels: Int32Array.from([0, 1, 7, 1]) }]]),
  ], call(data.concatSets)),
  argTarget('DataLoader.epoch', 'data', [V('from', 0, [-1, 1.5, NaN, 'a', null])], (from) => {
    const loader = new data.DataLoader(smallSet(), { batchSize: 2 });
    return [...loader.epoch(from as number)].length;
  }),
  argTarget('readFashionMnist', 'data', [
    V('split', 'test', ['val', 5, null, 'TEST']),
    V('dir', DEBIAN_FASHION_MNIST, [5, null, {}, '/nonexistent/fashion-mnist']),
  ], (split, dir) => readFashionMnist(split as 'test', dir as string)),
  argTarget('readCifar10', 'data', [
    V('split', 'test', ['val', 5, null]),
    V('dir', '/nonexistent/cifar', [5, null, {}]),
  ], (split, dir) => readCifar10(split as 'test', dir as string)),
  argTarget('data.take', 'data', [F('set', () => smallSet(), [null, 'x', {}, { ...smallSet(), labels: [0, 1] }]), V('n', 2, [-1, 1.5, NaN, 'a', null])], call(data.take)),
];

export const GENERATORS: readonly Generator[] = [...opGenerators, ...creationGenerators, ...autodiffGenerators, ...runtimeGenerators, ...fileGenerators, ...loaderGenerators];
