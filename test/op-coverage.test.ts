// Every op in ops.definitions must have at least one test written with `opTest('<name>', …)`
// (test/harness.ts), which runs a float64 reference check (and, for differentiable ops,
// a gradient check). Adding an op to ops.definitions without a test fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { definitions } from '../src/ops/index.js';
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

describe('op coverage', () => {
  it('every op in ops.definitions has an opTest case', () => {
    const covered = coverage();
    const missing = Object.keys(definitions).filter((name) => !covered.has(name));
    expect(missing, `ops in src/ops/index.ts definitions without an opTest('<name>', …) test`).toEqual([]);
  });

  it('every opTest names an op that is in ops.definitions', () => {
    const unknown = [...coverage().keys()].filter((name) => !(name in definitions));
    expect(unknown).toEqual([]);
  });

  it('definitions keys match the op names their specs declare', () => {
    for (const [key, def] of Object.entries(definitions)) expect(def.spec.name, `definitions.${key}`).toBe(key);
  });

  it('the comparison ops are marked not differentiable', () => {
    const nd = Object.entries(definitions)
      .filter(([, def]) => def.spec.backward === notDifferentiable)
      .map(([k]) => k)
      .sort();
    expect(nd.filter((k) => ['eq', 'ge', 'gt', 'le', 'lt'].includes(k))).toEqual(['eq', 'ge', 'gt', 'le', 'lt']);
  });
});
