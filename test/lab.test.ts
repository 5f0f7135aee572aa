/**
 * The kernel lab: every `registerLabOp` (lab/kernels.ts) is checked here — forward
 * against its float64 reference, gradients against central differences of that reference
 * (test/harness.ts checkOp), and its optional baseline's forward too.
 *
 *   nice npx vitest run test/lab.test.ts
 */
import { describe, expect, it } from 'vitest';
import { labOps, gradientInputs, registerLabOp, elementwise, type LabOp } from '../lab/index.js';
import { ops, scalar, tensor, ShapeError, ValueError, DTypeError, zeros } from '../src/index.js';
import { checkOp, expectClose, gradsOf, opTest, randArr, toTensor } from './harness.js';
import { arr } from './ref.js';
import { useGpu } from './setup.js';

useGpu();

/** Deterministic inputs of a lab registration (seed per input index). */
function labInputs(k: LabOp) {
  return k.inputs.map((s, i) => randArr(s.shape, 1000 + i, s.lo ?? -1, s.hi ?? 1));
}

async function checkLabOp(k: LabOp): Promise<void> {
  const inputs = labInputs(k);
  await checkOp({
    gpu: k.op,
    ref: k.reference,
    inputs,
    wrt: gradientInputs(k),
    fwdTol: k.tolerance?.forward,
    gradTol: k.tolerance?.gradient,
    h: k.tolerance?.step,
  });
  if (k.baseline) await checkOp({ gpu: k.baseline, ref: k.reference, inputs, wrt: [], fwdTol: k.tolerance?.forward });
}

describe('kernel lab', () => {
  it('has registrations', () => expect(labOps().length).toBeGreaterThan(0));
  for (const k of labOps()) {
    it(`lab/${k.name}: forward vs float64 reference, gradients of inputs [${gradientInputs(k).join(', ')}] vs central differences`, () => checkLabOp(k));
  }
});

// The lab's example kernel, as a public op (ops.definitions): edge cases the generic check does not cover.
describe('residual (fused x + α·skipGain·h)', () => {
  const ref = (x: number[], h: number[], g: number, a: number) => x.map((v, i) => v + a * g * h[i]!);

  opTest('residual', 'scalar path (257 elements: not divisible by 4, one past a workgroup), skipGain of shape [1], negative alpha', () =>
    checkOp({
      gpu: (x, h, g) => ops.residual(x, h, g, -0.7),
      ref: (x, h, g) => ({ shape: x.shape, data: x.data.map((v, i) => v - 0.7 * g.data[0]! * h.data[i]!) }),
      inputs: [randArr([257], 1), randArr([257], 2), randArr([1], 3)],
    }));

  opTest('residual', 'skipGain = 0 (initialisation): out = x, dh = 0, dgain = α·Σ dy·h ≠ 0', async () => {
    const x = randArr([3, 4], 4);
    const h = randArr([3, 4], 5);
    const g = arr([], [0]);
    const y = await ops.residual(toTensor(x), toTensor(h), toTensor(g), 0.2).data();
    expectClose(y, ref([...x.data], [...h.data], 0, 0.2), 1e-6, 'forward (exactly x up to f32 rounding)');
    const [dx, dh, dg] = await gradsOf((a, b, c) => ops.residual(a, b, c, 0.2), [x, h, g]);
    expect(Array.from(dx!)).toEqual(new Array(12).fill(1));
    expect(Array.from(dh!)).toEqual(new Array(12).fill(0));
    const want = 0.2 * h.data.reduce((s, v) => s + v, 0);
    expect(dg![0]).toBeCloseTo(want, 5);
  });

  opTest('residual', 'empty tensors and mismatched shapes, gain sizes, dtypes and alpha are rejected before GPU work', async () => {
    const e = ops.residual(zeros([0, 3]), zeros([0, 3]), scalar(1), 0.2);
    expect(e.shape).toEqual([0, 3]);
    const x = tensor(new Float32Array(6), [2, 3]);
    expect(() => ops.residual(x, tensor(new Float32Array(6), [3, 2]), scalar(1), 0.2)).toThrow(ShapeError);
    expect(() => ops.residual(x, x, tensor(new Float32Array(2), [2]), 0.2)).toThrow(ShapeError);
    expect(() => ops.residual(x, x, scalar(1), Number.NaN)).toThrow(ValueError);
    expect(() => ops.residual(x, tensor(new Int32Array(6), [2, 3]), scalar(1), 0.2)).toThrow(DTypeError);
  });

  it('a bad registration is a typed error and registers nothing', () => {
    const first = labOps()[0]!;
    const count = labOps().length;
    expect(() => registerLabOp({ ...first })).toThrow(ValueError); // the name is taken
    expect(() => registerLabOp({ ...first, name: 'bad name!' })).toThrow(ValueError);
    expect(() => registerLabOp({ ...first, name: 'lab-test-grad', gradient: [first.inputs.length] })).toThrow(ValueError);
    expect(() => registerLabOp({ ...first, name: 'lab-test-bench', bench: { shapes: [[]] } as LabOp['bench'] })).toThrow(ShapeError);
    expect(labOps().length).toBe(count);
    expect(() => elementwise([arr([2], [1, 2]), arr([3], [1, 2, 3])], (a, b) => a! + b!)).toThrow(ShapeError);
  });
});
