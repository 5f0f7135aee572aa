/**
 * The self-contained HTML report (`--html FILE`; by default next to `--json`): header,
 * the results table, targets, whole-step details, an optional --compare section, and three
 * charts — ours/TF.js ratio per row, % of roofline, per-kernel breakdown of each training
 * step. Charts are Vega-Lite specs rendered to inline SVG in Node (src/report/plot.ts), so
 * the page needs no JavaScript and no network.
 */
import { writeFileSync } from 'node:fs';
import { renderSvg, type ChartSpec } from '../src/report/plot.js';
import type { Row, SideResult } from './types.js';
import type { CompareRow } from './compare.js';
import { ENGINES, type EngineId } from './registry.js';
import { enginesIn } from './report.js';

/** The parts of the JSON report the page reads (see docs/bench.md for the schema). */
export interface HtmlReportInput {
  schema: string;
  date: string;
  durationS: number;
  git: { commit: string | null; dirty: boolean | null };
  node: string;
  host: { loadavg: number[]; cpus: number; cpuModel: string };
  adapter: { description: string; architecture: string; vendor: string };
  ceilings: { gflops: number; gbs: number };
  fastCeilings: { gflops: number; gbs: number } | null;
  options: { full: boolean };
  rows: Row[];
  /** The other peers (jax-js, ORT): name and version, or why they did not load. */
  engines?: Partial<Record<EngineId, { name: string; version?: string; error?: string }>>;
  compare?: { against: string; rule: string; rows: CompareRow[] } | null;
}

const ok = (s: Row['ours']): s is SideResult => !!s && 'medianMs' in s;

const esc = (s: unknown) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function ms(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function rate(r: Row, s: Row['ours']): string {
  if (!ok(s)) return s ? 'error' : '–';
  if (r.items && s.itemsPerS !== undefined) return `${s.itemsPerS.toFixed(2)} ${r.items.unit}/s`;
  return r.bound === 'memory' ? `${s.gbs.toFixed(2)} GB/s` : `${s.gflops.toFixed(2)} GFLOP/s`;
}

const pct = (s: Row['ours']) => (ok(s) && s.pctRoofline !== null ? `${s.pctRoofline.toFixed(0)}%` : '–');

const AXIS = { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 };

/** Chart 1: ours/TF.js throughput ratio per row (log scale), coloured by whether the row's ratio target holds. */
function ratioSpec(rows: Row[]): ChartSpec | null {
  const data = rows
    .filter((r) => r.ratio !== undefined)
    .map((r) => {
      const t = r.targets?.find((x) => x.text.includes('TF.js'));
      return { row: r.name, ratio: r.ratio!, base: 1, target: t ? Number(/≥ ([\d.]+)/.exec(t.text)?.[1] ?? 0) : null, status: t ? (t.met ? 'target met' : 'target missed') : 'no target' };
    });
  if (!data.length) return null;
  // Log scale, bars from parity (1×): left of the axis line = TF.js faster.
  const values = data.flatMap((d) => [d.ratio, d.target ?? d.ratio]);
  const domain = [Math.min(0.5, ...values) / 1.2, Math.max(2, ...values) * 1.5];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'ours / TF.js WebGPU throughput ratio (same adapter; > 1: ours faster)', fontSize: 14 },
    width: 560,
    height: { step: 18 },
    data: { values: data },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'row', type: 'nominal', sort: null, title: null, axis: AXIS },
          x: { field: 'ratio', type: 'quantitative', scale: { type: 'log', domain }, title: 'ours / TF.js (log scale; bars start at parity 1×; black tick = target)', axis: AXIS },
          x2: { field: 'base' },
          color: {
            field: 'status', type: 'nominal', title: null,
            scale: { domain: ['target met', 'target missed', 'no target'], range: ['#2e7d32', '#c62828', '#607d8b'] },
            legend: { orient: 'bottom', labelFontSize: 11 },
          },
        },
      },
      {
        mark: { type: 'tick', color: 'black', thickness: 2, size: 16 },
        transform: [{ filter: 'datum.target !== null' }],
        encoding: { y: { field: 'row', type: 'nominal', sort: null }, x: { field: 'target', type: 'quantitative' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
        encoding: {
          y: { field: 'row', type: 'nominal', sort: null },
          x: { field: 'ratio', type: 'quantitative' },
          text: { field: 'ratio', type: 'quantitative', format: '.2f' },
        },
      },
    ],
  } as ChartSpec;
}

