/**
 * Kernel-lab rows: every `registerLabOp` (lab/kernels.ts) with a `bench` gets one row
 * per entry of `bench.shapes`, named `lab/<name>/<label>`, plus `…/baseline` when the
 * registration has a baseline. Ours only (no peer). Run: npm run bench -- --filter lab/
 */
import { uniform } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { tidy } from '../../src/tensor/scope.js';
import { labOps, benchBytes, benchFlops, benchLabel, type LabOp } from '../../lab/index.js';
import { oursRunner, register, type BenchCase } from '../registry.js';

function labCase(op: LabOp, shapes: number[][], which: 'kernel' | 'baseline'): BenchCase {
  const fn = which === 'kernel' ? op.op : op.baseline!;
  return {
    name: `lab/${op.name}/${benchLabel(op, shapes)}${which === 'baseline' ? '/baseline' : ''}`,
    flops: benchFlops(op, shapes),
    bytes: benchBytes(op, shapes),
    ...(op.bench?.reps ? { reps: op.bench.reps } : {}),
    async ours({ gpu }) {
      const xs: Tensor[] = shapes.map((s, i) => uniform(s, { seed: 1 + i, low: op.inputs[i]?.lo ?? -1, high: op.inputs[i]?.hi ?? 1 }));
      // tidy: a baseline composes several ops, whose intermediates must go back to the pool.
      return oursRunner(gpu, () => tidy(() => fn(...xs)).dispose(), () => xs.forEach((x) => x.dispose()));
    },
  };
}

for (const op of labOps()) {
  for (const shapes of op.bench?.shapes ?? []) {
    register(labCase(op, shapes, 'kernel'));
    if (op.baseline) register(labCase(op, shapes, 'baseline'));
  }
}
