/**
 * `npm run bench [-- options]`: our kernels and TF.js WebGPU side by side, on the same
 * adapter, in the same process, against a measured roofline. See docs/bench.md.
 */
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { execSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { init, SOFTWARE_ADAPTERS, type Gpu } from '../src/runtime/init.js';
import { ENGINES, registeredCases, type BenchCase, type BenchContext, type EngineId, type Runner } from './registry.js';
import { initTfjs, type TfjsPeer } from './peers/tfjs.js';
import { initJax, type JaxPeer } from './peers/jax.js';
import { initOrt, type OrtPeer } from './peers/ort.js';
import { crossCheck, type CheckResult } from './check.js';
import { measureInterleaved, type Measurement } from './measure.js';
import type { Row, SideResult } from './types.js';
import { formatDetails, formatTable } from './report.js';
import { getGemmConfig, setGemmConfig, type GemmConfig } from '../src/ops/matmul.js';
import { convTuning } from '../src/ops/conv2d/index.js';
import { checkTargets, type TargetResult } from './targets.js';
import { compareReports, formatCompare, type CompareRow } from './compare.js';
import { writeHtmlReport } from './html.js';
import { tune } from './tune.js';
import './cases/index.js';
// Node only (spawns processes), so not in the case list the browser demo bundles.
import './cases/cold-start.js';
import { copyProbe } from './cases/roofline.js';

const program = new Command('bench')
  .description('Benchmark nfnet-webgpu kernels against TF.js WebGPU and a measured roofline')
  .option('--filter <regex>', 'only cases whose name matches (roofline probes always run)')
  .option('--json <file>', 'write the full results as JSON')
  .option('--reps <n>', 'timed repetitions per case (default: per case, 2–10)', (v) => {
    const n = Number.parseInt(v, 10);
    if (!(n >= 1)) throw new Error(`--reps needs a positive integer, got ${v}`);
    return n;
  })
  .addOption(new Option('--quick', 'small default set (default)').conflicts('full'))
  .option('--full', 'every case, incl. large shapes, with more repetitions')
  .option('--no-peer', 'skip TF.js')
  .option('--no-jax', 'skip the @jax-js/jax peer')
  .option('--no-ort', 'skip the onnxruntime-web (WebGPU EP) peer')
  .option('--no-fast', 'skip the extra pass of ours with init({ fast: true })')
  .option('--gemm <json>', 'GEMM tile config for ours, e.g. \'{"tm":4,"tn":8,"wg":128}\' (see setGemmConfig)')
  .option('--html <file>', 'write a self-contained HTML report with charts (default: next to --json, same name .html)')
  .option('--no-html', 'do not write the HTML report next to --json')
  .option('--compare <old.json>', 'flag rows whose median moved outside the old [min, max] by > 10%')
  .option('--tune', 'autotune GEMM / conv launch configs for this adapter, cache the choice (init() applies it), then exit')
  .option('--list', 'list the cases and exit')
  .addOption(
    new Option('--software-adapter <name>', 'software Vulkan driver when there is no GPU (every engine in the process, and the cold-start children, run on it)').choices(
      SOFTWARE_ADAPTERS,
    ),
  )
  .parse(process.argv);

interface Opts {
  filter?: string;
  json?: string;
  reps?: number;
  full?: boolean;
  peer: boolean;
  jax: boolean;
  ort: boolean;
  fast: boolean;
  list?: boolean;
  gemm?: string;
  html?: string | boolean;
  compare?: string;
  tune?: boolean;
  softwareAdapter?: string;
}

const opts = program.opts<Opts>();
// Set before any engine opens the GPU: init() and the cold-start child processes read it.
if (opts.softwareAdapter) process.env.NFNET_SOFTWARE_ADAPTER = opts.softwareAdapter;
const gemmOverride = opts.gemm ? (JSON.parse(opts.gemm) as Partial<GemmConfig>) : null;
/** --gemm wins over a tune-cache choice that init() applied. */
const applyGemmOverride = () => gemmOverride && setGemmConfig(gemmOverride);
applyGemmOverride();
const full = Boolean(opts.full);
const filter = opts.filter ? new RegExp(opts.filter) : null;
const all = registeredCases();
const selected: BenchCase[] = all.filter((c) => c.roofline || ((full || !c.fullOnly) && (!filter || filter.test(c.name))));

if (opts.list) {
  for (const c of all) {
    const engines = Object.keys(c.engines ?? {}).map((e) => `  [+${ENGINES[e as EngineId].label}]`).join('');
    console.log(`${c.name}${c.fullOnly ? '  (--full)' : ''}${c.hardwareOnly ? '  (GPU only)' : ''}${c.roofline ? '  (roofline)' : ''}${c.peer ? '  [+TF.js]' : ''}${engines}${c.targets?.length ? '  {targets}' : ''}`);
  }
  process.exit(0);
}

const repsOf = (c: BenchCase, side: string) =>
  opts.reps ?? (full ? c.fullReps ?? 2 * (c.reps ?? 5) : side === 'peer' || side === 'cpu' ? c.peerReps ?? c.reps ?? 5 : c.reps ?? 5);

interface Ceilings {
  gflops: number;
  gbs: number;
}
/** Roofline of the default device (ours, TF.js) and of the init({ fast: true }) device. */
const ceilings: Ceilings = { gflops: 0, gbs: 0 };
const fastCeilings: Ceilings = { gflops: 0, gbs: 0 };

function boundOf(c: BenchCase, ceilings: Ceilings): Row['bound'] {
  if (c.roofline) return c.roofline;
  if (!c.flops && !c.bytes) return 'none';
  if (!ceilings.gflops || !ceilings.gbs) return c.flops / c.bytes > 1 ? 'compute' : 'memory';
  // Ridge point: intensity (FLOP/byte) where the two ceilings meet.
  return c.flops / c.bytes >= ceilings.gflops / ceilings.gbs ? 'compute' : 'memory';
}

function summarise(c: BenchCase, m: Measurement, ceilings: Ceilings): SideResult {
  const s = m.medianMs / 1e3;
  const gflops = c.flops / s / 1e9;
  const gbs = c.bytes / s / 1e9;
  let pct: number | null = null;
  const itemsPerS = c.items ? c.items.count / s : undefined;
  if (!c.flops && !c.bytes) return { ...m, gflops: 0, gbs: 0, pctRoofline: null, ...(itemsPerS !== undefined ? { itemsPerS } : {}) };
  if (c.roofline === 'compute' && ceilings.gflops) pct = (100 * gflops) / ceilings.gflops;
  else if (c.roofline === 'memory' && ceilings.gbs) pct = (100 * gbs) / ceilings.gbs;
  else if (ceilings.gflops && ceilings.gbs) {
    const attainable = Math.min(ceilings.gflops, (c.flops / c.bytes) * ceilings.gbs);
    pct = (100 * gflops) / attainable;
  }
  return { ...m, gflops, gbs, pctRoofline: pct, ...(itemsPerS !== undefined ? { itemsPerS } : {}) };
}

function gitCommit(): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execSync('git rev-parse HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().length > 0;
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

function pkgVersion(name: string): string {
  try {
    const req = createRequire(import.meta.url);
    return (req(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function ownVersion(): string {
  try {
    // The bench runs bundled from .tmp/ (scripts/run-ts.mjs), one level below the package root.
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

type Result = SideResult | { error: string };
type Details = Record<string, unknown> | undefined;
type SideLabel = 'ours' | 'peer' | 'fast' | 'cpu' | 'copy' | EngineId;
/** Sides whose result must match ours before they are timed, and the name their check is stored under. */
const CHECKED: Partial<Record<SideLabel, string>> = { peer: 'tfjs', jax: 'jax', ort: 'ort' };

/**
 * Prepare each side's runner, measure them interleaved, summarise, dispose. Roofline probes
 * also set the ceilings of their device (`fast` for the init({ fast: true }) pass).
 */
async function runCase(
  c: BenchCase,
  sides: { label: SideLabel; make: () => Promise<Runner>; profile: Gpu | null }[],
): Promise<{ results: Result[]; details: Details[]; checks: Record<string, CheckResult> }> {
  const prepared: (Runner | { error: string })[] = [];
  for (const s of sides) {
    try {
      prepared.push(await s.make());
    } catch (e) {
      prepared.push({ error: `${(e as Error).name}: ${(e as Error).message}` });
    }
  }
  const checks = await crossCheck(sides.map((s) => (s.label === 'ours' ? 'ours' : CHECKED[s.label] ?? null)), prepared, c.checkTol);
  // Quick mode: a peer that takes seconds per call may skip its warm-up; its reps then include pipeline creation.
  const warmup = (label: string) => !c.coldStart && !(label === 'peer' && c.peerSkipWarmupQuick && !full);
  const peerLike = (label: SideLabel) => label === 'peer' || label === 'cpu' || label in ENGINES;
  const live = sides.flatMap((s, i) => ('run' in prepared[i]! ? [{ i, side: { runner: prepared[i] as Runner, reps: repsOf(c, peerLike(s.label) ? 'peer' : s.label), profile: s.profile, warmup: warmup(s.label) } }] : []));
  const measured = await measureInterleaved(live.map((l) => l.side));
  const out: Result[] = prepared.map((p) => ('error' in p ? p : { error: 'not measured' }));
  live.forEach((l, j) => {
    const m = measured[j]!;
    if ('error' in m) {
      out[l.i] = m;
      return;
    }
    const label = sides[l.i]!.label;
    const ceil = label === 'fast' ? fastCeilings : ceilings;
    // Ceilings are the probes' best repetition (min time): the peak this adapter reached.
    const own = label === 'ours' || label === 'fast';
    if (c.roofline === 'compute' && own) ceil.gflops = c.flops / (m.minMs / 1e3) / 1e9;
    if (c.roofline === 'memory' && own) ceil.gbs = c.bytes / (m.minMs / 1e3) / 1e9;
    out[l.i] = summarise(c, m, ceil);
  });
  const details: Details[] = prepared.map(() => undefined);
  for (const [i, p] of prepared.entries()) {
    if ('run' in p && p.details && !('error' in out[i]!)) {
      try {
        details[i] = await p.details();
      } catch (e) {
        details[i] = { error: `${(e as Error).name}: ${(e as Error).message}` };
      }
    }
  }
  for (const p of prepared) {
    if ('run' in p) {
      try {
        await p.dispose();
      } catch {
        /* a measurement error is the interesting one */
      }
    }
  }
  return { results: out, details, checks };
}

async function main(): Promise<void> {
  const started = Date.now();
  let gpu = await init({ verbose: false });
  applyGemmOverride();
  if (opts.tune) {
    console.error(`bench --tune on ${gpu.adapter.description || gpu.adapter.architecture}${gpu.tuned ? ' (a cached choice was applied at init)' : ''}`);
    const r = await tune(gpu, { full, log: (line) => console.error(`  ${line}`) });
    console.log(`tuned ${r.key}:\n  gemm ${JSON.stringify(r.configs.gemm)}\n  conv ${JSON.stringify(r.configs.conv)}\nwrote ${r.file} (init() applies it for this adapter; NFNET_TUNE_CACHE overrides the path, =off ignores it)`);
    await gpu.dispose();
    process.exit(0);
  }
  const adapter = gpu.adapter;
  if (adapter.software) {
    for (let i = selected.length - 1; i >= 0; i--) if (selected[i]!.hardwareOnly) selected.splice(i, 1);
  }
  const features = [...gpu.features];
  const limits = { ...gpu.limits };
  const timestamps = features.includes('timestamp-query');
  let tfjs: TfjsPeer | null = null;
  let peerError: string | null = null;
  if (opts.peer && selected.some((c) => c.peer)) {
    try {
      tfjs = await initTfjs(adapter.software);
    } catch (e) {
      peerError = (e as Error).message;
      console.error(`bench: TF.js WebGPU peer unavailable: ${peerError}`);
    }
  }
  // The other peers load after TF.js, on the same Dawn instance (bench/peers/dawn-global.ts).
  const engineLoaders: { [E in EngineId]: () => Promise<E extends 'jax' ? JaxPeer : OrtPeer> } = { jax: initJax, ort: initOrt } as never;
  const engines: { jax?: JaxPeer; ort?: OrtPeer } = {};
  const engineInfo: Partial<Record<EngineId, { name: string; version?: string; error?: string; note?: string }>> = {};
  for (const id of Object.keys(ENGINES) as EngineId[]) {
    if (!opts[id] || !selected.some((c) => c.engines?.[id])) continue;
    try {
      const e = await engineLoaders[id]();
      (engines as Record<EngineId, unknown>)[id] = e;
      engineInfo[id] = { name: ENGINES[id].pkg, version: e.version };
      if ('compileWaitS' in e) {
        engineInfo[id].note = `waited ${e.compileWaitS.toFixed(1)} s after its first session for V8's background compilation of its WebAssembly (it takes both cores) before timing`;
        console.error(`bench: ${ENGINES[id].pkg}: ${engineInfo[id].note}`);
      }
    } catch (e) {
      const error = `${(e as Error).name}: ${(e as Error).message}`;
      engineInfo[id] = { name: ENGINES[id].pkg, error };
      console.error(`bench: ${ENGINES[id].pkg} peer unavailable: ${error}`);
    }
  }
  const ctx: BenchContext = { gpu, tfjs, full };
  const fastCases = selected.filter((c) => full || !c.heavy);
  const cpuCases = tfjs ? selected.filter((c) => c.peer && (c.cpuReference === 'quick' || (c.cpuReference === 'full' && full))) : [];
  const engineTasks = selected.reduce((n, c) => n + Object.keys(c.engines ?? {}).filter((id) => opts[id as EngineId]).length, 0);
  const tasks = selected.length + engineTasks + (tfjs ? selected.filter((c) => c.peer).length : 0) + cpuCases.length + (opts.fast ? fastCases.length : 0);
  const bar = new cliProgress.SingleBar(
    { format: 'bench [{bar}] {value}/{total} {task}', stream: process.stderr, hideCursor: true, clearOnComplete: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(tasks, 0, { task: '' });
  const rows: Row[] = [];
  for (const c of selected) {
    const row: Row = {
      name: c.name, bound: 'compute', flops: c.flops, bytes: c.bytes,
      ...(c.group ? { group: c.group } : {}), ...(c.items ? { items: c.items } : {}), ...(c.note ? { note: c.note } : {}),
    };
    const withPeer = Boolean(tfjs && c.peer);
    bar.update({ task: `${c.name}${withPeer ? ' (ours + TF.js)' : ' (ours)'}` });
    const sides: Parameters<typeof runCase>[1] = [{ label: 'ours', make: () => c.ours(ctx), profile: timestamps && !c.coldStart ? gpu : null }];
    if (withPeer) sides.push({ label: 'peer', make: () => c.peer!({ ...ctx, tfjs: tfjs! }), profile: null });
    const engineIds = (Object.keys(c.engines ?? {}) as EngineId[]).filter((id) => opts[id]);
    for (const id of engineIds) {
      const loaded = engines[id];
      const make = c.engines![id]!;
      sides.push({
        label: id,
        make: loaded
          ? () => (make as (x: BenchContext & Record<EngineId, unknown>) => Promise<Runner>)({ ...ctx, [id]: loaded } as BenchContext & Record<EngineId, unknown>)
          : () => Promise.reject(new Error(`peer not loaded: ${engineInfo[id]?.error ?? 'unknown'}`)),
        profile: null,
      });
    }
    const sized = c.targets?.some((t) => t.kind === 'pctCopyAtSize') ?? false;
    if (sized) sides.push({ label: 'copy', make: async () => copyProbe(c.bytes), profile: null });
    const liveBefore = gpu.poolStats().liveBuffers;
    const { results, details: [dOurs, dPeer], checks } = await runCase(c, sides);
    const leaked = gpu.poolStats().liveBuffers - liveBefore;
    if (leaked > 0) row.oursLeakedBuffers = leaked;
    const [ours, peer] = results;
    if (sized) row.copyAtSize = results[sides.length - 1];
    if (Object.keys(checks).length) row.checks = checks;
    for (const id of engineIds) {
      const r = results[sides.findIndex((s) => s.label === id)]!;
      (row.engines ??= {})[id] = r;
      if (ours && 'medianMs' in ours && 'medianMs' in r) (row.engineRatios ??= {})[id] = r.medianMs / ours.medianMs;
    }
    row.ours = ours;
    if (dOurs || dPeer) row.details = { ...(dOurs ? { ours: dOurs } : {}), ...(dPeer ? { peer: dPeer } : {}) };
    if (withPeer) {
      row.peer = peer;
      if (ours && 'medianMs' in ours && peer && 'medianMs' in peer) row.ratio = peer.medianMs / ours.medianMs;
    }
    bar.increment((withPeer ? 2 : 1) + engineIds.length);
    rows.push(row);
  }
  if (cpuCases.length) {
    // CPU reference points: the same peer code on TF.js's cpu backend, after every WebGPU
    // row (so the switch cannot disturb them). The cpu backend computes at the call, so
    // its sync has nothing to wait for.
    await tfjs!.tf.setBackend('cpu');
    const cpuPeer: TfjsPeer = { ...tfjs!, sync: async () => {} };
    for (const c of cpuCases) {
      bar.update({ task: `${c.name} (TF.js cpu)` });
      const row = rows.find((r) => r.name === c.name)!;
      [row.cpu] = (await runCase(c, [{ label: 'cpu', make: () => c.peer!({ ...ctx, tfjs: cpuPeer }), profile: null }])).results;
      if (row.ours && 'medianMs' in row.ours && row.cpu && 'medianMs' in row.cpu) row.cpuRatio = row.cpu.medianMs / row.ours.medianMs;
      bar.increment();
    }
    await tfjs!.tf.setBackend('webgpu');
  }
  // Roofline ceilings are known now: fix up bounds and percentages measured before them.
  for (const row of rows) {
    const c = selected.find((x) => x.name === row.name)!;
    row.bound = boundOf(c, ceilings);
    for (const side of ['ours', 'peer', 'cpu', 'copyAtSize'] as const) {
      const r = row[side];
      if (r && 'medianMs' in r) row[side] = summarise(c, r, ceilings);
    }
    for (const [id, r] of Object.entries(row.engines ?? {}) as [EngineId, Result][]) {
      if ('medianMs' in r) row.engines![id] = summarise(c, r, ceilings);
    }
  }
  for (const row of rows) {
    const c = selected.find((x) => x.name === row.name)!;
    if (c.targets?.length) row.targets = checkTargets(row, c.targets, rows);
  }
  if (opts.fast) {
    // A second pass of ours on a device created with the Dawn toggles of init({ fast: true }).
    await gpu.dispose();
    gpu = await init({ verbose: false, fast: true });
    applyGemmOverride();
    const fctx: BenchContext = { gpu, tfjs, full };
    // Quick mode skips heavy cases here (conv at full size, whole steps): they would double the run.
    for (const c of fastCases) {
      bar.update({ task: `${c.name} (ours, fast)` });
      const row = rows.find((r) => r.name === c.name)!;
      [row.oursFast] = (await runCase(c, [{ label: 'fast', make: () => c.ours(fctx), profile: null }])).results;
      bar.increment();
    }
    for (const row of rows) {
      const c = selected.find((x) => x.name === row.name)!;
      if (row.oursFast && 'medianMs' in row.oursFast) row.oursFast = summarise(c, row.oursFast, fastCeilings);
    }
  }
  bar.stop();
  for (const r of rows.filter((r) => r.oursLeakedBuffers)) {
    console.error(`warning: ${r.name}: ours left ${r.oursLeakedBuffers} GPU buffer(s) live after its runners were disposed: the case's code misses a tidy() or dispose(), and its times include fresh buffer creations`);
  }
  const wallS = (Date.now() - started) / 1e3;
  const git = gitCommit();
  const report = {
    schema: 'nfnet-webgpu-bench/1',
    date: new Date().toISOString(),
    durationS: wallS,
    git,
    node: process.version,
    host: { loadavg: os.loadavg(), platform: process.platform, arch: process.arch, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '' },
    packages: {
      'nfnet-webgpu': ownVersion(),
      webgpu: pkgVersion('webgpu'),
      ...(tfjs?.versions ?? {}),
      ...Object.fromEntries(Object.values(engineInfo).flatMap((e) => (e.version ? [[e.name, e.version]] : []))),
    },
    adapter,
    features,
    limits,
    gemmConfig: getGemmConfig(),
    convConfig: convTuning(),
    tuned: gpu.tuned,
    options: { filter: opts.filter ?? null, reps: opts.reps ?? null, full, peer: opts.peer, jax: opts.jax, ort: opts.ort, fast: opts.fast, compare: opts.compare ?? null },
    timing: {
      method: 'wall',
      description:
        'wall time per repetition around record + submit + queue.onSubmittedWorkDone (ours: gpu.sync(); TF.js: backend.submitQueue() + queue.onSubmittedWorkDone(); jax-js: blockUntilReady() of the outputs; onnxruntime-web: session.run + queue.onSubmittedWorkDone()), after one warm-up call; median and min over reps',
      gpuTimestamps: timestamps,
    },
    ceilings,
    fastCeilings: opts.fast ? fastCeilings : null,
    peer: tfjs ? { name: 'tfjs-webgpu', adapter: tfjs.adapter } : { name: null, error: peerError },
    /** The other peers: name and version, or why they did not load. */
    engines: engineInfo,
    rows,
    compare: null as null | { against: string; rule: string; rows: CompareRow[] },
  };
  console.log(formatTable(rows, report));
  const details = formatDetails(rows);
  if (details) console.log(details);
  if (opts.compare) {
    try {
      const old = JSON.parse(readFileSync(opts.compare, 'utf8')) as Parameters<typeof compareReports>[0];
      const cmp = compareReports(old, report);
      report.compare = { against: opts.compare, rule: 'regression: new median > 1.1 × old max; improvement: new median < old min / 1.1', rows: cmp };
      console.log(formatCompare(cmp, opts.compare));
    } catch (e) {
      console.error(`bench: --compare ${opts.compare}: ${(e as Error).message}`);
    }
  }
  if (opts.json) {
    mkdirSync(path.dirname(path.resolve(opts.json)), { recursive: true });
    writeFileSync(opts.json, JSON.stringify(report, null, 2));
    console.log(`wrote ${opts.json}`);
  }
  const html = typeof opts.html === 'string' ? opts.html : opts.html !== false && opts.json ? opts.json.replace(/\.json$/i, '') + '.html' : null;
  if (html) {
    mkdirSync(path.dirname(path.resolve(html)), { recursive: true });
    await writeHtmlReport(html, report);
    console.log(`wrote ${html}`);
  }
  await gpu.dispose();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
