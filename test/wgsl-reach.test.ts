// Reflection reads only what an entry point reaches (src/runtime/wgsl-reach.ts): for every
// entry point of every kernel family the library defines, the bindings, uniform layout and
// overrides must be those that reflecting the whole family's source gives.
import { describe, expect, it } from 'vitest';
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import '../src/index.js';
import { familySources } from '../src/runtime/kernel.js';
import { reachableSource } from '../src/runtime/wgsl-reach.js';

/** What the runtime takes from reflection for one entry point. */
function summary(r: WgslReflect, entry: string) {
  const fn = r.entry.compute.find((e) => e.name === entry);
  if (!fn) return null;
  return {
    bindings: fn.resources.map((v) => `${v.group}/${v.binding} ${v.name} ${v.access} ${v.type.name}<${(v.type as { format?: { name: string } }).format?.name ?? ''}> ${v.type.size}`).sort(),
    overrides: r.overrides.map((o) => o.name).sort(),
  };
}

describe('reachableSource', () => {
  const families = [...familySources()];

  it('sees the library\'s kernel families', () => {
    expect(families.length).toBeGreaterThan(20);
  });

  it('gives every entry point of every family the reflection of the whole source', () => {
    let entries = 0;
    for (const [family, source] of families) {
      const full = new WgslReflect(source);
      for (const { name } of full.entry.compute) {
        const pruned = reachableSource(source, name);
        expect(pruned.length, `${family}/${name} drops what it cannot reach`).toBeLessThanOrEqual(source.length);
        expect(summary(new WgslReflect(pruned), name), `${family}/${name}`).toEqual(summary(full, name));
        entries++;
      }
    }
    expect(entries).toBeGreaterThan(50);
  });

  it('keeps the functions an entry calls through others, and drops the rest with their attributes', () => {
    const source = `
      struct P { n: u32 }
      @group(0) @binding(0) var<uniform> params: P;
      @group(0) @binding(1) var<storage, read_write> a: array<f32>; // { a brace in a comment
      @group(0) @binding(2) var<storage, read_write> b: array<f32>;
      /* a block /* nested */ comment } */
      fn leaf() -> f32 { return a[0]; }
      fn middle() -> f32 { return leaf() + 1.0; }
      fn unused() { b[0] = 1.0; }
      @compute @workgroup_size(1) fn first() { a[1] = middle(); }
      @compute @workgroup_size(1) fn second() { unused(); }
    `;
    const pruned = reachableSource(source, 'first');
    expect(pruned).toContain('fn leaf');
    expect(pruned).toContain('fn middle');
    expect(pruned).not.toContain('fn unused');
    expect(pruned).not.toContain('fn second');
    expect(pruned).toContain('var<storage, read_write> b'); // declarations stay
    const r = new WgslReflect(pruned);
    expect(r.entry.compute.map((e) => e.name)).toEqual(['first']);
    expect(r.entry.compute[0]!.resources.map((v) => v.name).sort()).toEqual(['a']);
  });
});
