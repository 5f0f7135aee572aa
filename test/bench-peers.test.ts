/**
 * The peers' plumbing that needs no GPU: the cross-check rule (bench/check.ts), the host
 * layout changes (bench/peers/layout.ts), the console table's per-peer columns, and the
 * hand-written ONNX writer (bench/peers/onnx.ts), whose model onnxruntime-web's CPU
 * (WebAssembly) backend must run to the values of a float64 convolution written here.
 */
import { describe, expect, it } from 'vitest';
import { checkResult, crossCheck } from '../bench/check.js';
import type { Runner } from '../bench/registry.js';
import { hwioToOihw, nchwToNhwc, nhwcToNchw, oihwToHwio, permute } from '../bench/peers/layout.js';
import { onnxModel } from '../bench/peers/onnx.js';
import { formatTable } from '../bench/report.js';
import type { Row, SideResult } from '../bench/types.js';

describe('bench peer cross-check', () => {
  it('holds the peer to tol · max(1, max |ours|) and says where it differs', () => {
    const ours = Float32Array.from([100, -3, 0.5]);
    expect(checkResult(ours, Float32Array.from([100.05, -3, 0.5]), 1e-3).ok).toBe(true); // 0.05 ≤ 0.1
    const bad = checkResult(ours, Float32Array.from([100, -3.2, 0.5]), 1e-3);
    expect(bad.ok).toBe(false);
    expect(bad.maxAbsErr).toBeCloseTo(0.2, 5);
    expect(bad.message).toContain('at [1]');
    // Small results: the bound does not shrink below tol (absolute).
    expect(checkResult(Float32Array.from([1e-4]), Float32Array.from([5e-4]), 1e-3).ok).toBe(true);
    expect(checkResult(Float32Array.from([1e-4]), Float32Array.from([2e-3]), 1e-3).ok).toBe(false);
  });

  it('fails on a NaN on one side or a length mismatch', () => {
    expect(checkResult(Float32Array.from([1, 2]), Float32Array.from([1, Number.NaN])).ok).toBe(false);
    expect(checkResult(Float32Array.from([1, 2]), Float32Array.from([1])).message).toContain('1 values, ours 2');
  });
});

describe('bench cross-check of a row', () => {
  const runner = (result: number[] | Error, log: string[], name: string): Runner => ({
    run() {},
    async sync() {},
    dispose: () => void log.push(`dispose ${name}`),
    result: async () => {
      if (result instanceof Error) throw result;
      return Float32Array.from(result);
    },
  });

  it('leaves matching peers to be timed and turns a mismatch or a failed result into an untimed error', async () => {
    const log: string[] = [];
    const prepared: (Runner | { error: string })[] = [
      runner([1, 2, 3], log, 'ours'),
      runner([1, 2, 3.0001], log, 'tfjs'),
      runner([1, 2.5, 3], log, 'jax'),
      runner(new Error('device lost'), log, 'ort'),
      runner([9], log, 'copy'), // not a checked side
    ];
    const checks = await crossCheck(['ours', 'tfjs', 'jax', 'ort', null], prepared);
    expect(checks.tfjs!.ok).toBe(true);
    expect(checks.jax).toMatchObject({ ok: false, maxAbsErr: 0.5 });
    expect(checks.ort!.message).toContain('device lost');
    expect('run' in prepared[1]!).toBe(true);
    expect(prepared[2]).toEqual({ error: expect.stringMatching(/^not timed: result differs from ours: max \|Δ\| 5\.00e-1/) });
    expect(prepared[3]).toEqual({ error: expect.stringContaining('not timed: result failed: Error: device lost') });
    expect('run' in prepared[4]!).toBe(true);
    expect(log).toEqual(['dispose jax', 'dispose ort']);
    expect(Object.keys(checks)).toEqual(['tfjs', 'jax', 'ort']);
  });
});

