/**
 * The kernel lab: one `registerLabOp({...})` gives a kernel a forward check against a
 * float64 reference and a central-difference gradient check (test/lab.test.ts) plus one
 * bench row per shape (bench/cases/lab.ts). The registry is a plain module-level list;
 * registrations live in lab/kernels.ts. See docs/kernels.md.
 */
import { ShapeError, ValueError, type Tensor } from '../src/index.js';
import { size, type Arr } from './reference.js';

/** One input of the test case: random uniform values in [lo, hi) (default [-1, 1)). */
export interface LabInput {
  shape: number[];
  lo?: number;
  hi?: number;
}

export interface LabBench {
  /** One bench row per entry: the shapes of all inputs, in order. */
  shapes: number[][][];
  /** Floating-point operations of one call (a multiply-add counts 2). Default 0 (memory-bound). */
  flops?: (shapes: number[][]) => number;
  /**
   * Minimum DRAM bytes of one call. Default: every input read once plus one output as
   * large as the largest input, all f32.
   */
  bytes?: (shapes: number[][]) => number;
  /** Row label after `lab/<name>/`. Default: the first input's shape, e.g. `8x32x32x256`. */
  label?: (shapes: number[][]) => string;
  /** Timed repetitions after warm-up (default 5; --reps overrides). */
  reps?: number;
}

export interface LabOp {
  /** Unique; test title `lab/<name>`, bench rows `lab/<name>/<label>`. */
  name: string;
  /** The kernel under test, on GPU tensors (what you would call from model code). */
  op: (...xs: Tensor[]) => Tensor;
  /** The same function in float64 on the CPU, written independently of the kernel. */
  reference: (...xs: Arr[]) => Arr;
  /** The inputs of the correctness test. */
  inputs: LabInput[];
  /**
   * Which inputs get a gradient check: true (default) = all, false = none (forward only),
   * or a list of input indices.
   */
  gradient?: boolean | number[];
  tolerance?: {
    /** Max |got − want| / max(|want|, 1e-3) of the forward (default 1e-5). */
    forward?: number;
    /** Same measure for the gradients (default 1e-4). */
    gradient?: number;
    /** Central-difference step, float64 (default 1e-6). */
    step?: number;
  };
  /**
   * Optional: the same computation built from existing ops (the thing the kernel
   * replaces). Its forward is checked against the reference too, and it gets a
   * `lab/<name>/<label>/baseline` bench row next to each row of the kernel.
   */
  baseline?: (...xs: Tensor[]) => Tensor;
  bench?: LabBench;
}

const labOpList: LabOp[] = [];

/** Add a kernel to the lab. Throws when the name is taken or the spec is inconsistent. */
export function registerLabOp(spec: LabOp): LabOp {
  if (!/^[\w.-]+$/.test(spec.name)) throw new ValueError(`registerLabOp: name '${spec.name}' must be letters, digits, _ . - only`);
  if (labOpList.some((o) => o.name === spec.name)) throw new ValueError(`registerLabOp: '${spec.name}' is registered twice`);
  const n = spec.inputs.length;
  if (Array.isArray(spec.gradient)) {
    const bad = spec.gradient.filter((i) => !Number.isInteger(i) || i < 0 || i >= n);
    if (bad.length) throw new ValueError(`registerLabOp '${spec.name}': gradient indices ${bad.join(', ')} out of range for ${n} inputs`);
  }
  for (const shapes of spec.bench?.shapes ?? []) {
    if (shapes.length !== n) throw new ShapeError(`registerLabOp '${spec.name}': a bench entry gives ${shapes.length} shapes for ${n} inputs`);
  }
  labOpList.push(spec);
  return spec;
}

export function labOps(): readonly LabOp[] {
  return labOpList;
}

/** The indices of the inputs whose gradients are checked. */
export function gradientInputs(op: LabOp): number[] {
  const g = op.gradient ?? true;
  if (Array.isArray(g)) return [...g];
  return g ? op.inputs.map((_, i) => i) : [];
}

/** Bench row label of one entry of `bench.shapes`. */
export function benchLabel(op: LabOp, shapes: number[][]): string {
  return op.bench?.label?.(shapes) ?? (shapes[0]!.length ? shapes[0]!.join('x') : 'scalar');
}

export function benchBytes(op: LabOp, shapes: number[][]): number {
  if (op.bench?.bytes) return op.bench.bytes(shapes);
  const sizes = shapes.map((s) => size(s));
  return 4 * (sizes.reduce((a, b) => a + b, 0) + Math.max(...sizes));
}

export function benchFlops(op: LabOp, shapes: number[][]): number {
  return op.bench?.flops?.(shapes) ?? 0;
}
