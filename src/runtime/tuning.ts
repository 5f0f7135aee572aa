/**
 * Tunable launch configurations. An op family with knobs that only change speed (workgroup
 * sizes, algorithm thresholds) declares one `Tunable`: its name in the tune cache, its
 * defaults and its validation. The current backend holds the active value of each (the
 * defaults, then the tune cache at `init()`, then whatever `npm run bench -- --tune` or a
 * user sets), so a fresh device starts from defaults + cache and nothing lives in module
 * globals. Ops read the value once per call and pass it down to their kernels.
 */
import { backend, registerTunable } from './init.js';

export interface Tunable<T extends object> {
  /** Key in the tune cache's `configs` (e.g. 'conv'). */
  readonly name: string;
  readonly defaults: Readonly<T>;
  /** `patch` over `base`, validated: throws a ValueError naming every field and its value. */
  merge(base: Readonly<T>, patch: Partial<T>): T;
}

/** Declare a tunable; `init()` applies the tune cache's entry of that name to the new backend. */
export function defineTunable<T extends object>(spec: Tunable<T>): Tunable<T> {
  const tunable = Object.freeze({ ...spec, defaults: Object.freeze({ ...spec.defaults }) });
  registerTunable(spec.name, (config) => backend().setTuning(tunable, config as Partial<T>));
  return tunable;
}
