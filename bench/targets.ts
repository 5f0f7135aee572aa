/** Targets of bench rows (registry `targets`), checked once every row is measured. */
import { ENGINES, type Target } from './registry.js';
import type { Row, SideResult } from './types.js';

export interface TargetResult {
  /** Human-readable goal, e.g. `≥ 6× TF.js`. */
  text: string;
  /** The measured value in the goal's unit (ratio, % of row, % of roofline); null when not measurable. */
  value: number | null;
  /** null: could not be checked (a side missing or failed). */
  met: boolean | null;
}

const ok = (s: Row['ours']): s is SideResult => !!s && 'medianMs' in s;

export function checkTargets(row: Row, targets: readonly Target[], rows: readonly Row[]): TargetResult[] {
  return targets.map((t) => {
    if (t.kind === 'ratio') {
      const v = row.ratio ?? null;
      return { text: `≥ ${t.min}× TF.js`, value: v, met: v === null ? null : v >= t.min };
    }
    if (t.kind === 'engineRatio') {
      const v = row.engineRatios?.[t.engine] ?? null;
      return { text: `≥ ${t.min}× ${ENGINES[t.engine].label}`, value: v, met: v === null ? null : v >= t.min };
    }
    if (t.kind === 'pctCopyAtSize') {
      const copy = row.copyAtSize;
      const v = ok(row.ours) && ok(copy) ? (100 * row.ours.gbs) / copy.gbs : null;
      return { text: `≥ ${t.min}% of a copy of the same bytes`, value: v, met: v === null ? null : v >= t.min };
    }
    if (t.kind === 'pctRoofline') {
      const v = ok(row.ours) ? row.ours.pctRoofline : null;
      return { text: `≥ ${t.min}% roofline`, value: v, met: v === null ? null : v >= t.min };
    }
    const other = rows.find((r) => r.name === t.row);
    const v = ok(row.ours) && other && ok(other.ours) ? (100 * row.ours.gflops) / other.ours.gflops : null;
    return { text: `≥ ${t.min}% of ${t.row}`, value: v, met: v === null ? null : v >= t.min };
  });
}

export function formatTarget(r: TargetResult): string {
  if (r.value === null) return `${r.text}: –`;
  const v = r.text.includes('×') ? `${r.value.toFixed(1)}×` : `${r.value.toFixed(0)}%`;
  return `${r.met ? 'ok' : 'MISS'} ${v} (${r.text})`;
}
