/** Elementwise add: 1 FLOP and 12 bytes (two reads, one write of f32) per element. */
import { randn } from '../../src/tensor/creation.js';
import { add as addOp } from '../../src/ops/binary.js';
import { oursRunner, register, withCpuReference, type BenchCase } from '../registry.js';
import { tfjsRunner } from '../peers/tfjs.js';

function add(n: number, label: string, reps: number): BenchCase {
  return {
    name: `add/${label}`,
    flops: n,
    bytes: 12 * n,
    reps,
    async ours({ gpu }) {
      const a = randn([n], { seed: 1 });
      const b = randn([n], { seed: 2 });
      return oursRunner(gpu, () => addOp(a, b).dispose(), () => {
        a.dispose();
        b.dispose();
      });
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const a = tf.randomNormal([n], 0, 1, 'float32', 1);
      const b = tf.randomNormal([n], 0, 1, 'float32', 2);
      return tfjsRunner(tfjs, () => tf.add(a, b), () => {
        a.dispose();
        b.dispose();
      });
    },
  };
}

register(...withCpuReference('quick', add(2 ** 20, '1M', 10)), ...withCpuReference('full', { ...add(16 * 2 ** 20, '16M', 3), heavy: true }));
