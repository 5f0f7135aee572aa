// Every op in the registry must have at least one test written with `opTest('<name>', …)`
// (test/harness.ts), which runs a float64 reference check (and, for differentiable ops,
// a gradient check). Adding an op to the registry without a test fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registry } from '../src/ops/index.js';
import { notDifferentiable } from '../src/index.js';

const dir = new URL('./', import.meta.url);
const sources = readdirSync(dir)
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => ({ file: f, text: readFileSync(new URL(f, dir), 'utf8') }));

/** op name → test files with an `opTest('<name>'` call. */
function coverage(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const { file, text } of sources) {
    for (const m of text.matchAll(/\bopTest\(\s*['"`](\w+)['"`]/g)) {
      const files = found.get(m[1]!) ?? [];
      if (!files.includes(file)) files.push(file);
      found.set(m[1]!, files);
    }
  }
  return found;
}

describe('op registry coverage', () => {
  it('every registry op has an opTest case', () => {
    const covered = coverage();
    const missing = Object.keys(registry).filter((name) => !covered.has(name));
    expect(missing, `ops in src/ops/index.ts registry without an opTest('<name>', …) test`).toEqual([]);
  });

  it('every opTest names an op that is in the registry', () => {
    const unknown = [...coverage().keys()].filter((name) => !(name in registry));
    expect(unknown).toEqual([]);
  });

  it('registry keys match the op names their specs declare', () => {
    for (const [key, def] of Object.entries(registry)) expect(def.spec.name, `registry.${key}`).toBe(key);
  });

  it('the comparison ops are marked not differentiable', () => {
    const nd = Object.entries(registry)
      .filter(([, def]) => def.spec.backward === notDifferentiable)
      .map(([k]) => k)
      .sort();
    expect(nd.filter((k) => ['eq', 'ge', 'gt', 'le', 'lt'].includes(k))).toEqual(['eq', 'ge', 'gt', 'le', 'lt']);
  });
});
