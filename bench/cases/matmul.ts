/**
 * Square matmul rows: C = A·B, 2·n³ FLOP, 12·n² bytes (A, B read once, C written once).
 * Every engine multiplies the same seeded host matrices; the plain (untransposed) rows also
 * run on @jax-js/jax, and each peer's C is checked against ours before timing.
 */
// Direct module imports (not src/index.js) keep a row runnable while unrelated ops are mid-edit.
import { tensor } from '../../src/tensor/creation.js';
import { matmul, type MatmulOptions } from '../../src/ops/matmul.js';
import { oursRunner, register, withCpuReference, type BenchCase } from '../registry.js';
import { tfjsRunner } from '../peers/tfjs.js';
import { jaxArray, jaxRunner } from '../peers/jax.js';
import { hostRandn } from '../peers/layout.js';

function square(n: number, reps: number, peerReps: number, fullOnly = false, opts: MatmulOptions = {}): BenchCase {
  const tag = opts.transposeA ? 'Aᵀ·B' : opts.transposeB ? 'A·Bᵀ' : '';
  const aData = hostRandn(n * n, 1);
  const bData = hostRandn(n * n, 2);
  return {
    name: `matmul/${n}${tag ? `/${tag}` : ''}`,
    flops: 2 * n ** 3,
    bytes: 12 * n * n,
    reps,
    peerReps,
    fullReps: reps * 2,
    fullOnly,
    async ours({ gpu }) {
      const a = tensor(aData, [n, n]);
      const b = tensor(bData, [n, n]);
      const runner = oursRunner(gpu, () => matmul(a, b, opts).dispose(), () => {
        a.dispose();
        b.dispose();
      });
      const result = async () => {
        const c = matmul(a, b, opts);
        const d = (await c.data()) as Float32Array;
        c.dispose();
        return d;
      };
      return { ...runner, result };
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const a = tf.tensor2d(aData, [n, n]);
      const b = tf.tensor2d(bData, [n, n]);
      const mm = () => tf.matMul(a, b, opts.transposeA, opts.transposeB);
      const runner = tfjsRunner(tfjs, mm, () => {
        a.dispose();
        b.dispose();
      });
      return {
        ...runner,
        async result() {
          const c = mm();
          const d = Float32Array.from(await c.data());
          c.dispose();
          return d;
        },
      };
    },
    ...(tag
      ? {}
      : {
          engines: {
            async jax({ jax }) {
              const a = jaxArray(jax, aData, [n, n]);
              const b = jaxArray(jax, bData, [n, n]);
              return jaxRunner(() => jax.np.matmul(a.ref, b.ref), () => {
                a.dispose();
                b.dispose();
              });
            },
          },
        }),
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
