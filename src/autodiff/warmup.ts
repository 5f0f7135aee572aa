/**
 * `warmup(fn)`: build every pipeline that `fn` would dispatch, in the background and all
 * at once, before the work runs for real. A first forward spends most of its time building
 * pipelines one after the other on the recording thread (docs/bench.md, "Cold start");
 * warm-up hands them to Dawn's worker threads instead, which build them in parallel where
 * cores are free and while this thread does other work, such as loading weights:
 *
 *   const ready = warmup(() => model.forward(empty([2, 64, 64, 3])));
 *   importTimm(model, bytes);          // runs while the pipelines build
 *   await ready;
 *   const logits = model.forward(x);   // finds every pipeline ready
 */
import { backend } from '../runtime/init.js';
import type { PrebuildReport } from '../runtime/backend.js';
import { noGrad } from './tape.js';
import { tidy } from '../tensor/scope.js';

export type WarmupReport = PrebuildReport;

/**
 * Run `fn` in a planning mode in which ops check their inputs and name their pipelines
 * but nothing runs on the GPU, then build the pipelines it named that are not built yet.
 * `fn` must be synchronous and read nothing back; what it returns is disposed (its values
 * would be garbage) and no gradient is recorded. Input values do not matter, only shapes
 * and options: pass `empty(shape)`. Host-side state that `fn` touches moves on as if it
 * ran (e.g. the automatic seed of a `randn` without `seed`). Resolves when every pipeline
 * is ready (`built`: how many were new).
 */
export function warmup(fn: () => unknown): Promise<WarmupReport> {
  // tidy disposes what fn made (its result included) and refuses a promise.
  return backend().prebuild(() => noGrad(() => tidy(() => {
    const result = fn();
    if (!(result instanceof Promise)) return undefined;
    result.catch(() => {}); // refused below; its own rejection (e.g. a readback) is not a second error
    return result;
  })));
}
