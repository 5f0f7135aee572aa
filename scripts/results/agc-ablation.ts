/**
 * AGC ablation (the NFNet paper's stability claim) on the Fashion-MNIST setup of
 * docs/results: the same model and data at a large batch and a high learning rate, once
 * without AGC and once with it. Writes docs/results/agc-ablation/{no-agc,agc}/curve.json
 * and the combined figure docs/results/agc-ablation/ablation.png.
 *
 *   node scripts/run-ts.mjs scripts/results/agc-ablation.ts [--lr 1.6] [--batch 256] [--steps 40] [--clipping 0.01]
 * The clipped run uses the reference AGC (skip gains included, only the classifier excluded).
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { train, type TrainArgs, type TrainResult } from '../../src/cli/train.js';
import { renderPng } from '../../src/report/plot.js';

const o = new Command()
  .option('--lr <x>', 'peak learning rate', Number.parseFloat, 1.6)
  .option('--batch <n>', 'batch size', (v) => Number.parseInt(v, 10), 256)
  .option('--steps <n>', 'optimizer steps per run', (v) => Number.parseInt(v, 10), 40)
  .option('--clipping <λ>', 'AGC λ for the clipped run', Number.parseFloat, 0.01)
  .option('--out <dir>', 'output folder', 'docs/results/agc-ablation')
  .parse()
  .opts<{ lr: number; batch: number; steps: number; clipping: number; out: string }>();

const base: TrainArgs = {
  data: 'fashion-mnist', variant: 'nano', epochs: 1, batch: o.batch, lr: o.lr, warmup: 5 / Math.floor(60000 / o.batch),
  // The clipped run uses the reference AGC: every parameter but the classifier.
  clipping: o.clipping, agc: true, agcSkipGains: true, seed: 0, out: '', fast: true, progress: false, logEvery: 10,
  evalEma: false, maxSteps: o.steps, crop: 0, dropout: 0, stochasticDepth: 0, testSubset: 2000,
};

const runs: [string, TrainResult][] = [];
for (const [name, agc] of [['no-agc', false], ['agc', true]] as const) {
  console.error(`== ${name}: batch ${o.batch}, lr ${o.lr}, ${o.steps} steps${agc ? `, AGC λ=${o.clipping}` : ''}`);
  runs.push([name, await train({ ...base, agc, out: `${o.out}/${name}` })]);
}

const values = runs.flatMap(([name, r]) => r.steps.map((s) => ({ run: name === 'agc' ? `AGC λ=${o.clipping}` : 'no AGC', step: s.step, loss: Number.isFinite(s.loss) ? Math.min(s.loss, 10) : 10 })));
const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: `AGC ablation: nano on Fashion-MNIST, batch ${o.batch}, peak lr ${o.lr} (loss clipped at 10; NaN shown as 10)`,
  width: 560, height: 300, data: { values }, mark: { type: 'line' as const, point: true },
  encoding: {
    x: { field: 'step', type: 'quantitative' as const },
    y: { field: 'loss', type: 'quantitative' as const, title: 'training loss' },
    color: { field: 'run', type: 'nominal' as const, title: null },
  },
};
writeFileSync(`${o.out}/ablation.png`, await renderPng(spec));
const summary = runs.map(([name, r]) => ({
  run: name, diverged: r.diverged, finalLoss: r.steps[r.steps.length - 1]?.loss, testAccuracy: r.epochs[r.epochs.length - 1]?.testAccuracy ?? null,
}));
writeFileSync(`${o.out}/summary.json`, JSON.stringify({ ...o, runs: summary }, null, 2));
console.log(JSON.stringify(summary, null, 2));
