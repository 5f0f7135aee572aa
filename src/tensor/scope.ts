/**
 * Memory scopes. Every tensor created while a scope is open is registered in it; when the
 * scope closes, the tensors it created are disposed except those returned from it (and
 * those passed to `keep`). `valueAndGrad` opens one around the user's function, so the
 * intermediates of a training step are freed without any bookkeeping by the caller.
 */
import type { Tensor } from './tensor.js';
import { ValueError } from '../runtime/errors.js';
import { checkFunction, describeValue } from '../runtime/validate.js';

const stack: Set<Tensor>[] = [];
const kept = new WeakSet<Tensor>();

export function registerInScope(t: Tensor): void {
  stack[stack.length - 1]?.add(t);
}

/** Exclude a tensor from disposal by every enclosing scope. */
export function keep<T extends Tensor>(t: T): T {
  if (!t || typeof t !== 'object' || !('checkedStorage' in t)) throw new ValueError(`keep: expected a Tensor, got ${describeValue(t)}`);
  kept.add(t);
  for (const s of stack) s.delete(t);
  return t;
}

export function collectTensors(value: unknown, out: Set<Tensor> = new Set()): Set<Tensor> {
  if (value && typeof value === 'object') {
    if ('checkedStorage' in value) out.add(value as Tensor);
    else if (Array.isArray(value)) for (const v of value) collectTensors(v, out);
    else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, out);
  }
  return out;
}

export function openScope(): Set<Tensor> {
  const s = new Set<Tensor>();
  stack.push(s);
  return s;
}

/** Close the innermost scope, disposing what it created except `survivors`. */
export function closeScope(s: Set<Tensor>, survivors: Set<Tensor>): void {
  const top = stack.pop();
  if (top !== s) throw new Error('internal: memory scopes closed out of order');
  const parent = stack[stack.length - 1];
  for (const t of s) {
    if (survivors.has(t) || kept.has(t)) parent?.add(t);
    else t.dispose();
  }
}

/**
 * Run `fn` and dispose every tensor it created, except those it returns (found in arrays
 * and plain objects). Synchronous functions only: a scope never spans an `await`.
 */
export function tidy<T>(fn: () => T): T {
  checkFunction('tidy', 'fn', fn, true);
  const s = openScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    closeScope(s, new Set());
    throw e;
  }
  if (result instanceof Promise) {
    closeScope(s, new Set());
    throw new ValueError('tidy() takes a synchronous function: a memory scope must not span an await');
  }
  closeScope(s, collectTensors(result));
  return result;
}
