// The autotuner's GEMM score weighs every shape alike: a config that wins the big GEMMs
// but loses a small net's must not win on the sum of milliseconds.
import { describe, expect, it } from 'vitest';
import { gemmScore } from '../bench/tune.js';

describe('tune: gemmScore', () => {
  const incumbent = [50, 20, 2, 3]; // two big GEMMs, two small ones (ms)
  it('is 1 for the incumbent and the mean relative time otherwise', () => {
    expect(gemmScore(incumbent, incumbent)).toBe(1);
    expect(gemmScore([25, 10, 1, 1.5], incumbent)).toBe(0.5);
  });
  it('a config 15% faster on the big GEMMs and 3× slower on the small ones loses, though its summed ms are lower', () => {
    const candidate = [42.5, 17, 6, 9];
    expect(candidate.reduce((t, x) => t + x) < incumbent.reduce((t, x) => t + x)).toBe(true);
    expect(gemmScore(candidate, incumbent)).toBeCloseTo((0.85 + 0.85 + 3 + 3) / 4, 12);
    expect(gemmScore(candidate, incumbent)).toBeGreaterThan(1);
  });
});
