/**
 * The cross-check before timing: a peer's result must equal ours within a tolerance, or its
 * side is reported as a mismatch instead of timed. Rule: max |peer − ours| ≤ tol · max(1,
 * max |ours|), elementwise over the row's result in one canonical layout (ours': NHWC,
 * HWIO). Scaling by the largest magnitude keeps one tolerance valid for a logit vector and
 * for a 1024-term matmul whose entries reach ~100.
 */
import type { Runner } from './registry.js';
export interface CheckResult {
  /** max |peer − ours| over the result. */
  maxAbsErr: number;
  /** The bound it was held to: tol · max(1, max |ours|). */
  bound: number;
  ok: boolean;
  /** Why it failed, in words (length or value mismatch); absent when ok. */
  message?: string;
}

/** Default relative tolerance (float32 engines summing in different orders). */
export const CHECK_TOL = 1e-3;

export function checkResult(ours: Float32Array, peer: Float32Array, tol = CHECK_TOL): CheckResult {
  let scale = 1;
  for (const v of ours) scale = Math.max(scale, Math.abs(v));
  const bound = tol * scale;
  if (ours.length !== peer.length) {
    return { maxAbsErr: Number.POSITIVE_INFINITY, bound, ok: false, message: `result has ${peer.length} values, ours ${ours.length}` };
  }
  let maxAbsErr = 0;
  let at = -1;
  for (let i = 0; i < ours.length; i++) {
    const e = Math.abs(peer[i]! - ours[i]!);
    // A NaN anywhere is a mismatch: NaN comparisons are false, so test it explicitly.
    if (Number.isNaN(e) ? !(Number.isNaN(peer[i]!) && Number.isNaN(ours[i]!)) : e > maxAbsErr) {
      maxAbsErr = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
      at = i;
    }
  }
  const ok = maxAbsErr <= bound;
  return ok
    ? { maxAbsErr, bound, ok }
    : { maxAbsErr, bound, ok, message: `result differs from ours: max |Δ| ${maxAbsErr.toExponential(2)} > ${bound.toExponential(2)} at [${at}] (ours ${ours[at]}, peer ${peer[at]})` };
}

/**
 * The cross-check of one row, before timing: `names[i]` is 'ours' for our side, the name a
 * peer's check is stored under (e.g. 'jax'), or null for sides that are not checked. Ours'
 * result against each named side's that has one; a peer that differs (or fails to produce
 * one) is disposed and replaced in `prepared` by an error, so it is never timed.
 */
export async function crossCheck(names: readonly (string | null)[], prepared: (Runner | { error: string })[], tol = CHECK_TOL): Promise<Record<string, CheckResult>> {
  const checks: Record<string, CheckResult> = {};
  const ours = prepared[names.indexOf('ours')];
  if (!ours || !('run' in ours) || !ours.result) return checks;
  let want: Float32Array;
  try {
    want = await ours.result();
  } catch {
    return checks; // ours' own error shows when it is timed
  }
  for (const [i, name] of names.entries()) {
    const p = prepared[i]!;
    if (!name || name === 'ours' || !('run' in p) || !p.result) continue;
    let r: CheckResult;
    try {
      r = checkResult(want, await p.result(), tol);
    } catch (e) {
      r = { maxAbsErr: Number.NaN, bound: 0, ok: false, message: `result failed: ${(e as Error).name}: ${(e as Error).message}` };
    }
    checks[name] = r;
    if (!r.ok) {
      prepared[i] = { error: `not timed: ${r.message}` };
      try {
        await p.dispose();
      } catch {
        /* the mismatch is the interesting error */
      }
    }
  }
  return checks;
}
