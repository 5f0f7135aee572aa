/**
 * Kernel-lab registrations: one `registerLabOp` per kernel. Each one becomes a test
 * (`nice npx vitest run test/lab.test.ts`) and bench rows (`npm run bench -- --filter lab/`).
 */
import { registerLabOp } from './registry.js';
import { elementwise, size } from './reference.js';
import { ops } from '../src/index.js';

const ALPHA = 0.2; // the NFNet residual scale α

// NF block tail: out = shortcut + α · skip_gain · branch, fused into one kernel.
registerLabOp({
  name: 'residual',
  op: (x, h, gain) => ops.residual(x!, h!, gain!, ALPHA),
  reference: (x, h, gain) => elementwise([x, h, gain], (xv, hv, g) => xv + ALPHA * g * hv),
  // 2·5·5·24 = 1200 elements = 300 vec4s: two workgroups of 256, the last one partial
  // (test/lab.test.ts covers the scalar path, for sizes not divisible by 4).
  inputs: [{ shape: [2, 5, 5, 24] }, { shape: [2, 5, 5, 24] }, { shape: [], lo: 0.5, hi: 2 }],
  // What it replaced in NFBlock (src/nfnet/model.ts now calls ops.residual): three dispatches.
  baseline: (x, h, gain) => ops.add(ops.mul(h!, ops.mulScalar(gain!, ALPHA)), x!),
  bench: {
    // NFNet-F0 at 192 px, batch 8: block outputs of stage 1 (48×48×256) and stage 2 (24×24×512).
    shapes: [
      [[8, 48, 48, 256], [8, 48, 48, 256], []],
      [[8, 24, 24, 512], [8, 24, 24, 512], []],
    ],
    flops: ([x]) => 2 * size(x!),
    bytes: ([x]) => 12 * size(x!) + 4,
    reps: 5,
  },
});