describe('bench peer layouts', () => {
  it('NHWC ↔ NCHW and HWIO ↔ OIHW move each element to its index', () => {
    const [n, h, w, c] = [2, 3, 4, 5];
    const x = Float32Array.from({ length: n * h * w * c }, (_, i) => i);
    const nchw = nhwcToNchw(x, [n, h, w, c]);
    // element (b, y, x, ch) of NHWC sits at ((b·C + ch)·H + y)·W + x in NCHW
    for (const [b, y, xx, ch] of [[1, 2, 3, 4], [0, 1, 0, 2], [1, 0, 2, 0]] as const) {
      expect(nchw[((b * c + ch) * h + y) * w + xx]).toBe(x[((b * h + y) * w + xx) * c + ch]);
    }
    expect([...nchwToNhwc(nchw, [n, c, h, w])]).toEqual([...x]);
    const k = Float32Array.from({ length: 3 * 3 * 4 * 6 }, (_, i) => i);
    const oihw = hwioToOihw(k, [3, 3, 4, 6]);
    expect(oihw[((5 * 4 + 2) * 3 + 1) * 3 + 0]).toBe(k[((1 * 3 + 0) * 4 + 2) * 6 + 5]);
    expect([...oihwToHwio(oihw, [6, 4, 3, 3])]).toEqual([...k]);
    expect([...permute(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], [1, 0])]).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

const side = (medianMs: number): SideResult => ({ reps: 3, timesMs: [medianMs], medianMs, minMs: medianMs, warmupMs: 0, gflops: 1, gbs: 1, pctRoofline: null });

describe('bench console table', () => {
  it('has a column and a ratio per peer, and lists a peer that failed to load', () => {
    const rows: Row[] = [
      { name: 'small/x', bound: 'compute', flops: 1e9, bytes: 1, ours: side(10), peer: side(40), ratio: 4, engines: { jax: side(20), ort: { error: 'peer not loaded: boom' } }, engineRatios: { jax: 2 } },
    ];
    const text = formatTable(rows, {
      ceilings: { gflops: 1, gbs: 1 }, fastCeilings: null, host: { loadavg: [1, 1, 1] }, adapter: { description: 'test', architecture: '' },
      timing: { gpuTimestamps: false }, durationS: 1, engines: { jax: { name: '@jax-js/jax', version: '0.1.25' }, ort: { name: 'onnxruntime-web', error: 'boom' } },
    });
    for (const h of ['ours/TF.js', 'ours/jax-js', 'ours/ORT']) expect(text).toContain(h);
    expect(text).toMatch(/4\.00×.*2\.00×.*error/);
    expect(text).toContain('onnxruntime-web FAILED TO LOAD (boom)');
    expect(text).toContain('small/x (ORT): peer not loaded: boom');
  });
});

/** float64 NCHW conv, OIHW weights, stride 1, symmetric zero padding `pad`, plus bias. */
function refConv(x: Float32Array, [n, c, h, w]: number[], k: Float32Array, [o, , kh, kw]: number[], bias: Float32Array, pad: number): Float64Array {
  const out = new Float64Array(n * o * h * w);
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) {
          let s = bias[oc]!;
          for (let ic = 0; ic < c; ic++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const yy = y + i - pad;
                const xj = xx + j - pad;
                if (yy >= 0 && yy < h && xj >= 0 && xj < w) s += x[((b * c + ic) * h + yy) * w + xj]! * k[((oc * c + ic) * kh + i) * kw + j]!;
              }
          out[((b * o + oc) * h + y) * w + xx] = s;
        }
  return out;
}

describe('ONNX writer', () => {
  it('writes a Conv + Relu + GlobalAveragePool + Flatten + Gemm model that onnxruntime-web (CPU) runs to a float64 reference', async () => {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    const [n, c, h, w, o] = [2, 3, 5, 4, 4];
    const x = Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i * 0.7));
    const k = Float32Array.from({ length: o * c * 9 }, (_, i) => Math.cos(i * 0.3) * 0.5);
    const bias = Float32Array.from({ length: o }, (_, i) => 0.1 * i - 0.15);
    const fc = Float32Array.from({ length: o * 2 }, (_, i) => (i % 3) - 1);
    const fcBias = Float32Array.from([0.25, -0.5]);
    const model = onnxModel({
      nodes: [
        { op: 'Conv', inputs: ['x', 'k', 'b'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] } },
        { op: 'Relu', inputs: ['c'], outputs: ['r'] },
        { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['p'] },
        { op: 'Flatten', inputs: ['p'], outputs: ['f'], attrs: { axis: 1 } },
        { op: 'Gemm', inputs: ['f', 'fc', 'fcb'], outputs: ['y'], attrs: { alpha: { float: 1 } } },
      ],
      initializers: { k: { dims: [o, c, 3, 3], data: k }, b: { dims: [o], data: bias }, fc: { dims: [o, 2], data: fc }, fcb: { dims: [2], data: fcBias } },
      inputs: [{ name: 'x', dims: [n, c, h, w] }],
      outputs: [{ name: 'y', dims: [n, 2] }],
    });
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
    const conv = await session.run({ x: new ort.Tensor('float32', x, [n, c, h, w]) });
    const got = conv.y!.data as Float32Array;
    const ref = refConv(x, [n, c, h, w], k, [o, c, 3, 3], bias, 1);
    const want: number[] = [];
    for (let b = 0; b < n; b++) {
      const pooled = Array.from({ length: o }, (_, oc) => {
        let s = 0;
        for (let i = 0; i < h * w; i++) s += Math.max(0, ref[(b * o + oc) * h * w + i]!);
        return s / (h * w);
      });
      for (let j = 0; j < 2; j++) want.push(fcBias[j]! + pooled.reduce((s, v, oc) => s + v * fc[oc * 2 + j]!, 0));
    }
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
    await session.release();
  }, 60_000);
});
