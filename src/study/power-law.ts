/**
 * A power law y = a·x^b fitted by least squares on log-log axes: log y = log a + b·log x.
 * Scaling-law plots (held-out loss against compute) are straight lines there.
 */
import { ValueError } from '../runtime/errors.js';

export interface PowerLaw {
  a: number;
  b: number;
  /** Coefficient of determination of the fit in log space. */
  r2: number;
  points: number;
}

export function fitPowerLaw(xs: readonly number[], ys: readonly number[]): PowerLaw {
  if (xs.length !== ys.length) throw new ValueError(`fitPowerLaw: ${xs.length} x values and ${ys.length} y values`);
  if (xs.length < 2) throw new ValueError(`fitPowerLaw: needs at least 2 points, got ${xs.length}`);
  const bad = [...xs, ...ys].find((v) => !(Number.isFinite(v) && v > 0));
  if (bad !== undefined) throw new ValueError(`fitPowerLaw: every value must be finite and > 0 (log-log axes), got ${bad}`);
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const n = lx.length;
  const mx = lx.reduce((s, v) => s + v, 0) / n;
  const my = ly.reduce((s, v) => s + v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (lx[i]! - mx) ** 2;
    sxy += (lx[i]! - mx) * (ly[i]! - my);
    syy += (ly[i]! - my) ** 2;
  }
  if (sxx === 0) throw new ValueError('fitPowerLaw: every x is the same, so no slope can be fitted');
  const b = sxy / sxx;
  const logA = my - b * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ly[i]! - logA - b * lx[i]!) ** 2;
  return { a: Math.exp(logA), b, r2: syy === 0 ? 1 : 1 - sse / syy, points: n };
}

/** y of a fitted power law at x. */
export function powerLawAt(fit: PowerLaw, x: number): number {
  return fit.a * x ** fit.b;
}
