/** The console table printed at the end of `npm run bench`. */
import type { Row, SideResult } from './main.js';

type Side = SideResult | { error: string } | undefined;

const ok = (s: Side): s is SideResult => !!s && 'medianMs' in s;

function ms(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function rate(row: Row, s: Side): string {
  if (!ok(s)) return s ? 'error' : '–';
  return row.bound === 'compute' ? `${s.gflops.toFixed(2)} GFLOP/s` : `${s.gbs.toFixed(2)} GB/s`;
}

function pct(s: Side): string {
  return ok(s) && s.pctRoofline !== null ? `${s.pctRoofline.toFixed(0)}%` : '–';
}

function timing(s: Side): string {
  return ok(s) ? `${ms(s.medianMs)} / ${ms(s.minMs)}` : '–';
}

export function formatTable(rows: Row[], report: { ceilings: { gflops: number; gbs: number }; fastCeilings: { gflops: number; gbs: number } | null; host: { loadavg: number[] }; adapter: { description: string; architecture: string }; timing: { gpuTimestamps: boolean }; durationS: number }): string {
  const head = ['case', 'bound', 'ours ms med/min', 'GPU ts ms', 'ours', '%roof', 'TF.js ms med/min', 'TF.js', '%roof', 'ours/TF.js', 'ours fast', '%roof'];
  const body = rows.map((r) => [
    r.name,
    r.bound,
    timing(r.ours),
    ok(r.ours) && r.ours.gpuMedianMs !== undefined ? ms(r.ours.gpuMedianMs) : '–',
    rate(r, r.ours),
    pct(r.ours),
    r.peer ? timing(r.peer) : '–',
    r.peer ? rate(r, r.peer) : '–',
    r.peer ? pct(r.peer) : '–',
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : '–',
    r.oursFast ? rate(r, r.oursFast) : '–',
    r.oursFast ? pct(r.oursFast) : '–',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [
    `adapter: ${report.adapter.description || report.adapter.architecture}; roofline: ${report.ceilings.gflops.toFixed(2)} GFLOP/s multiply-add, ${report.ceilings.gbs.toFixed(2)} GB/s copy${report.fastCeilings ? ` (fast: ${report.fastCeilings.gflops.toFixed(2)} GFLOP/s, ${report.fastCeilings.gbs.toFixed(2)} GB/s)` : ''}; total ${report.durationS.toFixed(0)} s; load average ${report.host.loadavg.map((x) => x.toFixed(1)).join(' ')}`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ];
  const errors = rows.flatMap((r) =>
    (['ours', 'peer', 'oursFast'] as const).flatMap((k) => {
      const s = r[k];
      return s && 'error' in s && !ok(s) ? [`  ${r.name} (${k}): ${s.error}`] : [];
    }),
  );
  if (errors.length) out.push('errors:', ...errors);
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.name}: ${r.note}`);
  if (notes.length) out.push('notes:', ...notes);
  out.push(
    `time = wall per repetition (record + submit + wait for the queue), median / min after a warm-up, ours and TF.js interleaved; GPU ts = median of our profiler's timestamp sums; %roof = vs min(peak FLOP/s, intensity × peak GB/s); ours/TF.js = throughput ratio; ours fast = init({ fast: true }), %roof vs the fast-mode roofline${report.timing.gpuTimestamps ? '' : '; no timestamp-query on this adapter'}`,
  );
  return out.join('\n');
}
