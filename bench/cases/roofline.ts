/**
 * Roofline probes (bench/roofline.wgsl): the multiply-add ceiling (GFLOP/s) and the copy
 * ceiling (GB/s) of this adapter, measured by plain WGSL kernels on our runtime. They run
 * first in every bench; every other row is reported as a percentage of the ceiling that
 * bounds it (min(peak FLOP/s, intensity × peak bandwidth)).
 */
import { empty } from '../../src/tensor/creation.js';
import { defineKernel } from '../../src/runtime/kernel.js';
import { backend } from '../../src/runtime/init.js';
import rooflineWgsl from '../roofline.wgsl';
import { oursRunner, register, type Runner } from '../registry.js';

const FMA = defineKernel('roofline', rooflineWgsl, 'fma');
const COPY = defineKernel('roofline', rooflineWgsl, 'copy');

const FMA_THREADS = 64 * 256;
const FMA_ITERS = 1024;           // multiple of 4 (the loop is unrolled ×4)
const COPY_VEC4 = 2 ** 20;        // 16 MB copied, 32 MB of traffic
const COPY_WG = 256;
const COPY_PER = 4;               // vec4 elements per invocation (grid-stride)

function copyRunner(vec4s: number, wg: number, per: number): Runner {
  const src = empty([vec4s * 4]);
  const dst = empty([vec4s * 4]);
  return {
    run: () => backend().dispatch({ kernel: COPY, bindings: { src, dst }, params: { n: vec4s, seed: 0 }, overrides: { WG: wg, PER: per }, workgroups: Math.ceil(vec4s / per / wg) }),
    sync: () => backend().sync(),
    dispose() {
      src.dispose();
      dst.dispose();
    },
  };
}

/**
 * The copy probe scaled to `bytes` of traffic (read + write), in one dispatch: the ceiling of
 * a `pctCopyAtSize` target. At 1.5 MB it measured ~45% of the 16 MB probe's GB/s here.
 */
export function copyProbe(bytes: number): Runner {
  return copyRunner(Math.max(1, Math.round(bytes / 32)), COPY_WG, COPY_PER);
}

register(
  {
    name: 'roofline/fma',
    roofline: 'compute',
    flops: FMA_THREADS * FMA_ITERS * 64,
    bytes: FMA_THREADS * 16,
    reps: 5,
    async ours({ gpu }) {
      const dst = empty([FMA_THREADS * 4]);
      return oursRunner(
        gpu,
        () => backend().dispatch({ kernel: FMA, bindings: { dst }, params: { n: FMA_ITERS, seed: 1 }, workgroups: FMA_THREADS / 64 }),
        () => dst.dispose(),
      );
    },
  },
  {
    name: 'roofline/copy',
    roofline: 'memory',
    flops: 0,
    bytes: COPY_VEC4 * 32,
    reps: 5,
    async ours() {
      return copyRunner(COPY_VEC4, COPY_WG, COPY_PER);
    },
  },
);
