/**
 * Bench targets (bench/targets.ts) on hand-made rows: each kind is met, missed, or not
 * measurable when a side is missing.
 */
import { describe, expect, it } from 'vitest';
import { checkTargets, formatTarget } from '../bench/targets.js';
import type { Row, SideResult } from '../bench/types.js';

const side = (medianMs: number, gflops: number, gbs: number, pctRoofline: number | null = null): SideResult => ({
  reps: 3, timesMs: [medianMs], medianMs, minMs: medianMs, warmupMs: 0, gflops, gbs, pctRoofline,
});
const row = (extra: Partial<Row>): Row => ({ name: 'r', bound: 'memory', flops: 0, bytes: 1e6, ...extra });

describe('bench targets', () => {
  it('ratio and pctRoofline read the row itself', () => {
    const r = row({ ours: side(1, 10, 1, 62), ratio: 7.5 });
    const [ratio, roof] = checkTargets(r, [{ kind: 'ratio', min: 8 }, { kind: 'pctRoofline', min: 50 }], [r]);
    expect(ratio).toEqual({ text: '≥ 8× TF.js', value: 7.5, met: false });
    expect(roof).toEqual({ text: '≥ 50% roofline', value: 62, met: true });
    expect(formatTarget(ratio!)).toBe('MISS 7.5× (≥ 8× TF.js)');
  });

  it('engineRatio reads another peer\'s ratio (jax-js, ORT); missing when that peer did not run', () => {
    const r = row({ ours: side(1, 0, 0), engineRatios: { jax: 0.84 } });
    const [jax, ort] = checkTargets(r, [{ kind: 'engineRatio', engine: 'jax', min: 1 }, { kind: 'engineRatio', engine: 'ort', min: 1.5 }], [r]);
    expect(jax).toEqual({ text: '≥ 1× jax-js', value: 0.84, met: false });
    expect(ort).toEqual({ text: '≥ 1.5× ORT', value: null, met: null });
  });

  it('self-timed runners (cold starts in a child process) are measured by their own clock, warm-up included', async () => {
    const { measureInterleaved } = await import('../bench/measure.js');
    let n = 0;
    const runner = { run: async () => void n++, sync: async () => {}, dispose: () => {}, elapsedMs: () => 1000 * n };
    const [m] = await measureInterleaved([{ runner, reps: 3, profile: null }]);
    expect(m).toMatchObject({ warmupMs: 1000, timesMs: [2000, 3000, 4000], medianMs: 3000 });
  });

  it('pctOfRow compares GFLOP/s with another row', () => {
    const gemm = row({ name: 'gemm', ours: side(1, 4, 0) });
    const conv = row({ name: 'conv', ours: side(1, 12, 0) });
    const [t] = checkTargets(conv, [{ kind: 'pctOfRow', row: 'gemm', min: 70 }], [gemm, conv]);
    expect(t!.value).toBeCloseTo(300);
    expect(t!.met).toBe(true);
  });

  it('pctCopyAtSize is ours GB/s over the same-size copy probe, and unmeasurable without it', () => {
    const target = [{ kind: 'pctCopyAtSize', min: 50 } as const];
    const met = checkTargets(row({ ours: side(2, 0, 0.7), copyAtSize: side(1.6, 0, 0.875) }), target, []);
    expect(met[0]!.value).toBeCloseTo(80);
    expect(met[0]!.met).toBe(true);
    const missed = checkTargets(row({ ours: side(2, 0, 0.4), copyAtSize: side(1, 0, 1) }), target, []);
    expect(missed[0]!.met).toBe(false);
    const missing = checkTargets(row({ ours: side(2, 0, 0.4), copyAtSize: { error: 'failed' } }), target, []);
    expect(missing[0]).toMatchObject({ value: null, met: null });
    expect(formatTarget(met[0]!)).toBe('ok 80% (≥ 50% of a copy of the same bytes)');
  });
});
