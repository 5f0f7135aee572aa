/**
 * The kernel lab (see docs/kernels.md): `registerLabOp` in lab/kernels.ts, then
 * test/lab.test.ts checks every registration and bench/cases/lab.ts benchmarks it.
 * Importing this module loads every registration.
 *
 * It sits beside bench/ and test/, not in src/: it is this repository's workbench (a test
 * and bench rows), not part of the published package, and it uses only the package's
 * public API (`defineKernel`, `runKernel`, `defineOp`, `ops`), as a kernel hacker would.
 */
import './kernels.js';

export { registerLabOp, labOps, gradientInputs, benchLabel, benchBytes, benchFlops, type LabOp, type LabInput, type LabBench } from './registry.js';
export { arr, size, map, elementwise, total, type Arr } from './reference.js';
