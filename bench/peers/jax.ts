/**
 * @jax-js/jax as a peer: its WebGPU backend on the peers' Dawn instance (dawn-global.ts),
 * in this process, on the same adapter as ours. jax-js arrays are reference-counted (every
 * call consumes its arguments: pass `a.ref` to keep `a`) and evaluated lazily, so a
 * repetition is forced with `blockUntilReady()`, which submits the pending kernels and
 * maps a staging buffer behind them (a queue round trip, like ours' sync).
 */
import type * as Jax from '@jax-js/jax';
import type { Runner } from '../registry.js';
import { packageVersion, peerNavigatorGpu } from './dawn-global.js';
import { concat } from './layout.js';

export interface JaxPeer {
  jax: typeof Jax;
  np: typeof Jax.numpy;
  version: string;
}

export async function initJax(): Promise<JaxPeer> {
  await peerNavigatorGpu();
  const jax = await import('@jax-js/jax');
  const devices = await jax.init('webgpu');
  if (!devices.includes('webgpu')) throw new Error(`jax-js: no webgpu device (init gave ${devices.join(', ') || 'none'})`);
  jax.defaultDevice('webgpu');
  return { jax, np: jax.numpy, version: await packageVersion('@jax-js/jax') };
}

/** A jax-js array from host float32 data (copied). */
export function jaxArray(peer: JaxPeer, data: Float32Array, shape: readonly number[]): Jax.Array {
  return peer.np.array(Float32Array.from(data), { shape: [...shape] });
}

type Arrays = Jax.Array | Jax.Array[];
const flat = (a: Arrays) => (Array.isArray(a) ? a : [a]);

/**
 * A Runner over jax-js: `run` returns the arrays of one repetition (it must not consume the
 * case's inputs: pass `.ref`); `sync` forces and frees them; `result` reads one repetition
 * back, flattened, after `toCanonical` (e.g. NCHW → NHWC) per output.
 */
export function jaxRunner(
  run: () => Arrays,
  dispose: () => void,
  toCanonical: ((data: Float32Array, i: number) => Float32Array) | null = null,
): Runner {
  let pending: Jax.Array[] = [];
  return {
    run() {
      pending.push(...flat(run()));
    },
    async sync() {
      const arrays = pending;
      pending = [];
      for (const a of arrays) await a.blockUntilReady();
      for (const a of arrays) a.dispose();
    },
    async result() {
      const outs = flat(run());
      const parts: Float32Array[] = [];
      for (const [i, a] of outs.entries()) {
        const d = Float32Array.from((await a.data()) as ArrayLike<number>);
        parts.push(toCanonical ? toCanonical(d, i) : d);
      }
      return concat(parts);
    },
    dispose,
  };
}