/** Chart 1b: ours / each other peer (jax-js, ORT) per row (log scale), one bar per peer. */
function engineRatioSpec(rows: Row[]): ChartSpec | null {
  const data = rows.flatMap((r) =>
    (Object.entries(r.engineRatios ?? {}) as [EngineId, number][]).map(([id, ratio]) => ({ row: r.name, peer: ENGINES[id].label, ratio, base: 1 })),
  );
  if (!data.length) return null;
  const values = data.map((d) => d.ratio);
  const domain = [Math.min(0.5, ...values) / 1.2, Math.max(2, ...values) * 1.5];
  const peers = Object.values(ENGINES).map((e) => e.label);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'ours / other JavaScript WebGPU engines (same adapter, same process; > 1: ours faster)', fontSize: 14 },
    width: 560,
    height: { step: 12 },
    data: { values: data },
    mark: 'bar',
    encoding: {
      y: { field: 'row', type: 'nominal', sort: null, title: null, axis: AXIS },
      yOffset: { field: 'peer', type: 'nominal', sort: peers },
      x: { field: 'ratio', type: 'quantitative', scale: { type: 'log', domain }, title: 'ours / peer (log scale; bars start at parity 1×)', axis: AXIS },
      x2: { field: 'base' },
      color: { field: 'peer', type: 'nominal', title: null, sort: peers, scale: { range: ['#6a1b9a', '#2e7d32'] }, legend: { orient: 'bottom', labelFontSize: 11 } },
    },
  } as ChartSpec;
}

/** Chart 2: % of the bounding roofline, ours / TF.js / ours fast, per row. */
function rooflineSpec(rows: Row[]): ChartSpec | null {
  const data = rows.flatMap((r) =>
    (
      [
        ['ours', r.ours],
        ['TF.js', r.peer],
        ['ours fast', r.oursFast],
      ] as const
    ).flatMap(([side, s]) => (ok(s) && s.pctRoofline !== null && Number.isFinite(s.pctRoofline) ? [{ row: r.name, side, pct: s.pctRoofline }] : [])),
  );
  if (!data.length) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: '% of roofline (min(peak FLOP/s, intensity × peak GB/s), probed this run)', fontSize: 14 },
    width: 560,
    height: { step: 9 },
    data: { values: data },
    mark: 'bar',
    encoding: {
      y: { field: 'row', type: 'nominal', sort: null, title: null, axis: AXIS },
      yOffset: { field: 'side', type: 'nominal', sort: ['ours', 'TF.js', 'ours fast'] },
      x: { field: 'pct', type: 'quantitative', title: '% of roofline', axis: AXIS },
      color: { field: 'side', type: 'nominal', title: null, sort: ['ours', 'TF.js', 'ours fast'], scale: { range: ['#1565c0', '#ef6c00', '#64b5f6'] }, legend: { orient: 'bottom', labelFontSize: 11 } },
    },
  } as ChartSpec;
}

interface Breakdown {
  kernels: { kernel: string; calls: number; ms: number; share: number }[];
  mode: string;
  totalMs: number;
}

