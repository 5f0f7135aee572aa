/**
 * The kernel lab (see docs/kernels.md): `registerLabOp` in src/lab/kernels.ts, then
 * test/lab.test.ts checks every registration and bench/cases/lab.ts benchmarks it.
 * Importing this module loads every registration.
 */
import './kernels.js';

export { registerLabOp, labOps, gradientInputs, benchLabel, benchBytes, benchFlops, type LabOp, type LabInput, type LabBench } from './registry.js';
export { arr, size, map, elementwise, total, type Arr } from './reference.js';
