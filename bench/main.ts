/**
 * `npm run bench [-- options]`: our kernels and TF.js WebGPU side by side, on the same
 * adapter, in the same process, against a measured roofline. See docs/bench.md.
 */
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { execSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { init, type Gpu } from '../src/runtime/init.js';
import { registeredCases, type BenchCase, type BenchContext, type Runner } from './registry.js';
import { initTfjs, type TfjsPeer } from './peers/tfjs.js';
import { measureInterleaved, type Measurement } from './measure.js';
import { formatTable } from './report.js';
import { getGemmConfig, setGemmConfig, type GemmConfig } from '../src/ops/matmul.js';
import './cases/index.js';

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
  .option('--no-fast', 'skip the extra pass of ours with init({ fast: true })')
  .option('--gemm <json>', 'GEMM tile config for ours, e.g. \'{"tm":4,"tn":8,"wg":128}\' (see setGemmConfig)')
  .option('--list', 'list the cases and exit')
  .parse(process.argv);

interface Opts {
  filter?: string;
  json?: string;
  reps?: number;
  full?: boolean;
  peer: boolean;
  fast: boolean;
  list?: boolean;
  gemm?: string;
}

const opts = program.opts<Opts>();
if (opts.gemm) setGemmConfig(JSON.parse(opts.gemm) as Partial<GemmConfig>);
const full = Boolean(opts.full);
const filter = opts.filter ? new RegExp(opts.filter) : null;
const all = registeredCases();
const selected = all.filter((c) => c.roofline || ((full || !c.fullOnly) && (!filter || filter.test(c.name))));

if (opts.list) {
  for (const c of all) console.log(`${c.name}${c.fullOnly ? '  (--full)' : ''}${c.roofline ? '  (roofline)' : ''}${c.peer ? '  [+TF.js]' : ''}`);
  process.exit(0);
}

const repsOf = (c: BenchCase, side: string) =>
  opts.reps ?? (full ? c.fullReps ?? 2 * (c.reps ?? 5) : side === 'peer' ? c.peerReps ?? c.reps ?? 5 : c.reps ?? 5);

export interface SideResult extends Measurement {
  gflops: number;
  gbs: number;
  /** Achieved FLOP/s (or bytes/s for roofline/copy) as a % of the bounding roofline. */
  pctRoofline: number | null;
  error?: string;
}

export interface Row {
  name: string;
  bound: 'compute' | 'memory';
  flops: number;
  bytes: number;
  ours?: SideResult | { error: string };
  oursFast?: SideResult | { error: string };
  peer?: SideResult | { error: string };
  /** ours throughput / peer throughput (peer median ms / ours median ms). */
  ratio?: number;
  note?: string;
}

interface Ceilings {
  gflops: number;
  gbs: number;
}
/** Roofline of the default device (ours, TF.js) and of the init({ fast: true }) device. */
const ceilings: Ceilings = { gflops: 0, gbs: 0 };
const fastCeilings: Ceilings = { gflops: 0, gbs: 0 };

function boundOf(c: BenchCase, ceilings: Ceilings): 'compute' | 'memory' {
  if (c.roofline) return c.roofline;
  if (!ceilings.gflops || !ceilings.gbs) return c.flops / c.bytes > 1 ? 'compute' : 'memory';
  // Ridge point: intensity (FLOP/byte) where the two ceilings meet.
  return c.flops / c.bytes >= ceilings.gflops / ceilings.gbs ? 'compute' : 'memory';
}

function summarise(c: BenchCase, m: Measurement, ceilings: Ceilings): SideResult {
  const s = m.medianMs / 1e3;
  const gflops = c.flops / s / 1e9;
  const gbs = c.bytes / s / 1e9;
  let pct: number | null = null;
  if (c.roofline === 'compute' && ceilings.gflops) pct = (100 * gflops) / ceilings.gflops;
  else if (c.roofline === 'memory' && ceilings.gbs) pct = (100 * gbs) / ceilings.gbs;
  else if (ceilings.gflops && ceilings.gbs) {
    const attainable = Math.min(ceilings.gflops, (c.flops / c.bytes) * ceilings.gbs);
    pct = (100 * gflops) / attainable;
  }
  return { ...m, gflops, gbs, pctRoofline: pct };
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

/**
 * Prepare each side's runner, measure them interleaved, summarise, dispose. Roofline probes
 * also set the ceilings of their device (`fast` for the init({ fast: true }) pass).
 */
async function runCase(
  c: BenchCase,
  sides: { label: 'ours' | 'peer' | 'fast'; make: () => Promise<Runner>; profile: Gpu | null }[],
): Promise<Result[]> {
  const prepared: (Runner | { error: string })[] = [];
  for (const s of sides) {
    try {
      prepared.push(await s.make());
    } catch (e) {
      prepared.push({ error: `${(e as Error).name}: ${(e as Error).message}` });
    }
  }
  const live = sides.flatMap((s, i) => ('run' in prepared[i]! ? [{ i, side: { runner: prepared[i] as Runner, reps: repsOf(c, s.label), profile: s.profile } }] : []));
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
    if (c.roofline === 'compute' && label !== 'peer') ceil.gflops = c.flops / (m.minMs / 1e3) / 1e9;
    if (c.roofline === 'memory' && label !== 'peer') ceil.gbs = c.bytes / (m.minMs / 1e3) / 1e9;
    out[l.i] = summarise(c, m, ceil);
  });
  for (const p of prepared) {
    if ('run' in p) {
      try {
        await p.dispose();
      } catch {
        /* a measurement error is the interesting one */
      }
    }
  }
  return out;
}

