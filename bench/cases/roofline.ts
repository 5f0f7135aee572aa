/**
 * Roofline probes (bench/roofline.wgsl): the multiply-add ceiling (GFLOP/s) and the copy
 * ceiling (GB/s) of this adapter, measured by plain WGSL kernels on our runtime. They run
 * first in every bench; every other row is reported as a percentage of the ceiling that
 * bounds it (min(peak FLOP/s, intensity × peak bandwidth)).
 */
import { empty } from '../../src/autodiff/creation.js';
import { defineKernel } from '../../src/runtime/kernel.js';
import { backend } from '../../src/runtime/init.js';
import rooflineWgsl from '../roofline.wgsl';
import { oursRunner, register } from '../registry.js';

const FMA = defineKernel('roofline', rooflineWgsl, 'fma');
const COPY = defineKernel('roofline', rooflineWgsl, 'copy');

const FMA_THREADS = 64 * 256;
const FMA_ITERS = 1024;           // multiple of 4 (the loop is unrolled ×4)
const COPY_VEC4 = 2 ** 20;        // 16 MB copied, 32 MB of traffic
const COPY_WG = 256;
const COPY_PER = 4;               // vec4 elements per invocation (grid-stride)

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
        () => backend().dispatch({ kernel: FMA, bindings: { dst: dst.buffer }, params: { n: FMA_ITERS, seed: 1 }, workgroups: FMA_THREADS / 64 }),
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
    async ours({ gpu }) {
      const src = empty([COPY_VEC4 * 4]);
      const dst = empty([COPY_VEC4 * 4]);
      return oursRunner(
        gpu,
        () => backend().dispatch({ kernel: COPY, bindings: { src: src.buffer, dst: dst.buffer }, params: { n: COPY_VEC4, seed: 0 }, overrides: { WG: COPY_WG, PER: COPY_PER }, workgroups: COPY_VEC4 / COPY_PER / COPY_WG }),
        () => {
          src.dispose();
          dst.dispose();
        },
      );
    },
  },
);
