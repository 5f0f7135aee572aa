/** Page entry of the shared cases (bundled by test/browser/bundle.ts) and the Node import. */
export { opCases } from './op-cases.js';
export { runCase, runCases, referenceResult, maxRelErr, makeInput, cotangent } from './run.js';
export type { OpCase, CaseResult, InputSpec, Lib } from './types.js';
