/**
 * Signal-propagation report (Brock et al. 2021a): feed unit-Gaussian images through a
 * freshly initialised network and record, after the stem and each block, the mean and
 * the average channel variance of the activations. With skip gains at their init value 0
 * every non-transition block is the identity; with skip gains set to 1 (`residual: true`)
 * the variance grows by ≈α² per block and resets at each transition.
 */
import { assign, randn } from '../tensor/creation.js';
import { noGrad } from '../autodiff/tape.js';
import { tidy } from '../tensor/scope.js';
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { NFNet } from './model.js';

export interface SignalPoint {
  name: string;
  index: number;
  /** Mean over all activations. */
  mean: number;
  /** Variance per channel (over N, H, W), averaged over channels. */
  avgChannelVariance: number;
  /** Mean over channels of the squared per-channel mean. */
  avgChannelSquaredMean: number;
}

export interface SignalReport {
  variant: string;
  resolution: number;
  batch: number;
  residual: boolean;
  points: SignalPoint[];
}

export async function signalPropagation(model: NFNet, options: { batch?: number; resolution?: number; seed?: number; residual?: boolean } = {}): Promise<SignalReport> {
  const { batch = 4, resolution = model.config.trainResolution, seed = 0, residual = false } = options;
  const skipGains = model.state.entries().filter(([spec]) => spec.kind === 'skipGain').map(([, t]) => t);
  const saved = await Promise.all(skipGains.map((t) => t.data()));
  if (residual) setAll(skipGains, 1);
  const stats: { name: string; t: Tensor }[] = [];
  const x = randn([batch, resolution, resolution, model.config.inChannels], { seed });
  noGrad(() =>
    model.forward(x, {
      trace: (name, h) => {
        const s = tidy(() => {
          const chMean = ops.mean(h, { axes: [0, 1, 2] });
          const chVar = ops.variance(h, { axes: [0, 1, 2] });
          return ops.concat([ops.reshape(ops.mean(h), [1]), ops.reshape(ops.mean(chVar), [1]), ops.reshape(ops.mean(ops.square(chMean)), [1])], 0);
        });
        stats.push({ name, t: s });
      },
    }).dispose(),
  );
  x.dispose();
  const points: SignalPoint[] = [];
  for (const [index, { name, t }] of stats.entries()) {
    const [mean, v, m2] = await t.data();
    points.push({ name, index, mean: mean!, avgChannelVariance: v!, avgChannelSquaredMean: m2! });
    t.dispose();
  }
  if (residual) skipGains.forEach((t, i) => assign(t, saved[i]!));
  return { variant: model.config.variant, resolution, batch, residual, points };
}

function setAll(ts: Tensor[], value: number): void {
  for (const t of ts) assign(t, new Float32Array(t.size).fill(value));
}

/** Vega-Lite spec of the report: per-block average channel variance and squared mean. */
export function signalChart(reports: SignalReport[]) {
  const values = reports.flatMap((r) =>
    r.points.flatMap((p) => [
      { block: p.index, name: p.name, stat: 'avg channel variance', value: p.avgChannelVariance, run: r.residual ? 'skip gain 1' : 'skip gain 0 (init)' },
      { block: p.index, name: p.name, stat: 'avg channel squared mean', value: p.avgChannelSquaredMean, run: r.residual ? 'skip gain 1' : 'skip gain 0 (init)' },
    ]),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Signal propagation, ${reports[0]?.variant} at ${reports[0]?.resolution} px (unit-Gaussian input)`,
    data: { values },
    facet: { column: { field: 'stat', type: 'nominal' as const, title: null } },
    spec: {
      width: 320, height: 220,
      mark: { type: 'line' as const, point: true },
      encoding: {
        x: { field: 'block', type: 'quantitative' as const, title: 'block (0 = stem)' },
        y: { field: 'value', type: 'quantitative' as const, title: null },
        color: { field: 'run', type: 'nominal' as const, title: null },
        tooltip: [{ field: 'name' }, { field: 'value' }],
      },
    },
    resolve: { scale: { y: 'independent' as const } },
  };
}
