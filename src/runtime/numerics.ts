/**
 * The opt-in numerics check (`init({ checkNumerics: true })`): after every op, one pass over
 * its f32 output records, on the GPU, the first op (in recording order) whose output held a
 * NaN or ±∞; the next readback or sync reads that one word and throws a NumericsError
 * naming the op, its output and its inputs. Costs a dispatch per op and a second small
 * readback per readback: a debugging mode, off by default.
 */
import { defineKernel } from './kernel.js';
import { NumericsError } from './errors.js';
import type { Backend } from './backend.js';
import numericsWgsl from '../../shaders/numerics.wgsl';

const CHECK = defineKernel('numerics', numericsWgsl, 'check_output');
const WG = 256;
/** first_bad when no checked output was non-finite. */
const NONE = 0xffffffff;

/** What the check needs of a tensor (runtime code knows no Tensor class). */
export interface CheckedTensor {
  readonly binding: GPUBufferBinding;
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly size: number;
}

interface Checked {
  op: string;
  output: string;
  inputs: string;
}

const describe = (t: CheckedTensor) => `#${t.id} [${t.shape.join(', ')}] ${t.dtype}`;

export class NumericsCheck {
  private readonly firstBad: GPUBuffer;
  private checked: Checked[] = [];
  private verifying = false;

  constructor(private readonly backend: Backend) {
    this.firstBad = backend.pool.acquire(16);
    this.reset();
  }

  private reset(): void {
    this.backend.upload(this.firstBad, new Uint32Array([NONE, 0, 0, 0]));
    this.checked = [];
  }

  /** Check an op's output (f32 only: integer tensors cannot hold NaN). */
  note(op: string, out: CheckedTensor, inputs: readonly CheckedTensor[]): void {
    if (out.dtype !== 'f32' || !out.size) return;
    const index = this.checked.length;
    this.checked.push({ op, output: describe(out), inputs: inputs.map(describe).join(', ') });
    this.backend.dispatch({
      kernel: CHECK,
      bindings: { values: out, first_bad: this.firstBad },
      params: { length: out.size, op_index: index },
      overrides: { WG },
      workgroups: Math.ceil(out.size / WG),
    });
  }

  /** Throw NumericsError naming the first op whose output was not finite since the last verification. */
  async verify(): Promise<void> {
    if (this.verifying || !this.checked.length) return;
    this.verifying = true;
    let first: number;
    try {
      first = new Uint32Array(await this.backend.read(this.firstBad, 4))[0]!;
    } finally {
      this.verifying = false;
    }
    const bad = first === NONE ? null : this.checked[first];
    this.reset();
    if (bad) {
      throw new NumericsError(
        `op '${bad.op}' produced the first non-finite value (NaN or ±∞) among the ${first + 1} ops checked: its output ${bad.output}, from inputs ${bad.inputs || 'none'}`,
      );
    }
  }

  dispose(): void {
    this.backend.pool.release(this.firstBad);
  }
}
