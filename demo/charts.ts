/** Live line charts: a vega-lite spec compiled once, rendered by a vega View into a <div> as SVG; rows streamed in. */
import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface Point {
  step: number;
  value: number;
  series: string;
}

export class LiveChart {
  private readonly view: View;
  private pending: Point[] = [];
  private flushing: Promise<void> | null = null;

  constructor(el: HTMLElement, spec: TopLevelSpec) {
    this.view = new View(parse(compile(spec).spec), { renderer: 'svg', container: el, hover: true });
    void this.view.runAsync();
    // Follow the card's width (window resizes, layout changes).
    let last = el.clientWidth;
    new ResizeObserver(() => {
      const w = el.clientWidth;
      if (!w || Math.abs(w - last) < 4) return;
      last = w;
      this.view.width(plotWidth(el)).resize();
      void this.view.runAsync();
    }).observe(el);
  }

  /** Queue rows; they are drawn at the next `flush()`. */
  push(...rows: Point[]): void {
    this.pending.push(...rows);
  }

  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (!this.pending.length) return;
    const rows = this.pending;
    this.pending = [];
    this.view.insert('points', rows);
    // New extents change the axes' label widths: redo the autosize layout, or labels get clipped.
    this.view.resize();
    this.flushing = this.view.runAsync().then(() => void (this.flushing = null));
    await this.flushing;
  }

  async clear(): Promise<void> {
    this.pending = [];
    this.view.remove('points', () => true);
    await this.view.runAsync();
  }
}

/** Width of the plot area: the container minus room for the y axis and its title. */
const plotWidth = (el: HTMLElement) => Math.max(240, el.clientWidth - 75);

const font = 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif';

const config = {
  font,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 500, titleColor: '#6b7280', gridColor: '#eceef2', domainColor: '#c5cbd5', tickColor: '#c5cbd5' },
  legend: { orient: 'top', labelFontSize: 11, symbolStrokeWidth: 2.5, title: null },
};

function spec(el: HTMLElement, series: [string, string][], y: Record<string, unknown>, layers: Record<string, unknown>[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: plotWidth(el),
    height: 190,
    data: { name: 'points' },
    config,
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', ...y },
      color: { field: 'series', type: 'nominal', scale: { domain: series.map((s) => s[0]), range: series.map((s) => s[1]) }, title: null },
    },
    layer: layers,
  } as unknown as TopLevelSpec;
}

export const LOSS_SERIES = { batch: 'batch loss', smooth: 'smoothed (EMA 0.9)' } as const;
export const ACC_SERIES = { train: 'train (last 20 steps)', test: 'test' } as const;

export function lossChart(el: HTMLElement): LiveChart {
  return new LiveChart(
    el,
    spec(el, [[LOSS_SERIES.batch, '#b9c5ef'], [LOSS_SERIES.smooth, '#3b5bdb']],
      { title: 'cross-entropy (label smoothing 0.1)', scale: { zero: false } },
      [{ mark: { type: 'line', strokeWidth: 2 } }]),
  );
}

export function accuracyChart(el: HTMLElement): LiveChart {
  return new LiveChart(
    el,
    spec(el, [[ACC_SERIES.train, '#9aa5b8'], [ACC_SERIES.test, '#1f9d55']],
      { title: 'accuracy', scale: { domain: [0, 1] }, axis: { format: '%' } },
      [
        { mark: { type: 'line', strokeWidth: 2 } },
        { transform: [{ filter: `datum.series === '${ACC_SERIES.test}'` }], mark: { type: 'point', filled: true, size: 36 } },
      ]),
  );
}
