/** The studies' Vega-Lite charts: lines (curves, sweeps) and log-log points with a fitted law. */
import type { ChartSpec } from '../report/plot.js';
import { powerLawAt, type PowerLaw } from './power-law.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export interface Axis {
  field: string;
  title: string;
  log?: boolean;
  /** d3-format of the tick labels (e.g. '.1~e' for FLOPs). */
  format?: string;
}

type Row = Record<string, string | number | boolean | null>;

/** Series names are whole labels ("nfResnet (nf-resnet-26)"): the legend shows them in full. */
const colour = (series: string) => ({ field: series, type: 'nominal' as const, title: null, legend: { labelLimit: 320 } });

function encode(a: Axis) {
  return {
    field: a.field, type: 'quantitative' as const, title: a.title,
    scale: a.log ? { type: 'log' as const, nice: false, padding: 10 } : { zero: false },
    ...(a.format ? { axis: { format: a.format } } : {}),
  };
}

/** One line per value of `series`, with points unless there are too many to read (> 60 per series on average). */
export function lineChart(title: string, values: Row[], x: Axis, y: Axis, series: string): ChartSpec {
  const perSeries = values.length / Math.max(1, new Set(values.map((v) => v[series])).size);
  return {
    $schema: SCHEMA, title, width: 420, height: 260, data: { values },
    mark: { type: 'line', point: perSeries <= 60 },
    encoding: { x: encode(x), y: encode(y), color: colour(series) },
  };
}

/** Points per series on log-log axes and, for each fitted law, its line over the points' range. */
export function powerLawChart(title: string, values: Row[], x: Axis, y: Axis, series: string, fits: { series: string; fit: PowerLaw; from: number; to: number }[]): ChartSpec {
  const lines = fits.flatMap(({ series: s, fit, from, to }) =>
    Array.from({ length: 20 }, (_, i) => {
      const xv = from * (to / from) ** (i / 19);
      return { [x.field]: xv, [y.field]: powerLawAt(fit, xv), [series]: s };
    }),
  );
  // The fitted lines share their family's colour; their exponents go in the subtitle.
  const subtitle = fits.map((f) => `${f.series}: loss ∝ C^${f.fit.b.toFixed(3)} (dashed)`).join(', ');
  return {
    $schema: SCHEMA, title: { text: title, subtitle }, width: 420, height: 280,
    layer: [
      { data: { values }, mark: { type: 'point', filled: true }, encoding: { x: encode({ ...x, log: true }), y: encode({ ...y, log: true }), color: colour(series) } },
      { data: { values: lines }, mark: { type: 'line', strokeDash: [4, 3] }, encoding: { x: encode({ ...x, log: true }), y: encode({ ...y, log: true }), color: colour(series) } },
    ],
  };
}
