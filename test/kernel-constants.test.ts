// Op codes have one definition, the TS table: the runtime writes them into the shader as
// `const` lines, the shader's switches name them, and the file's own line numbers survive
// in compile errors.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { KernelError, defineKernel, init, tensor, runKernel, type Gpu } from '../src/index.js';
import { codeConstants } from '../src/runtime/kernel.js';
import { elementwiseConstants, elementwiseKernel } from '../src/ops/elementwise.js';
import { UNARY_CODES } from '../src/ops/unary.js';
import { BINARY_CODES } from '../src/ops/binary.js';

const ELEMENTWISE_CONSTANTS = elementwiseConstants();
import { GAMMA, KIND_CODES } from '../src/ops/activation.js';

const shader = (file: string) => readFileSync(new URL(`../shaders/${file}`, import.meta.url), 'utf8');

/** The names used as `case` selectors of every switch in a WGSL source. */
function caseSelectors(source: string): string[] {
  return [...source.matchAll(/^\s*case\s+([^:{]+):/gm)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()));
}

const families = [
  { file: 'elementwise.wgsl', constants: ELEMENTWISE_CONSTANTS },
  { file: 'activation.wgsl', constants: codeConstants('KIND', KIND_CODES) },
  { file: 'elementwise-vec4.wgsl', constants: codeConstants('BINARY', BINARY_CODES) },
];

describe('op-code constants', () => {
  it('names a table entry PREFIX_UPPER_SNAKE', () => {
    expect(codeConstants('UNARY', { exp: 1, geluErf: 7 })).toEqual({ UNARY_EXP: 1, UNARY_GELU_ERF: 7 });
  });

  it('the tables give every op its own code, and cover every activation kind', () => {
    for (const table of [UNARY_CODES, BINARY_CODES, KIND_CODES]) {
      const codes = Object.values(table);
      expect(new Set(codes).size).toBe(codes.length);
    }
    expect(Object.keys(KIND_CODES).sort()).toEqual(Object.keys(GAMMA).sort());
  });

  for (const { file, constants } of families) {
    it(`shaders/${file}: every code of the TS table is a case of its switches, and no case is a bare number`, () => {
      const cases = caseSelectors(shader(file));
      expect(cases.length).toBeGreaterThan(0);
      const unused = Object.keys(constants).filter((name) => !cases.includes(name));
      expect(unused, `codes with no case in shaders/${file}`).toEqual([]);
      const literal = cases.filter((c) => /^\d/.test(c));
      expect(literal, `hand-numbered cases in shaders/${file}`).toEqual([]);
      expect(shader(file)).not.toMatch(/^\s*const\s+(UNARY|BINARY|KIND)_/m); // declared by the runtime only
    });
  }

  it('the compiled source declares each constant once, with the value of the table', () => {
    const { source } = elementwiseKernel('unary');
    expect(Object.keys(ELEMENTWISE_CONSTANTS).length).toBe(Object.keys(UNARY_CODES).length + Object.keys(BINARY_CODES).length);
    for (const [name, value] of Object.entries(ELEMENTWISE_CONSTANTS)) {
      const decl = source.match(new RegExp(`^const ${name}: u32 = (\\d+)u;$`, 'gm'));
      expect(decl, name).toHaveLength(1);
      expect(decl![0]).toBe(`const ${name}: u32 = ${value}u;`);
    }
    expect(ELEMENTWISE_CONSTANTS.UNARY_EXP).toBe(UNARY_CODES.exp);
    expect(ELEMENTWISE_CONSTANTS.BINARY_LE).toBe(BINARY_CODES.le);
  });

  it('locate() maps lines below the generated constants to the file’s own lines', () => {
    const src = 'diagnostic(off, derivative_uniformity);\n@group(0) @binding(0) var<storage, read_write> out: array<f32>;\n@compute @workgroup_size(1) fn main() {\n  out[0] = f32(A + B);\n}\n';
    const k = defineKernel('located', src, 'main', { constants: { A: 1, B: 2 } });
    const lines = k.source.split('\n');
    const at = (text: string) => lines.findIndex((l) => l.includes(text)) + 1;
    expect(k.locate(at('f32(A + B)'))).toBe('shaders/located.wgsl:4');
    expect(k.locate(at('fn main()'))).toBe('shaders/located.wgsl:3');
    expect(k.locate(at('const B: u32 = 2u;'))).toBe("shaders/located.wgsl (generated 'const B: u32 = 2u;')");
    expect(k.locate(at('fn flat_workgroup'))).toMatch(/^shaders\/common\.wgsl:\d+$/);
    expect(k.locate(1)).toBe("shaders/located.wgsl (directive 'diagnostic(off, derivative_uniformity);')");
  });

  it('rejects two sets of constants for one family, bad names and non-u32 values', () => {
    const src = '@group(0) @binding(0) var<storage, read_write> out: array<f32>;\n@compute @workgroup_size(1) fn main() { out[0] = f32(A); }\n';
    defineKernel('twice', src, 'main', { constants: { A: 1 } });
    defineKernel('twice', src, 'main', { constants: { A: 1 } }); // the same source again is fine
    expect(() => defineKernel('twice', src, 'main', { constants: { A: 2 } })).toThrow(KernelError);
    expect(() => defineKernel('twice', src, 'main', { constants: { A: 2 } })).toThrow(/defined twice with different sources or constants/);
    expect(() => defineKernel('badname', src, 'main', { constants: { a: 1 } })).toThrow(/constant name 'a' must be UPPER_SNAKE_CASE/);
    expect(() => defineKernel('badvalue', src, 'main', { constants: { A: -1 } })).toThrow(/constant A must be a u32/);
    expect(() => defineKernel('badvalue', src, 'main', { constants: { A: 1.5 } })).toThrow(/constant A must be a u32/);
  });
});

describe('op-code constants on the device', () => {
  let gpu: Gpu | null = null;
  afterEach(async () => {
    await gpu?.dispose();
    gpu = null;
  });

  it('a kernel reads its constants, and a compile error still names the file’s own line', async () => {
    gpu = await init({ verbose: false });
    const ok = defineKernel('constants-ok', '@group(0) @binding(0) var<storage, read_write> out: array<f32>;\n@compute @workgroup_size(1) fn main() { out[0] = f32(SEVEN * 2u + ONE); }\n', 'main', { constants: { SEVEN: 7, ONE: 1 } });
    const { out } = runKernel(ok, { outputs: { out: [1] }, workgroups: 1 });
    expect(Array.from(await out!.data())).toEqual([15]);

    const bad = defineKernel('constants-broken', `
diagnostic(off, derivative_uniformity);
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() { out[0] = f32(SEVEN) + undefined_name; }`, 'main', { constants: { SEVEN: 7 } });
    runKernel(bad, { outputs: { out: tensor([0]) }, workgroups: 1 });
    const err = await gpu.sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(String((err as Error).message)).toMatch(/shaders\/constants-broken\.wgsl:4:\d+: .*undefined_name/);
  });
});
