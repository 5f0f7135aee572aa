/**
 * Charts as files (Node only): Vega-Lite specs rendered to SVG by vega (no canvas needed)
 * and rasterised to PNG by resvg. The same specs embed into the HTML bench report.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type ChartSpec = TopLevelSpec;

export async function renderSvg(spec: ChartSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export async function renderPng(spec: ChartSpec, scale = 2): Promise<Uint8Array> {
  const svg = await renderSvg(spec);
  return new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true } }).render().asPng();
}
