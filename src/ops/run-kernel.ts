/**
 * `runKernel`: dispatch a kernel of your own (from `defineKernel`) on tensors, the public
 * counterpart of what every op does inside. The tensors are checked against the bindings
 * the kernel's WGSL declares before anything is allocated or recorded (docs/kernels.md).
 */
import { Tensor } from '../tensor/tensor.js';
import { empty } from '../tensor/creation.js';
import type { Kernel, Params } from '../runtime/kernel.js';
import { DTypeError, KernelError, ValueError, describeShape } from '../runtime/errors.js';
import { backend } from './util.js';

export interface RunKernelSpec<Out extends string = string> {
  /** The tensors the kernel reads, by the names of its `read` storage bindings. */
  inputs?: Record<string, Tensor>;
  /**
   * Its `read_write` bindings: a shape allocates a new f32 tensor (uninitialised: the kernel
   * must write every element), a tensor is written in place.
   */
  outputs: Record<Out, readonly number[] | Tensor>;
  /** The `params` uniform, by field name (packed from the reflected layout). */
  params?: Params;
  /** `override` constants; each distinct set is one cached pipeline. */
  overrides?: Record<string, number>;
  /** Workgroup counts: a linear count above 65535 is folded into y (use `flat_workgroup`). */
  workgroups: number | readonly [number, number, number?];
}

function checkBindings(kernel: Kernel, spec: RunKernelSpec): void {
  const where = `runKernel ${kernel.name}`;
  const storage = kernel.bindings.filter((b) => b.access !== 'uniform');
  const given = { read: spec.inputs ?? {}, read_write: spec.outputs ?? {} } as const;
  for (const [side, list] of [['inputs', given.read], ['outputs', given.read_write]] as const) {
    for (const name of Object.keys(list)) {
      const b = storage.find((s) => s.name === name);
      if (!b) throw new KernelError(`${where}: ${side}.${name} is not a binding of the kernel (it has ${[...storage].sort((p, q) => p.binding - q.binding).map((s) => `${s.name} (${s.access})`).join(', ')})`);
      if ((b.access === 'read') !== (side === 'inputs')) {
        throw new KernelError(`${where}: '${name}' is ${b.access} in the WGSL, so it belongs in ${b.access === 'read' ? 'inputs' : 'outputs'}, not ${side}`);
      }
    }
  }
  for (const b of storage) {
    const v = given[b.access as 'read' | 'read_write'][b.name];
    if (v === undefined) throw new KernelError(`${where}: binding '${b.name}' (${b.access}) was not given in ${b.access === 'read' ? 'inputs' : 'outputs'}`);
    const isTensor = v instanceof Tensor;
    if (b.access === 'read' && !isTensor) throw new ValueError(`${where}: inputs.${b.name} must be a Tensor, got ${String(v)}`);
    if (!isTensor && !(Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0))) {
      throw new ValueError(`${where}: outputs.${b.name} must be a Tensor or a shape of non-negative integers, got ${JSON.stringify(v)}`);
    }
    const dtype = isTensor ? v.dtype : 'f32';
    if (b.element && dtype !== b.element) {
      throw new DTypeError(`${where}: '${b.name}' is an array of ${b.element} in the WGSL, got a ${dtype} ${isTensor ? 'tensor ' + describeShape(v.shape) : 'output'}`);
    }
  }
}

function checkWorkgroups(kernel: Kernel, w: RunKernelSpec['workgroups']): void {
  const counts = typeof w === 'number' ? [w] : [...w].filter((d) => d !== undefined);
  if (!counts.length || counts.length > 3 || !counts.every((d) => Number.isInteger(d) && d! >= 0)) {
    throw new ValueError(`runKernel ${kernel.name}: workgroups must be a non-negative integer or [x, y, z?] of them, got ${JSON.stringify(w)}`);
  }
}

/**
 * Dispatch `kernel` once on tensors and return its outputs (new ones for the outputs given
 * as shapes, the same tensors for those given as tensors). Recorded like any op, nothing is
 * read back. The outputs have no gradient: to differentiate through a kernel, wrap it in
 * `defineOp` with a backward rule (docs/kernels.md).
 *
 *   const { out } = runKernel(SCALED_ADD, { inputs: { x, y }, outputs: { out: x.shape }, params: { n: x.size, alpha: 0.5 }, workgroups: 1 });
 */
export function runKernel<Out extends string>(kernel: Kernel, spec: RunKernelSpec<Out>): Record<Out, Tensor> {
  checkBindings(kernel, spec);
  checkWorkgroups(kernel, spec.workgroups);
  for (const k of Object.keys(spec.overrides ?? {})) {
    if (!kernel.overrides.has(k)) throw new KernelError(`runKernel ${kernel.name}: the kernel declares no override '${k}'`);
  }
  if (kernel.paramsSize || spec.params) kernel.packParams(spec.params ?? {}); // a wrong or missing field throws here, before any allocation
  const outputs = {} as Record<Out, Tensor>;
  const created: Tensor[] = [];
  for (const [name, v] of Object.entries(spec.outputs) as [Out, readonly number[] | Tensor][]) {
    outputs[name] = v instanceof Tensor ? v : empty(v);
    if (!(v instanceof Tensor)) created.push(outputs[name]);
  }
  const w = spec.workgroups;
  if (typeof w === 'number' ? w === 0 : w.includes(0)) return outputs; // nothing to run (the backend would round 0 up to 1)
  try {
    backend().dispatch({
      kernel,
      bindings: { ...spec.inputs, ...outputs },
      ...(spec.params ? { params: spec.params } : {}),
      ...(spec.overrides ? { overrides: spec.overrides } : {}),
      workgroups: typeof w === 'number' ? w : [w[0], w[1], w[2]],
    });
  } catch (e) {
    for (const t of created) t.dispose(); // e.g. one tensor bound as an input and an output
    throw e;
  }
  return outputs;
}
