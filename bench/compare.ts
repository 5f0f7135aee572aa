/**
 * `--compare OLD.json`: rows of this run against a previous report.
 *
 * Rule (uses the repetitions, not just the medians): for each side (ours, TF.js, ours fast,
 * and the other peers: jax-js, ORT)
 * present in both reports, a row is a **regression** when the new median time is above
 * the old run's max time by more than 10% (new median > 1.1 × old max), an
 * **improvement** when it is below the old min by more than 10% (new median < old min / 1.1);
 * otherwise it is within noise. With one old repetition, min = max = that time.
 */
export interface CompareSide {
  medianMs: number;
  minMs: number;
  timesMs?: number[];
}

export interface CompareRow {
  name: string;
  side: 'ours' | 'peer' | 'oursFast' | 'jax' | 'ort';
  oldMedianMs: number;
  oldMinMs: number;
  oldMaxMs: number;
  newMedianMs: number;
  /** old median / new median: > 1 means faster now. */
  speedup: number;
  verdict: 'regression' | 'improvement' | 'noise';
}

export const COMPARE_MARGIN = 1.1;

type ReportLike = { rows: { name: string; ours?: unknown; peer?: unknown; oursFast?: unknown; engines?: { jax?: unknown; ort?: unknown } }[] };

const measured = (s: unknown): s is CompareSide => !!s && typeof s === 'object' && 'medianMs' in s && typeof (s as CompareSide).medianMs === 'number';

export function compareReports(oldReport: ReportLike, newReport: ReportLike): CompareRow[] {
  const out: CompareRow[] = [];
  for (const row of newReport.rows) {
    const old = oldReport.rows.find((r) => r.name === row.name);
    if (!old) continue;
    for (const side of ['ours', 'peer', 'oursFast', 'jax', 'ort'] as const) {
      const a = side === 'jax' || side === 'ort' ? old.engines?.[side] : old[side];
      const b = side === 'jax' || side === 'ort' ? row.engines?.[side] : row[side];
      if (!measured(a) || !measured(b)) continue;
      const times = a.timesMs?.length ? a.timesMs : [a.minMs, a.medianMs];
      const oldMin = Math.min(...times);
      const oldMax = Math.max(...times);
      const verdict = b.medianMs > oldMax * COMPARE_MARGIN ? 'regression' : b.medianMs < oldMin / COMPARE_MARGIN ? 'improvement' : 'noise';
      out.push({ name: row.name, side, oldMedianMs: a.medianMs, oldMinMs: oldMin, oldMaxMs: oldMax, newMedianMs: b.medianMs, speedup: a.medianMs / b.medianMs, verdict });
    }
  }
  return out;
}

export function formatCompare(rows: CompareRow[], oldLabel: string): string {
  const flagged = rows.filter((r) => r.verdict !== 'noise');
  const lines = [
    `compare vs ${oldLabel}: ${rows.length} row sides in both, ${flagged.filter((r) => r.verdict === 'regression').length} regressions, ${flagged.filter((r) => r.verdict === 'improvement').length} improvements (rule: new median outside old [min, max] by > 10%)`,
  ];
  const probe = rows.find((r) => r.name === 'roofline/fma' && r.side === 'ours');
  if (probe && probe.verdict !== 'noise') {
    lines.push(`  note: the roofline/fma probe itself moved ${probe.speedup.toFixed(2)}× — the machine's load (or clocks) changed between the runs; read the other rows relative to it`);
  }
  const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(2));
  for (const r of flagged) {
    lines.push(`  ${r.verdict === 'regression' ? 'REGRESSION ' : 'improvement'}  ${r.name} (${r.side}): ${f(r.newMedianMs)} ms vs old ${f(r.oldMedianMs)} ms [${f(r.oldMinMs)}, ${f(r.oldMaxMs)}] → ${r.speedup.toFixed(2)}× speed`);
  }
  return lines.join('\n');
}
