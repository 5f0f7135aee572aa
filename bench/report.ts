/** The console table printed at the end of `npm run bench`. */
import type { Row, SideResult } from './types.js';
import { formatTarget } from './targets.js';
import { ENGINES, type EngineId } from './registry.js';

type Side = SideResult | { error: string } | undefined;

const ok = (s: Side): s is SideResult => !!s && 'medianMs' in s;

function ms(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function rate(row: Row, s: Side): string {
  if (!ok(s)) return s ? 'error' : '–';
  if (row.items && s.itemsPerS !== undefined) return `${s.itemsPerS.toFixed(s.itemsPerS >= 10 ? 1 : 2)} ${row.items.unit}/s`;
  if (!row.flops && !row.bytes) return '–'; // timed only (cold starts)
  return row.bound === 'compute' ? `${s.gflops.toFixed(2)} GFLOP/s` : `${s.gbs.toFixed(2)} GB/s`;
}

function pct(s: Side): string {
  return ok(s) && s.pctRoofline !== null ? `${s.pctRoofline.toFixed(0)}%` : '–';
}

function timing(s: Side): string {
  return ok(s) ? `${ms(s.medianMs)} / ${ms(s.minMs)}` : '–';
}

/** The other peers (jax-js, ORT) that have a side in some row, in ENGINES order. */
export function enginesIn(rows: readonly Row[]): EngineId[] {
  return (Object.keys(ENGINES) as EngineId[]).filter((id) => rows.some((r) => r.engines?.[id]));
}

/** Table cells of one peer engine: time, rate, ours/it. */
function engineCells(r: Row, id: EngineId): string[] {
  const s = r.engines?.[id];
  const ratio = r.engineRatios?.[id];
  return [s ? timing(s) : '–', s ? rate(r, s) : '–', ratio !== undefined ? `${ratio.toFixed(2)}×` : s ? 'error' : '–'];
}

type EngineInfo = Partial<Record<EngineId, { name: string; version?: string; error?: string }>>;

export function formatTable(rows: Row[], report: { ceilings: { gflops: number; gbs: number }; fastCeilings: { gflops: number; gbs: number } | null; host: { loadavg: number[] }; adapter: { description: string; architecture: string }; timing: { gpuTimestamps: boolean }; durationS: number; engines?: EngineInfo }): string {
  const engines = enginesIn(rows);
  const engineHead = engines.flatMap((id) => [`${ENGINES[id].label} ms med/min`, ENGINES[id].label, `ours/${ENGINES[id].label}`]);
  const head = ['case', 'bound', 'ours ms med/min', 'GPU ts ms', 'ours', '%roof', 'TF.js ms med/min', 'TF.js', '%roof', 'ours/TF.js', ...engineHead, 'ours fast', '%roof', 'target'];
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
    ...engines.flatMap((id) => engineCells(r, id)),
    r.oursFast ? rate(r, r.oursFast) : '–',
    r.oursFast ? pct(r.oursFast) : '–',
    r.targets?.length ? r.targets.map((t) => `${t.met === null ? '–' : t.met ? 'ok' : 'MISS'} ${t.text}`).join('; ') : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [
    `adapter: ${report.adapter.description || report.adapter.architecture}; roofline: ${report.ceilings.gflops.toFixed(2)} GFLOP/s multiply-add, ${report.ceilings.gbs.toFixed(2)} GB/s copy${report.fastCeilings ? ` (fast: ${report.fastCeilings.gflops.toFixed(2)} GFLOP/s, ${report.fastCeilings.gbs.toFixed(2)} GB/s)` : ''}; total ${report.durationS.toFixed(0)} s; load average ${report.host.loadavg.map((x) => x.toFixed(1)).join(' ')}`,
    ...(report.engines && Object.keys(report.engines).length
      ? [`peers: ${(Object.entries(report.engines) as [EngineId, { name: string; version?: string; error?: string }][]).map(([, e]) => `${e.name} ${e.version ?? `FAILED TO LOAD (${e.error})`}`).join('; ')} (same process, one Dawn instance shared by the peers)`]
      : []),
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ];
  const cpu = rows.filter((r) => r.cpu);
  if (cpu.length) {
    out.push('TF.js cpu backend (CPU reference points, same peer code; ms med/min, throughput, ours/cpu):');
    const w = Math.max(...cpu.map((r) => r.name.length));
    for (const r of cpu) out.push(`  ${r.name.padEnd(w)}  ${timing(r.cpu).padStart(15)}  ${rate(r, r.cpu).padStart(14)}  ${r.cpuRatio !== undefined ? `${r.cpuRatio.toFixed(1)}×` : '–'}`);
  }
  const errors = rows.flatMap((r) => [
    ...(['ours', 'peer', 'oursFast', 'cpu'] as const).flatMap((k) => {
      const s = r[k];
      return s && 'error' in s && !ok(s) ? [`  ${r.name} (${k}): ${s.error}`] : [];
    }),
    ...(Object.entries(r.engines ?? {}) as [EngineId, Side][]).flatMap(([id, s]) => (s && !ok(s) ? [`  ${r.name} (${ENGINES[id].label}): ${s.error}`] : [])),
  ]);
  if (errors.length) out.push('errors:', ...errors);
  const targets = rows.flatMap((r) => (r.targets ?? []).map((t) => `  ${r.name}: ${formatTarget(t)}`));
  if (targets.length) out.push('targets:', ...targets);
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.name}: ${r.note}`);
  if (notes.length) out.push('notes:', ...notes);
  const checked = rows.filter((r) => r.checks && Object.keys(r.checks).length);
  if (checked.length) {
    out.push('result checks before timing (max |peer − ours| ≤ tol · max(1, max |ours|)):');
    for (const r of checked) {
      const parts = Object.entries(r.checks!).map(([k, c]) => `${k === 'tfjs' ? 'TF.js' : ENGINES[k as EngineId]?.label ?? k} ${c.ok ? 'ok' : 'MISMATCH'} ${Number.isFinite(c.maxAbsErr) ? c.maxAbsErr.toExponential(1) : c.maxAbsErr}`);
      out.push(`  ${r.name}: ${parts.join(', ')}`);
    }
  }
  out.push(
    `time = wall per repetition (record + submit + wait for the queue), median / min after a warm-up, ours and the peers interleaved; GPU ts = median of our profiler's timestamp sums in separate profiled repetitions; %roof = vs min(peak FLOP/s, intensity × peak GB/s); ours/TF.js, ours/jax-js, ours/ORT = throughput ratios (> 1: ours faster); ours fast = init({ fast: true }), %roof vs the fast-mode roofline${report.timing.gpuTimestamps ? '' : '; no timestamp-query on this adapter'}`,
  );
  return out.join('\n');
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** Whole-step details (dispatches/submits per step, peak pooled memory, kernel breakdown). */
export function formatDetails(rows: Row[]): string {
  const out: string[] = [];
  for (const r of rows) {
    const d = r.details?.ours as
      | { dispatchesPerStep?: number; submitsPerStep?: number; readbacksPerStep?: number; peakPooledBytes?: number; params?: number; error?: string;
          profile?: { mode: string; totalMs: number; kernels: { kernel: string; calls: number; ms: number; share: number }[] } }
      | undefined;
    if (!d) continue;
    if (d.error) {
      out.push(`${r.name}: details failed: ${d.error}`);
      continue;
    }
    const img = ok(r.ours) && r.ours.itemsPerS !== undefined ? `${r.ours.itemsPerS.toFixed(2)} img/s` : '';
    const peer = ok(r.peer) && r.peer.itemsPerS !== undefined ? `; TF.js ${r.peer.itemsPerS.toFixed(2)} img/s (${r.ratio?.toFixed(1)}× ours faster)` : '';
    out.push(
      `${r.name}: ours ${img}${peer}; ${d.params?.toLocaleString('en-US') ?? '?'} params; per step ${d.dispatchesPerStep} dispatches, ${d.submitsPerStep} submits, ${d.readbacksPerStep} readbacks; peak pooled GPU memory ${mb(d.peakPooledBytes ?? 0)}`,
    );
    if (d.profile) {
      out.push(`  kernel breakdown of one step (${d.profile.mode}, ${d.profile.totalMs.toFixed(0)} ms summed):`);
      const w = Math.max(...d.profile.kernels.map((k) => k.kernel.length));
      for (const k of d.profile.kernels) out.push(`    ${k.kernel.padEnd(w)}  ${k.ms.toFixed(1).padStart(8)} ms  ${(100 * k.share).toFixed(1).padStart(5)}%  ${String(k.calls).padStart(5)} calls`);
    }
  }
  return out.join('\n');
}
