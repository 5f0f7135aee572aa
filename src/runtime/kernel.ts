/**
 * Kernels: a WGSL source (one file per kernel family, with shaders/common.wgsl prepended)
 * and an entry point. The source is reflected once, on first use, with wgsl_reflect: the bindings an op
 * passes are checked by name against what the entry point declares, and the `params`
 * uniform struct is packed from a plain object by field name, so an op never hand-computes
 * byte offsets and a kernel hacker never touches the runtime. Op codes shared by the host
 * and the shader (`switch OP { case UNARY_EXP: … }`) are passed as `constants`: the
 * runtime writes them into the source as `const` lines, so a TS table is their only
 * definition.
 */
// wgsl_reflect's package.json points Node at a CommonJS file under "type": "module"; the ESM build works everywhere.
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { reachableSource } from './wgsl-reach.js';
import commonWgsl from '../../shaders/common.wgsl';
import { KernelError } from './errors.js';

export type ParamValue = number | boolean | readonly number[];
export type Params = Record<string, ParamValue>;

interface FieldPlan {
  name: string;
  offset: number;
  /** 'u32' | 'i32' | 'f32' element type of the scalar or vector. */
  scalar: 'u32' | 'i32' | 'f32';
  /** Number of scalar slots (1 for a scalar, 4·count for an array of vec4). */
  slots: number;
}

export interface BindingInfo {
  name: string;
  binding: number;
  access: 'read' | 'read_write' | 'uniform';
  /** Scalar type of a storage array's elements (`array<vec4<f32>>` → 'f32'); undefined for other types. */
  element?: 'f32' | 'i32' | 'u32';
}

const SCALARS = new Set(['f32', 'i32', 'u32']);
const VEC_SUFFIX: Record<string, 'f32' | 'i32' | 'u32'> = { f: 'f32', i: 'i32', u: 'u32' };

/** The scalar under `array<T>`, `array<vec4<T>>`, `array<vec4f>`, `array<atomic<T>>`. */
function elementOf(type: any): 'f32' | 'i32' | 'u32' | undefined {
  if (type?.name !== 'array') return undefined;
  const inner = type.format;
  if (SCALARS.has(inner?.name)) return inner.name;
  if (SCALARS.has(inner?.format?.name)) return inner.format.name;
  const suffix = /^vec\d([fiu])$/.exec(inner?.name ?? '')?.[1];
  return suffix ? VEC_SUFFIX[suffix] : undefined;
}

export interface Kernel {
  /** `family/entry`, e.g. `elementwise/binary`; the profiler groups by it. */
  readonly name: string;
  readonly source: string;
  readonly entry: string;
  readonly bindings: readonly BindingInfo[];
  /** Byte size of the `params` uniform (0 when the entry point has none). */
  readonly paramsSize: number;
  readonly overrides: ReadonlySet<string>;
  /** Device features its `enable` directives need (`enable subgroups;` → 'subgroups'); the backend refuses it on a device without them. */
  readonly features: readonly string[];
  packParams(params: Params): ArrayBuffer;
  /** Where line `line` (1-based) of `source` comes from, e.g. `shaders/optim.wgsl:142` (for compile errors). */
  locate(line: number): string;
}

/** The full source of each family (one source per family). */
const sources = new Map<string, string>();
/** Every family's assembled source, by family name (for tools and tests). */
export function familySources(): ReadonlyMap<string, string> {
  return sources;
}

/** Reflection of each entry point (of what it reaches: wgsl-reach.ts), made on first use. */
const reflections = new Map<string, WgslReflect>();

function registerSource(family: string, source: string): void {
  const known = sources.get(family);
  // The backend builds one shader module per family: two sources under one name would
  // silently run the first. This happens when two files pass different `constants`.
  if (known !== undefined && known !== source) {
    throw new KernelError(`shaders/${family}.wgsl is defined twice with different sources or constants; give every kernel of a family the same constants`);
  }
  sources.set(family, source);
}

function reflect(family: string, source: string, entry: string): WgslReflect {
  const key = `${family}/${entry}`;
  const known = reflections.get(key);
  if (known) return known;
  let reflection: WgslReflect;
  try {
    reflection = new WgslReflect(reachableSource(source, entry));
  } catch (e) {
    throw new KernelError(`shaders/${family}.wgsl does not parse: ${(e as Error).message}`);
  }
  reflections.set(key, reflection);
  return reflection;
}

