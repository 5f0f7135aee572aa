/**
 * Argument checks shared by every public entry: option objects (unknown names rejected
 * with a did-you-mean), finite numbers, integers in range, booleans. They throw
 * ValueError naming the function, the argument, what was expected and what was given,
 * so a bad call fails here, on the CPU, and never as a plain TypeError deeper down.
 */
import { ValueError } from './errors.js';

/** A short, safe description of any value for an error message. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return `a function${v.name ? ` (${v.name})` : ''}`;
  if (typeof v === 'symbol') return String(v);
  if (Array.isArray(v)) return v.length <= 8 && v.every((x) => typeof x === 'number') ? `[${v.join(', ')}]` : `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  const ctor = Object.getPrototypeOf(v)?.constructor?.name;
  if (ctor && ctor !== 'Object') return `a ${ctor}${'toString' in (v as object) && (v as object).toString !== Object.prototype.toString ? ` ${String(v)}` : ''}`;
  return `an object {${Object.keys(v as object).slice(0, 6).join(', ')}}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** " (did you mean 'x'?)" for the closest known name within a few edits, else "". */
export function didYouMean(name: string, known: readonly string[]): string {
  let best = '';
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best && bestD <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

/**
 * An options argument: undefined (→ {}) or a plain object whose keys are all in `known`.
 * Returns it typed as T; the caller checks each value.
 */
export function checkOptions<T extends object>(fn: string, value: T | undefined, known: readonly string[], what = 'options'): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new ValueError(`${fn}: ${what} must be an object {${known.join(', ')}}, got ${describeValue(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new ValueError(`${fn}: unknown option '${key}'${didYouMean(key, known)}; known options: ${known.join(', ') || 'none'}`);
    }
  }
  return value;
}

/** A finite number (optionally within [min, max]); `undefined` passes when optional. */
export function checkNumber(fn: string, name: string, v: unknown, range: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {}): number {
  const { min = -Infinity, max = Infinity, integer = false, exclusiveMin = false } = range;
  const ok = typeof v === 'number' && Number.isFinite(v) && (integer ? Number.isInteger(v) : true) && (exclusiveMin ? v > min : v >= min) && v <= max;
  if (!ok) {
    const bounds = min === -Infinity && max === Infinity ? '' : ` in ${exclusiveMin ? '(' : '['}${min}, ${max}]`;
    throw new ValueError(`${fn}: ${name} must be a finite ${integer ? 'integer' : 'number'}${bounds}, got ${describeValue(v)}`);
  }
  return v as number;
}

export function checkBoolean(fn: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ValueError(`${fn}: ${name} must be true or false, got ${describeValue(v)}`);
  return v;
}

export function checkOneOf<T extends string>(fn: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    const hint = typeof v === 'string' ? didYouMean(v, allowed) : '';
    throw new ValueError(`${fn}: ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describeValue(v)}${hint}`);
  }
  return v as T;
}

/** A function argument; `async` functions are refused where a memory scope would span an await. */
export function checkFunction(fn: string, name: string, v: unknown, syncOnly = false): void {
  if (typeof v !== 'function') throw new ValueError(`${fn}: ${name} must be a function, got ${describeValue(v)}`);
  if (syncOnly && v.constructor?.name === 'AsyncFunction') {
    throw new ValueError(`${fn}: ${name} must be a synchronous function (a memory scope and the tape must not span an await), got an async function`);
  }
}
