/** `nfnet signal`: per-block activation statistics at init (skip gain 0) and with skip gains 1, as JSON + PNG. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { init } from '../runtime/init.js';
import { create } from '../nfnet/model.js';
import { signalChart, signalPropagation } from '../nfnet/signal.js';
import { renderPng } from '../report/plot.js';

export async function signalReport(variant: string, o: { res?: number; batch: number; seed: number; out: string }): Promise<void> {
  const gpu = await init();
  const model = create(variant, { seed: o.seed });
  const opts = { batch: o.batch, resolution: o.res ?? model.config.trainResolution, seed: o.seed };
  const atInit = await signalPropagation(model, opts);
  const residual = await signalPropagation(model, { ...opts, residual: true });
  mkdirSync(o.out, { recursive: true });
  const base = path.join(o.out, `signal-${variant}`);
  writeFileSync(`${base}.json`, JSON.stringify({ atInit, residual }, null, 2));
  writeFileSync(`${base}.png`, await renderPng(signalChart([atInit, residual])));
  for (const [a, r] of atInit.points.map((p, i) => [p, residual.points[i]!] as const)) {
    console.log(`${a.name.padEnd(18)} var ${a.avgChannelVariance.toFixed(4)} (skip gain 1: ${r.avgChannelVariance.toFixed(4)})  mean² ${a.avgChannelSquaredMean.toFixed(4)}`);
  }
  console.log(`wrote ${base}.json and ${base}.png`);
  model.dispose();
  await gpu.dispose();
}
