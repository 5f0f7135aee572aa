/**
 * Parameter initialisation on the CPU (once per model), from a seed: fan-in truncated
 * normal for WS-conv and SE weights (as the reference's VarianceScaling(1, fan_in,
 * truncated normal) — a normal cut at ±2σ and rescaled so the variance is 1/fan_in),
 * N(0, 0.01²) for the classifier, ones for gains, zeros for biases and skip gains.
 */
import { mulberry32 } from '../data/loader.js';

/** Std of a unit normal truncated to [-2, 2]; dividing by it restores unit variance. */
const TRUNC_STD = 0.8796256610342398;

export function truncatedNormal(n: number, fanIn: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const scale = Math.sqrt(1 / fanIn) / TRUNC_STD;
  const out = new Float32Array(n);
  for (let i = 0; i < n; ) {
    // Box-Muller, rejecting |z| > 2.
    const u1 = 1 - rng();
    const u2 = rng();
    const r = Math.sqrt(-2 * Math.log(u1));
    for (const z of [r * Math.cos(2 * Math.PI * u2), r * Math.sin(2 * Math.PI * u2)]) {
      if (i < n && Math.abs(z) <= 2) out[i++] = z * scale;
    }
  }
  return out;
}

export function normal(n: number, std: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const t = 2 * Math.PI * rng();
    out[i] = std * r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = std * r * Math.sin(t);
  }
  return out;
}

/** A per-parameter seed derived from the model seed and the parameter's name. */
export function seedFor(modelSeed: number, name: string): number {
  let h = 0x811c9dc5 ^ modelSeed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