/** Named integer constants of a shader (op codes), emitted as `const NAME: u32 = 3u;`. */
export type KernelConstants = Readonly<Record<string, number>>;

/**
 * The constants of an op-code table, named `PREFIX_NAME`: `codeConstants('UNARY', { exp: 1,
 * geluErf: 2 })` is `{ UNARY_EXP: 1, UNARY_GELU_ERF: 2 }`.
 */
export function codeConstants(prefix: string, codes: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, code] of Object.entries(codes)) {
    out[`${prefix}_${name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`] = code;
  }
  return out;
}

function constantLines(family: string, constants: KernelConstants): string[] {
  return Object.entries(constants).map(([name, value]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new KernelError(`shaders/${family}.wgsl: constant name '${name}' must be UPPER_SNAKE_CASE`);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new KernelError(`shaders/${family}.wgsl: constant ${name} must be a u32 (an integer in 0…2³²−1), got ${value}`);
    }
    return `const ${name}: u32 = ${value}u;`;
  });
}

function scalarOf(typeName: string, family: string, field: string): 'u32' | 'i32' | 'f32' {
  if (typeName === 'u32' || typeName === 'i32' || typeName === 'f32') return typeName;
  throw new KernelError(`shaders/${family}.wgsl: params.${field} has type ${typeName}; use u32, i32, f32 or vec4 of them`);
}

function planParams(family: string, members: any[]): FieldPlan[] {
  return members.map((m) => {
    const t = m.type;
    if (t.name === 'array') {
      const inner = t.format;
      if (inner?.name !== 'vec4' && inner?.name !== 'vec4u' && inner?.name !== 'vec4f' && inner?.name !== 'vec4i') {
        throw new KernelError(`shaders/${family}.wgsl: params.${m.name} must be an array of vec4 (uniform arrays need a 16-byte stride)`);
      }
      const s = inner.name === 'vec4' ? scalarOf(inner.format?.name, family, m.name) : ({ vec4u: 'u32', vec4f: 'f32', vec4i: 'i32' } as const)[inner.name as 'vec4u'];
      return { name: m.name, offset: m.offset, scalar: s, slots: 4 * t.count };
    }
    if (t.name.startsWith('vec')) {
      const n = Number(t.name[3]);
      const s = t.format ? scalarOf(t.format.name, family, m.name) : ({ u: 'u32', f: 'f32', i: 'i32' } as const)[t.name[4] as 'u'];
      return { name: m.name, offset: m.offset, scalar: s, slots: n };
    }
    return { name: m.name, offset: m.offset, scalar: scalarOf(t.name, family, m.name), slots: 1 };
  });
}

/** Lines such as `enable subgroups;`: WGSL wants them before every declaration. */
const DIRECTIVE = /^[ \t]*(enable|requires|diagnostic)\b[^;\n]*;[ \t]*$/gm;

/** The device feature behind each WGSL extension a shader may enable. */
const EXTENSION_FEATURES: Readonly<Record<string, string>> = { subgroups: 'subgroups', f16: 'shader-f16', clip_distances: 'clip-distances', dual_source_blending: 'dual-source-blending' };