async function main(): Promise<void> {
  const started = Date.now();
  let gpu = await init({ verbose: false });
  const adapter = gpu.adapter;
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
  const ctx: BenchContext = { gpu, tfjs, full };
  const tasks = selected.length + (tfjs ? selected.filter((c) => c.peer).length : 0) + (opts.fast ? selected.length : 0);
  const bar = new cliProgress.SingleBar(
    { format: 'bench [{bar}] {value}/{total} {task}', stream: process.stderr, hideCursor: true, clearOnComplete: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(tasks, 0, { task: '' });
  const rows: Row[] = [];
  for (const c of selected) {
    const row: Row = { name: c.name, bound: 'compute', flops: c.flops, bytes: c.bytes, ...(c.note ? { note: c.note } : {}) };
    const withPeer = Boolean(tfjs && c.peer);
    bar.update({ task: `${c.name}${withPeer ? ' (ours + TF.js)' : ' (ours)'}` });
    const sides: Parameters<typeof runCase>[1] = [{ label: 'ours', make: () => c.ours(ctx), profile: timestamps ? gpu : null }];
    if (withPeer) sides.push({ label: 'peer', make: () => c.peer!({ ...ctx, tfjs: tfjs! }), profile: null });
    const [ours, peer] = await runCase(c, sides);
    row.ours = ours;
    if (withPeer) {
      row.peer = peer;
      if (ours && 'medianMs' in ours && peer && 'medianMs' in peer) row.ratio = peer.medianMs / ours.medianMs;
    }
    bar.increment(withPeer ? 2 : 1);
    rows.push(row);
  }
  // Roofline ceilings are known now: fix up bounds and percentages measured before them.
  for (const row of rows) {
    const c = selected.find((x) => x.name === row.name)!;
    row.bound = boundOf(c, ceilings);
    for (const side of ['ours', 'peer'] as const) {
      const r = row[side];
      if (r && 'medianMs' in r) row[side] = summarise(c, r, ceilings);
    }
  }
  if (opts.fast) {
    // A second pass of ours on a device created with the Dawn toggles of init({ fast: true }).
    await gpu.dispose();
    gpu = await init({ verbose: false, fast: true });
    const fctx: BenchContext = { gpu, tfjs, full };
    for (const c of selected) {
      bar.update({ task: `${c.name} (ours, fast)` });
      const row = rows.find((r) => r.name === c.name)!;
      [row.oursFast] = await runCase(c, [{ label: 'fast', make: () => c.ours(fctx), profile: null }]);
      bar.increment();
    }
    for (const row of rows) {
      const c = selected.find((x) => x.name === row.name)!;
      if (row.oursFast && 'medianMs' in row.oursFast) row.oursFast = summarise(c, row.oursFast, fastCeilings);
    }
  }
  bar.stop();
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
    },
    adapter,
    features,
    limits,
    gemmConfig: getGemmConfig(),
    options: { filter: opts.filter ?? null, reps: opts.reps ?? null, full, peer: opts.peer, fast: opts.fast },
    timing: {
      method: 'wall',
      description:
        'wall time per repetition around record + submit + queue.onSubmittedWorkDone (ours: gpu.sync(); TF.js: backend.submitQueue() + queue.onSubmittedWorkDone()), after one warm-up call; median and min over reps',
      gpuTimestamps: timestamps,
    },
    ceilings,
    fastCeilings: opts.fast ? fastCeilings : null,
    peer: tfjs ? { name: 'tfjs-webgpu', adapter: tfjs.adapter } : { name: null, error: peerError },
    rows,
  };
  console.log(formatTable(rows, report));
  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify(report, null, 2));
    console.log(`wrote ${opts.json}`);
  }
  await gpu.dispose();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
