/** Square matmul rows: C = A·B, 2·n³ FLOP, 12·n² bytes (A, B read once, C written once). */
// Direct module imports (not src/index.js) keep a row runnable while unrelated ops are mid-edit.
import { randn } from '../../src/tensor/creation.js';
import { matmul, type MatmulOptions } from '../../src/ops/matmul.js';
import { oursRunner, register, withCpuReference, type BenchCase } from '../registry.js';
import { tfjsRunner } from '../peers/tfjs.js';

function square(n: number, reps: number, peerReps: number, fullOnly = false, opts: MatmulOptions = {}): BenchCase {
  const tag = opts.transposeA ? 'Aᵀ·B' : opts.transposeB ? 'A·Bᵀ' : '';
  return {
    name: `matmul/${n}${tag ? `/${tag}` : ''}`,
    flops: 2 * n ** 3,
    bytes: 12 * n * n,
    reps,
    peerReps,
    fullReps: reps * 2,
    fullOnly,
    async ours({ gpu }) {
      const a = randn([n, n], { seed: 1 });
      const b = randn([n, n], { seed: 2 });
      return oursRunner(gpu, () => matmul(a, b, opts).dispose(), () => {
        a.dispose();
        b.dispose();
      });
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
      const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
      return tfjsRunner(tfjs, () => tf.matMul(a, b, opts.transposeA, opts.transposeB), () => {
        a.dispose();
        b.dispose();
      });
    },
  };
}

register(
  ...withCpuReference('quick', square(256, 5, 3)),
  // 1024: one timed TF.js call (7.5 s each) and no quick-mode `ours fast` pass keep the
  // quick run under 5 minutes; --full does both.
  ...withCpuReference('full', square(512, 3, 2), { ...square(1024, 4, 1), heavy: true }),
  // The backward's shapes (dA = dC·Bᵀ, dB = Aᵀ·dC) take other load paths of the GEMM core.
  square(512, 2, 1, false, { transposeB: true }),
  square(512, 2, 1, false, { transposeA: true }),
  square(2048, 2, 1, true),
);