/** Device features named by a source's `enable` directives. */
function enabledFeatures(family: string, source: string): string[] {
  const names = [...source.matchAll(/^[ \t]*enable\s+([^;]+);/gm)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
  return names.map((name) => {
    const feature = EXTENSION_FEATURES[name];
    if (!feature) throw new KernelError(`shaders/${family}.wgsl enables '${name}', which no device feature is known to provide`);
    return feature;
  });
}

const newlines = (text: string) => text.split('\n').length - 1;

/**
 * The source the device compiles: the family's directives hoisted to the top (their own
 * lines stay, emptied, so the source keeps its line numbers), then common.wgsl, then one
 * `const` line per constant, then the source; and a map from a line of the result back to
 * its file.
 */
function assemble(family: string, source: string, constants: KernelConstants): { full: string; locate: (line: number) => string } {
  const directives = source.match(DIRECTIVE) ?? [];
  const prelude = constantLines(family, constants);
  const full = `${directives.map((d) => `${d.trim()}\n`).join('')}${commonWgsl}\n${prelude.map((l) => `${l}\n`).join('')}${source.replace(DIRECTIVE, '')}`;
  const commonStart = directives.length + 1;
  const preludeStart = commonStart + newlines(commonWgsl) + 1;
  const sourceStart = preludeStart + prelude.length;
  const locate = (line: number) => {
    if (line >= sourceStart) return `shaders/${family}.wgsl:${line - sourceStart + 1}`;
    if (line >= preludeStart) return `shaders/${family}.wgsl (generated '${prelude[line - preludeStart]}')`;
    if (line >= commonStart) return `shaders/common.wgsl:${line - commonStart + 1}`;
    return `shaders/${family}.wgsl (directive '${directives[line - 1]?.trim() ?? '?'}')`;
  };
  return { full, locate };
}

export interface KernelOptions {
  /**
   * Integer constants written into the source as `const NAME: u32 = Nu;` (op codes from a
   * TS table; see `codeConstants`). Every kernel of a family must pass the same ones.
   */
  constants?: KernelConstants;
}

/** What reflection tells about one entry point. */
interface EntryInfo {
  bindings: BindingInfo[];
  paramsSize: number;
  plan: FieldPlan[];
  overrides: Set<string>;
}

function entryInfo(family: string, full: string, entry: string): EntryInfo {
  const r = reflect(family, full, entry);
  const fn = r.entry.compute.find((e: any) => e.name === entry);
  if (!fn) throw new KernelError(`shaders/${family}.wgsl has no @compute entry point '${entry}'`);
  const bindings: BindingInfo[] = fn.resources.map((v: any) => {
    if (v.group !== 0) throw new KernelError(`shaders/${family}.wgsl: ${v.name} must be in @group(0)`);
    const access = v.resourceType === 0 ? 'uniform' : v.access === 'read_write' ? 'read_write' : 'read';
    const element = access === 'uniform' ? undefined : elementOf(v.type);
    return element ? { name: v.name, binding: v.binding, access, element } : { name: v.name, binding: v.binding, access };
  });
  const uniform = fn.resources.find((v: any) => v.resourceType === 0);
  if (uniform && uniform.name !== 'params') {
    throw new KernelError(`shaders/${family}.wgsl: the uniform of '${entry}' must be named 'params', found '${uniform.name}'`);
  }
  return {
    bindings,
    paramsSize: uniform ? Math.ceil(uniform.type.size / 16) * 16 : 0,
    plan: uniform ? planParams(family, (uniform.type as unknown as { members: unknown[] }).members) : [],
    overrides: new Set(r.overrides.map((o: any) => o.name as string)),
  };
}

/**
 * Define a kernel from its family's WGSL source and an entry point name. The source is
 * assembled and checked against the family's other kernels at once; it is reflected on
 * first use (a dispatch, a warm-up, `bindings`): parsing every shader when the library
 * is imported cost ~440 ms of a cold start here. A source wgsl_reflect cannot parse or a
 * missing entry point is a KernelError at that first use.
 */
export function defineKernel(family: string, source: string, entry: string, options: KernelOptions = {}): Kernel {
  const { full, locate } = assemble(family, source, options.constants ?? {});
  registerSource(family, full);
  let info: EntryInfo | null = null;
  const reflected = () => (info ??= entryInfo(family, full, entry));
  return {
    name: `${family}/${entry}`,
    source: full,
    entry,
    get bindings() { return reflected().bindings; },
    get paramsSize() { return reflected().paramsSize; },
    get overrides() { return reflected().overrides; },
    features: enabledFeatures(family, source),
    locate,
    packParams(params: Params): ArrayBuffer {
      const { paramsSize, plan } = reflected();
      const buf = new ArrayBuffer(paramsSize);
      const views = { u32: new Uint32Array(buf), i32: new Int32Array(buf), f32: new Float32Array(buf) };
      for (const f of plan) {
        const v = params[f.name];
        if (v === undefined) throw new KernelError(`kernel ${family}/${entry}: params.${f.name} was not given`);
        const values = typeof v === 'number' || typeof v === 'boolean' ? [Number(v)] : v;
        if (values.length > f.slots) {
          throw new KernelError(`kernel ${family}/${entry}: params.${f.name} takes at most ${f.slots} values, got ${values.length}`);
        }
        views[f.scalar].set(values, f.offset / 4);
      }
      for (const k of Object.keys(params)) {
        if (!plan.some((f) => f.name === k)) throw new KernelError(`kernel ${family}/${entry}: params has no field '${k}'`);
      }
      return buf;
    },
  };
}