/** Chart 3: per-kernel breakdown of one training step (profiler), one chart per step row. */
function breakdownSpec(r: Row, p: Breakdown): ChartSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `${r.name}: per-kernel time of one step (${p.mode}, ${p.totalMs.toFixed(0)} ms summed)`, fontSize: 14 },
    width: 560,
    height: { step: 18 },
    data: { values: p.kernels.map((k) => ({ ...k, pct: 100 * k.share })) },
    layer: [
      {
        mark: { type: 'bar', color: '#1565c0' },
        encoding: {
          y: { field: 'kernel', type: 'nominal', sort: null, title: null, axis: AXIS },
          x: { field: 'ms', type: 'quantitative', title: 'ms in one step', axis: AXIS },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
        encoding: {
          y: { field: 'kernel', type: 'nominal', sort: null },
          x: { field: 'ms', type: 'quantitative' },
          text: { field: 'pct', type: 'quantitative', format: '.1f' },
        },
      },
    ],
  } as ChartSpec;
}

function table(rows: Row[]): string {
  const engines = enginesIn(rows);
  const engineHead = engines.flatMap((id) => [`${ENGINES[id].label} ms med/min`, ENGINES[id].label, `ours/${ENGINES[id].label}`]);
  const head = ['case', 'bound', 'ours ms med/min', 'ours', '%roof', 'TF.js ms med/min', 'TF.js', '%roof', 'ours/TF.js', ...engineHead, 'ours fast', '%roof', 'target'];
  const t = (s: Row['ours']) => (ok(s) ? `${ms(s.medianMs)} / ${ms(s.minMs)}` : s ? 'error' : '–');
  const engineCells = (r: Row, id: EngineId) => {
    const s = r.engines?.[id];
    const ratio = r.engineRatios?.[id];
    return [`<td>${s ? t(s) : '–'}</td>`, `<td>${s ? rate(r, s) : '–'}</td>`, `<td class="ratio">${ratio !== undefined ? `${ratio.toFixed(2)}×` : s ? 'error' : '–'}</td>`];
  };
  const body = rows.map((r) => {
    const targets = (r.targets ?? []).map((x) => `<span class="${x.met === null ? 'na' : x.met ? 'ok' : 'miss'}">${x.met === null ? '–' : x.met ? '✓' : '✗'} ${esc(x.text)}</span>`).join('<br>');
    const cells = [
      `<td class="name">${esc(r.name)}</td>`, `<td>${esc(r.bound)}</td>`,
      `<td>${t(r.ours)}</td>`, `<td>${rate(r, r.ours)}</td>`, `<td>${pct(r.ours)}</td>`,
      `<td>${r.peer ? t(r.peer) : '–'}</td>`, `<td>${r.peer ? rate(r, r.peer) : '–'}</td>`, `<td>${r.peer ? pct(r.peer) : '–'}</td>`,
      `<td class="ratio">${r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : '–'}</td>`,
      ...engines.flatMap((id) => engineCells(r, id)),
      `<td>${r.oursFast ? rate(r, r.oursFast) : '–'}</td>`, `<td>${r.oursFast ? pct(r.oursFast) : '–'}</td>`,
      `<td class="targets">${targets}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return `<table id="results"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.join('\n')}</tbody></table>`;
}

/** TF.js cpu backend rows (cases with `cpuReference`): CPU reference points. */
function cpuTable(rows: Row[]): string {
  const cpu = rows.filter((r) => r.cpu);
  if (!cpu.length) return '';
  const t = (s: Row['ours']) => (ok(s) ? `${ms(s.medianMs)} / ${ms(s.minMs)}` : s ? 'error' : '–');
  const body = cpu.map(
    (r) => `<tr><td class="name">${esc(r.name)}</td><td>${t(r.cpu)}</td><td>${rate(r, r.cpu)}</td><td class="ratio">${r.cpuRatio !== undefined ? `${r.cpuRatio.toFixed(1)}×` : '–'}</td></tr>`,
  );
  return `<h2>CPU reference points (TF.js cpu backend, same peer code)</h2><table id="cpu"><thead><tr><th>case</th><th>TF.js cpu ms med/min</th><th>TF.js cpu</th><th>ours/cpu</th></tr></thead><tbody>${body.join('')}</tbody></table>`;
}

function stepDetails(rows: Row[]): string {
  const parts: string[] = [];
  for (const r of rows) {
    const d = r.details?.ours as { dispatchesPerStep?: number; submitsPerStep?: number; readbacksPerStep?: number; peakPooledBytes?: number; params?: number } | undefined;
    if (!d || d.dispatchesPerStep === undefined) continue;
    parts.push(
      `<li><b>${esc(r.name)}</b>: ours ${rate(r, r.ours)}${r.peer ? `, TF.js ${rate(r, r.peer)}` : ''}${r.ratio !== undefined ? ` (<b>${r.ratio.toFixed(1)}×</b>)` : ''}; ` +
        `${(d.params ?? 0).toLocaleString('en-US')} parameters; per step ${d.dispatchesPerStep} dispatches, ${d.submitsPerStep} submits, ${d.readbacksPerStep} readbacks; ` +
        `peak pooled GPU memory ${((d.peakPooledBytes ?? 0) / 2 ** 20).toFixed(1)} MiB</li>`,
    );
  }
  return parts.length ? `<h2>Whole training steps</h2><ul>${parts.join('')}</ul>` : '';
}

function compareSection(c: HtmlReportInput['compare']): string {
  if (!c) return '';
  const flagged = c.rows.filter((r) => r.verdict !== 'noise');
  const rows = flagged.map(
    (r) => `<tr class="${r.verdict}"><td>${esc(r.verdict)}</td><td class="name">${esc(r.name)}</td><td>${esc(r.side)}</td><td>${ms(r.newMedianMs)}</td><td>${ms(r.oldMedianMs)} [${ms(r.oldMinMs)}, ${ms(r.oldMaxMs)}]</td><td>${r.speedup.toFixed(2)}×</td></tr>`,
  );
  return `<h2>Compared with ${esc(c.against)}</h2><p>${esc(c.rule)}. ${c.rows.length} row sides compared, ${flagged.length} outside noise.</p>${
    rows.length ? `<table><thead><tr><th>verdict</th><th>case</th><th>side</th><th>new ms</th><th>old ms [min, max]</th><th>speed</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : ''
  }`;
}

export async function renderHtmlReport(report: HtmlReportInput): Promise<string> {
  const rows = report.rows;
  const charts: string[] = [];
  const add = async (title: string, spec: ChartSpec | null) => {
    if (!spec) return;
    try {
      charts.push(`<figure class="chart" data-chart="${esc(title)}">${await renderSvg(spec)}</figure>`);
    } catch (e) {
      charts.push(`<p class="miss">chart '${esc(title)}' failed: ${esc((e as Error).message)}</p>`);
    }
  };
  await add('ratio', ratioSpec(rows));
  await add('peer ratios', engineRatioSpec(rows));
  await add('roofline', rooflineSpec(rows));
  for (const r of rows) {
    const p = (r.details?.ours as { profile?: Breakdown } | undefined)?.profile;
    if (p?.kernels?.length) await add(`breakdown ${r.name}`, breakdownSpec(r, p));
  }
  const notes = rows.filter((r) => r.note).map((r) => `<li><b>${esc(r.name)}</b>: ${esc(r.note)}</li>`);
  const errors = rows.flatMap((r) => [
    ...(['ours', 'peer', 'oursFast', 'cpu'] as const).flatMap((k) => {
      const s = r[k];
      return s && !ok(s) && 'error' in s ? [`<li><b>${esc(r.name)}</b> (${k}): ${esc(s.error)}</li>`] : [];
    }),
    ...(Object.entries(r.engines ?? {}) as [EngineId, Row['ours']][]).flatMap(([id, s]) =>
      s && !ok(s) && 'error' in s ? [`<li><b>${esc(r.name)}</b> (${ENGINES[id].label}): ${esc(s.error)}</li>`] : [],
    ),
  ]);
  const checks = rows
    .filter((r) => r.checks && Object.keys(r.checks).length)
    .map((r) => `<li><b>${esc(r.name)}</b>: ${Object.entries(r.checks!).map(([k, c]) => `${esc(k === 'tfjs' ? 'TF.js' : ENGINES[k as EngineId]?.label ?? k)} <span class="${c.ok ? 'ok' : 'miss'}">${c.ok ? 'ok' : 'mismatch'}</span> (max |Δ| ${c.maxAbsErr.toExponential(1)})`).join(', ')}</li>`);
  const engineLine = Object.values(report.engines ?? {}).map((e) => `${esc(e.name)} ${e.version ? esc(e.version) : `<span class="miss">failed to load: ${esc(e.error)}</span>`}`).join(' · ');
  const h = report;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nfnet-webgpu bench ${esc(h.date)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px; color: #1a1a1a; background: #fff; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 17px; margin: 24px 0 8px; }
.meta { color: #444; font-size: 13px; }
table { border-collapse: collapse; font-size: 12.5px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: 3px 7px; text-align: right; white-space: nowrap; }
th { background: #f3f5f7; } td.name { text-align: left; font-family: ui-monospace, monospace; } td.targets { text-align: left; }
tr:nth-child(even) td { background: #fafbfc; } td.ratio { font-weight: 600; }
.ok { color: #2e7d32; } .miss { color: #c62828; font-weight: 600; } .na { color: #777; }
tr.regression td { color: #c62828; } tr.improvement td { color: #2e7d32; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; } figure.chart { margin: 0; } figure.chart svg { max-width: 100%; height: auto; }
ul { padding-left: 20px; } li { margin: 2px 0; }
</style></head><body>
<h1>nfnet-webgpu bench</h1>
<p class="meta">${esc(h.date)} · ${h.options.full ? 'full' : 'quick'} mode · ${h.durationS.toFixed(0)} s · adapter <b>${esc(h.adapter.description || h.adapter.architecture)}</b> (${esc(h.adapter.vendor)}) ·
roofline ${h.ceilings.gflops.toFixed(2)} GFLOP/s multiply-add, ${h.ceilings.gbs.toFixed(2)} GB/s copy${h.fastCeilings ? ` (fast: ${h.fastCeilings.gflops.toFixed(2)} GFLOP/s, ${h.fastCeilings.gbs.toFixed(2)} GB/s)` : ''} ·
load average ${h.host.loadavg.map((x) => x.toFixed(1)).join(' ')} on ${h.host.cpus} × ${esc(h.host.cpuModel)} · node ${esc(h.node)} · git ${esc(h.git.commit?.slice(0, 10) ?? '?')}${h.git.dirty ? ' (dirty)' : ''} · schema ${esc(h.schema)}</p>
${engineLine ? `<p class="meta">peers besides TF.js (same process, same Dawn instance; our init() also changes Dawn's polling for them, docs/bench.md): ${engineLine}</p>` : ''}
<h2>Results</h2>
${table(rows)}
<p class="meta">time = wall per repetition (record + submit + wait for the queue), median / min after a warm-up, ours and the peers interleaved; %roof vs min(peak FLOP/s, intensity × peak GB/s); ours/TF.js, ours/jax-js, ours/ORT = throughput ratios (&gt; 1: ours faster).</p>
${checks.length ? `<h2>Result checks before timing</h2><p class="meta">max |peer − ours| ≤ tol · max(1, max |ours|) over the row's result; a mismatch is reported, not timed.</p><ul>${checks.join('')}</ul>` : ''}
${cpuTable(rows)}
${stepDetails(rows)}
${compareSection(h.compare)}
<h2>Charts</h2>
<div class="charts">${charts.join('\n')}</div>
${notes.length ? `<h2>Notes</h2><ul>${notes.join('')}</ul>` : ''}
${errors.length ? `<h2>Errors</h2><ul class="miss">${errors.join('')}</ul>` : ''}
</body></html>
`;
}

export async function writeHtmlReport(file: string, report: HtmlReportInput): Promise<void> {
  writeFileSync(file, await renderHtmlReport(report));
}
