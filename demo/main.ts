/**
 * The demo page: trains NFNet-nano on Fashion-MNIST with nfnet-webgpu in the browser.
 * Live loss/accuracy charts (vega), images/s, a per-kernel GPU profile of one step,
 * predictions on 16 test images, pause/resume, checkpoint download (safetensors), the
 * kernel benchmark of `npm run bench` run in the page, and a card that classifies an image
 * with user-chosen timm weights (demo/classify.ts).
 *
 * URL parameters (defaults in brackets): batch [64], lr [0.4·batch/256], epochs [2],
 * subset [60000] training images, test [1000] test images per evaluation, steps [∞] stop
 * after this many steps, evalEvery [100], profileAt [3] (which step to profile), autostart [0],
 * bench [regex of bench cases; default all quick cases].
 */
import { init, tensor, nfnet, data, type Gpu, type ProfileReport } from '../src/index.js';
import { accuracyChart, lossChart, ACC_SERIES, LOSS_SERIES, type LiveChart } from './charts.js';
import { benchCases, benchUnavailable, runBench, type BenchReport, type BenchRow } from './bench.js';
import { setupClassify, type ClassifyState } from './classify.js';

type Status = 'loading' | 'ready' | 'training' | 'paused' | 'done' | 'error';

/** What the page exposes for tests and for poking at in the console. */
interface DemoState {
  status: Status;
  error: string | null;
  step: number;
  trainLoss: number[];
  evals: { step: number; accuracy: number; loss: number; count: number }[];
  samples: { label: number; predicted: number | null }[];
  imagesPerSecond: number | null;
  kernels: (ProfileReport & { step: number }) | null;
  bench: BenchReport | null;
  benchError: string | null;
  lastDownload: { name: string; blob: Blob } | null;
  config: Record<string, unknown>;
  adapter: Gpu['adapter'] | null;
  /** The timm-weights classifier card. */
  classify: ClassifyState;
}

const state: DemoState = {
  status: 'loading', error: null, step: 0, trainLoss: [], evals: [], samples: [], imagesPerSecond: null,
  kernels: null, bench: null, benchError: null, lastDownload: null, config: {}, adapter: null,
  classify: { status: 'idle', error: null, weights: null, top: null, preprocessing: null },
};
(window as unknown as { __demo: DemoState }).__demo = state;

// ---------------------------------------------------------------- parameters

const params = new URLSearchParams(location.search);
function num(name: string, fallback: number, { min = -Infinity, max = Infinity, int = false } = {}): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
    warn(`ignoring ?${name}=${raw} (expected ${int ? 'an integer' : 'a number'} in [${min}, ${max}])`);
    return fallback;
  }
  return v;
}
const warnings: string[] = [];
function warn(msg: string): void {
  warnings.push(msg);
}

const P = {
  batch: num('batch', 64, { min: 1, max: 1024, int: true }),
  lr: params.has('lr') ? num('lr', NaN, { min: 1e-6, max: 10 }) : NaN,
  epochs: num('epochs', 2, { min: 1, max: 100, int: true }),
  subset: num('subset', 60000, { min: 16, max: 60000, int: true }),
  test: num('test', 1000, { min: 16, max: 10000, int: true }),
  steps: num('steps', 0, { min: 0, int: true }),
  evalEvery: num('evalEvery', 100, { min: 1, int: true }),
  profileAt: num('profileAt', 3, { min: 0, int: true }),
  autostart: params.get('autostart') === '1',
  bench: params.get('bench'),
  seed: num('seed', 0, { int: true }),
};
const defaultLr = nfnet.defaultLearningRate;

// ---------------------------------------------------------------- DOM helpers

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { className?: string } = {}, ...children: (Node | string)[]) => {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
};
const ui = {
  batch: $<HTMLInputElement>('batch'),
  lr: $<HTMLInputElement>('lr'),
  epochs: $<HTMLInputElement>('epochs'),
  start: $<HTMLButtonElement>('start'),
  reset: $<HTMLButtonElement>('reset'),
  download: $<HTMLButtonElement>('download'),
  bench: $<HTMLButtonElement>('bench'),
  status: $('status'),
};

function banner(message: string, kind: 'error' | 'warn' = 'error'): void {
  const b = $('banner');
  b.hidden = false;
  b.className = `banner${kind === 'warn' ? ' warn' : ''}`;
  b.textContent = message;
}

function setStatus(text: string): void {
  ui.status.textContent = text;
}

function fail(title: string, e: unknown): void {
  const err = e as Error;
  // Typed library errors (DeviceError, ShapeError, …) carry a message meant for people.
  const msg = err && typeof err === 'object' && 'message' in err ? `${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}` : String(e);
  state.status = 'error';
  state.error = `${title}: ${msg}`;
  banner(`${title}\n${msg}`);
  setStatus('stopped');
  console.error(e);
  refreshButtons();
}

const fmt = {
  pct: (x: number) => `${(100 * x).toFixed(1)}%`,
  ms: (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)),
  int: (x: number) => x.toLocaleString('en-US'),
};

// ---------------------------------------------------------------- data

class MissingData extends Error {}

/** Fetch a gzipped IDX file and gunzip it in the page; stop reading once `maxItems` records are in. */
async function fetchIdx(name: string, maxItems: number): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(`data/${name}`);
  } catch (e) {
    throw new MissingData(`could not fetch data/${name}: ${(e as Error).message}`);
  }
  if (!res.ok || !res.body) throw new MissingData(res.status === 404 ? await res.text() : `data/${name}: HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new DecompressionStream('gzip')).getReader();
  const chunks: Uint8Array[] = [];
  let have = 0;
  let limit = Infinity;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    have += value.length;
    if (limit === Infinity && have >= 4) {
      // IDX header: 4-byte magic (rank in byte 3), then rank u32 dims.
      const head = concat(chunks, have);
      const rank = head[3]!;
      if (have >= 4 + 4 * rank) {
        const view = new DataView(head.buffer, head.byteOffset);
        let item = 1;
        for (let d = 1; d < rank; d++) item *= view.getUint32(4 + 4 * d);
        limit = 4 + 4 * rank + Math.min(maxItems, view.getUint32(4)) * item;
      }
    }
    if (have >= limit) {
      await reader.cancel();
      break;
    }
  }
  const bytes = concat(chunks, Math.min(have, limit)).slice();
  const view = new DataView(bytes.buffer);
  if (bytes.length >= 8 && view.getUint32(4) > maxItems) view.setUint32(4, maxItems); // we kept the first maxItems records
  return bytes;
}

function concat(chunks: Uint8Array[], n: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!.subarray(0, n);
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    if (at >= n) break;
    out.set(c.subarray(0, n - at), at);
    at += c.length;
  }
  return out;
}

// ---------------------------------------------------------------- GPU work, one thing at a time

let chain: Promise<unknown> = Promise.resolve();
/** Training steps, evaluation, checkpoints and the bench all use one device: never interleave them. */
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const p = chain.then(fn);
  chain = p.catch(() => {});
  return p;
}

// ---------------------------------------------------------------- the app

let gpu: Gpu | null = null;
let trainSet: data.ImageSet | null = null;
let testSet: data.ImageSet | null = null;
let stats: { mean: number[]; std: number[] } | null = null;
let model: nfnet.NFNet | null = null;
let trainer: nfnet.Trainer | null = null;
let loader: data.DataLoader | null = null;
let run: { batch: number; lr: number; epochs: number; totalSteps: number; stepsPerEpoch: number } | null = null;
let stopRequested = false;
let paused = false;
let resumeWaiter: (() => void) | null = null;
let loopDone: Promise<void> | null = null;
let charts: { loss: LiveChart; acc: LiveChart } | null = null;
let benchRunning = false;

const SAMPLE_COUNT = 16;
let sampleIdx: number[] = [];

function refreshButtons(): void {
  const ready = state.status !== 'loading' && state.status !== 'error' && !!trainSet && !!gpu;
  ui.start.disabled = !ready || state.status === 'done' || benchRunning;
  ui.start.textContent = state.status === 'training' ? 'Pause' : state.status === 'paused' ? 'Resume' : state.status === 'done' ? 'Done' : 'Start';
  ui.reset.disabled = !ready || !model || benchRunning;
  ui.download.disabled = !ready || !model || benchRunning;
  ui.bench.disabled = !gpu || state.status === 'error' || benchRunning || !!benchUnavailable;
  const locked = !!model;
  for (const i of [ui.batch, ui.lr, ui.epochs]) i.disabled = locked;
}

function drawSamples(): void {
  const box = $('samples');
  box.replaceChildren();
  if (!testSet) return;
  const names = testSet.classNames ?? data.FASHION_MNIST_CLASSES;
  const { height: h, width: w } = testSet;
  sampleIdx.forEach((idx, k) => {
    const canvas = el('canvas', { width: w, height: h });
    const ctx = canvas.getContext('2d')!;
    const img = ctx.createImageData(w, h);
    for (let p = 0; p < h * w; p++) {
      const v = testSet!.images[idx * h * w + p]!;
      img.data.set([v, v, v, 255], p * 4);
    }
    ctx.putImageData(img, 0, 0);
    const s = state.samples[k]!;
    const cls = s.predicted === null ? 'none' : s.predicted === s.label ? 'ok' : 'bad';
    const pred = s.predicted === null ? '?' : names[s.predicted]!;
    const note = s.predicted === null ? names[s.label]! : s.predicted === s.label ? '✓ right' : `✗ is ${names[s.label]}`;
    const item = el('div', { className: `sample ${cls}`, title: `true label: ${names[s.label]}` }, canvas, el('span', { className: 'pred' }, pred), el('span', { className: 'truth' }, note));
    box.append(item);
  });
}

function bar(percent: number): HTMLDivElement {
  const d = el('div', { className: 'barfill' });
  d.style.width = `${percent.toFixed(1)}%`;
  return d;
}

function renderKernels(report: ProfileReport & { step: number }): void {
  const box = $('kernels');
  const top = report.kernels.slice(0, 10);
  const rest = report.kernels.slice(10);
  const max = Math.max(...top.map((k) => k.totalMs), 1e-9);
  const calls = report.kernels.reduce((s, k) => s + k.calls, 0);
  const mode = report.mode === 'timestamp' ? 'GPU timestamps' : 'wall time per dispatch (no timestamp-query on this adapter; includes launch overhead)';
  const rows = top.map((k) =>
    el('tr', {},
      el('td', { className: 'name' }, k.kernel),
      el('td', {}, String(k.calls)),
      el('td', {}, fmt.ms(k.totalMs)),
      el('td', {}, fmt.ms(k.meanMs)),
      el('td', {}, `${((100 * k.totalMs) / Math.max(report.totalMs, 1e-9)).toFixed(1)}%`),
      el('td', { className: 'bar' }, bar((100 * k.totalMs) / max)),
    ),
  );
  if (rest.length) {
    const ms = rest.reduce((s, k) => s + k.totalMs, 0);
    rows.push(el('tr', {}, el('td', { className: 'name' }, `${rest.length} more kernels`), el('td', {}, String(rest.reduce((s, k) => s + k.calls, 0))), el('td', {}, fmt.ms(ms)), el('td', {}, ''), el('td', {}, `${((100 * ms) / report.totalMs).toFixed(1)}%`), el('td', {}, '')));
  }
  box.replaceChildren(
    el('p', { className: 'summary' }, `step ${report.step}: ${fmt.ms(report.totalMs)} ms in ${calls} dispatches of ${report.kernels.length} kernels — ${mode}`),
    el('table', {},
      el('thead', {}, el('tr', {}, ...['kernel', 'calls', 'total ms', 'mean ms', 'share', ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows),
    ),
  );
}

function renderBench(rows: BenchRow[], current: string | null, report: BenchReport | null): void {
  const box = $('bench-table');
  const rate = (r: BenchRow) => (r.error ? 'error' : r.gflops === undefined ? '' : r.bound === 'compute' ? `${r.gflops.toFixed(2)} GFLOP/s` : `${r.gbs!.toFixed(2)} GB/s`);
  const body = rows.map((r) =>
    el('tr', {},
      el('td', { className: 'name' }, r.name),
      el('td', {}, r.bound),
      el('td', {}, String(r.reps)),
      el('td', {}, r.medianMs === undefined ? '–' : `${fmt.ms(r.medianMs)} / ${fmt.ms(r.minMs!)}`),
      el('td', {}, r.gpuMedianMs === undefined ? '–' : fmt.ms(r.gpuMedianMs)),
      el('td', {}, rate(r)),
      el('td', {}, r.pctRoofline === null || r.pctRoofline === undefined ? '–' : `${r.pctRoofline.toFixed(0)}%`),
      el('td', { title: r.error ?? '' }, r.error ? r.error.slice(0, 80) : ''),
    ),
  );
  if (current) body.push(el('tr', {}, el('td', { className: 'name' }, current), el('td', { colSpan: 7, className: 'muted' } as Partial<HTMLTableCellElement>, 'running…')));
  const summary = report
    ? `roofline: ${report.ceilings.gflops.toFixed(2)} GFLOP/s multiply-add, ${report.ceilings.gbs.toFixed(2)} GB/s copy; ${rows.length} cases in ${report.seconds.toFixed(1)} s. ` +
      'Time = wall per repetition (record + submit + wait), median / min after a warm-up; %roof = vs min(peak FLOP/s, intensity × peak GB/s).'
    : 'running…';
  box.replaceChildren(
    el('p', { className: 'summary muted' }, summary),
    el('table', {},
      el('thead', {}, el('tr', {}, ...['case', 'bound', 'reps', 'ms med / min', 'GPU ms', 'throughput', '%roof', ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...body),
    ),
  );
}

function adapterName(): string {
  const a = state.adapter;
  if (!a) return 'this adapter';
  return a.description || [a.vendor, a.architecture].filter(Boolean).join(' ') || 'this adapter';
}

function setStat(id: string, text: string): void {
  $(id).textContent = text;
}

async function evaluateNow(): Promise<void> {
  if (!model || !trainer || !testSet || !stats) return;
  const m = model;
  const t = trainer;
  const set = testSet;
  const st = stats;
  await exclusive(async () => {
    const evalSet = data.take(set, P.test);
    const testLoader = new data.DataLoader(evalSet, { batchSize: 100, keepLast: true, ...st });
    setStatus(`evaluating on ${fmt.int(evalSet.count)} test images…`);
    const r = await t.evaluate(testLoader);
    state.evals.push({ step: t.step, accuracy: r.accuracy, loss: r.loss, count: r.count });
    charts?.acc.push({ step: t.step, value: r.accuracy, series: ACC_SERIES.test });
    await charts?.acc.flush();
    setStat('s-test', fmt.pct(r.accuracy));
    // Predictions for the sample panel.
    const px = set.height * set.width * set.channels;
    const x = new Float32Array(sampleIdx.length * px);
    sampleIdx.forEach((idx, k) => {
      for (let p = 0; p < px; p++) x[k * px + p] = (set.images[idx * px + p]! / 255 - st.mean[p % set.channels]!) / st.std[p % set.channels]!;
    });
    const xt = tensor(x, [sampleIdx.length, set.height, set.width, set.channels]);
    const pred = await m.predict(xt);
    xt.dispose();
    state.samples.forEach((s, k) => (s.predicted = pred[k]!));
    $('samples-note').textContent = `after step ${t.step}: ${state.samples.filter((s) => s.predicted === s.label).length}/${SAMPLE_COUNT} right`;
    drawSamples();
  });
}

function startRun(): void {
  if (!gpu || !trainSet || !stats) return;
  const batch = Number(ui.batch.value);
  const lr = Number(ui.lr.value);
  const epochs = Number(ui.epochs.value);
  if (!Number.isInteger(batch) || batch < 1 || batch > Math.min(1024, trainSet.count)) return void banner(`batch size must be an integer in 1…${Math.min(1024, trainSet.count)}, got ${ui.batch.value}`, 'warn');
  if (!(lr > 0 && lr <= 10)) return void banner(`lr must be in (0, 10], got ${ui.lr.value}`, 'warn');
  if (!Number.isInteger(epochs) || epochs < 1) return void banner(`epochs must be a positive integer, got ${ui.epochs.value}`, 'warn');
  $('banner').hidden = true;
  loader = new data.DataLoader(trainSet, { batchSize: batch, shuffle: true, seed: P.seed, cropPadding: 2, flip: true, ...stats });
  const stepsPerEpoch = loader.batchesPerEpoch;
  const totalSteps = P.steps > 0 ? P.steps : stepsPerEpoch * epochs;
  model = nfnet.create('nano', { seed: P.seed, numClasses: 10, inChannels: 1 });
  trainer = new nfnet.Trainer(model, { lr, totalSteps, warmupSteps: Math.min(Math.round(0.1 * totalSteps), stepsPerEpoch), seed: P.seed });
  run = { batch, lr, epochs, totalSteps, stepsPerEpoch };
  const o = trainer.options;
  $('run-info').textContent =
    `nano: ${fmt.int(model.parameterCount())} parameters. SGD + Nesterov momentum ${o.momentum}, AGC λ = ${o.clipping}, weight decay ${o.weightDecay}, ` +
    `label smoothing ${o.labelSmoothing}; lr warm-up ${o.warmupSteps} steps then cosine to 0 at step ${fmt.int(totalSteps)}; ` +
    `augmentation: random crop (pad 2) + flip; ${stepsPerEpoch} steps per epoch.`;
  state.config = { variant: 'nano', ...run, trainImages: trainSet.count, testImages: Math.min(P.test, testSet!.count), augment: 'crop ±2 px, flip' };
  setStat('s-params', fmt.int(model.parameterCount()));
  stopRequested = false;
  paused = false;
  state.status = 'training';
  refreshButtons();
  loopDone = trainLoop().catch((e) => fail('Training stopped with an error', e));
}

async function trainLoop(): Promise<void> {
  const r = run!;
  const t = trainer!;
  const windowSteps: { images: number; ms: number }[] = [];
  const recent: { correct: number; count: number }[] = [];
  let smooth: number | null = null;
  let lastDraw = 0;
  // Filled by wrapStep for onStep: the step's wall time and its kernel profile (one step only).
  let stepMs = 0;
  let report: ProfileReport | null = null;
  const fitted = await t.fit(
    loader!,
    {
      epochs: Math.ceil(r.totalSteps / r.stepsPerEpoch), maxSteps: r.totalSteps, pipeline: false,
      // One step at a time under the page's lock, so the bench and evaluations never interleave with it.
      wrapStep: (submit) =>
        exclusive(async () => {
          const profile = t.step === P.profileAt;
          if (profile) gpu!.profile.start();
          const t0 = performance.now();
          const out = await (await submit()).result;
          stepMs = performance.now() - t0;
          report = profile ? await gpu!.profile.stop() : null;
          return { result: Promise.resolve(out) };
        }),
    },
    {
      beforeStep: async () => {
        if (paused && !stopRequested) {
          state.status = 'paused';
          setStatus(`paused at step ${t.step}`);
          refreshButtons();
          await new Promise<void>((res) => (resumeWaiter = res));
          state.status = 'training';
          refreshButtons();
        }
        return !stopRequested;
      },
      onStep: async (out, p) => {
        const step = out.step;
        if (report) {
          state.kernels = { ...report, step };
          renderKernels(state.kernels);
        } else if (step > 2) {
          // Steps 1–2 build pipelines; the profiled step runs one dispatch per submit.
          windowSteps.push({ images: out.count, ms: stepMs });
          if (windowSteps.length > 20) windowSteps.shift();
          const ips = (1000 * windowSteps.reduce((s, w) => s + w.images, 0)) / windowSteps.reduce((s, w) => s + w.ms, 0);
          state.imagesPerSecond = ips;
          setStat('s-ips', ips >= 100 ? ips.toFixed(0) : ips.toFixed(1));
        }
        state.step = step;
        state.trainLoss.push(out.loss);
        smooth = smooth === null ? out.loss : 0.9 * smooth + 0.1 * out.loss;
        recent.push({ correct: out.correct, count: out.count });
        if (recent.length > 20) recent.shift();
        const acc = recent.reduce((s, x) => s + x.correct, 0) / recent.reduce((s, x) => s + x.count, 0);
        charts!.loss.push({ step, value: out.loss, series: LOSS_SERIES.batch }, { step, value: smooth, series: LOSS_SERIES.smooth });
        charts!.acc.push({ step, value: acc, series: ACC_SERIES.train });
        setStat('s-step', `${fmt.int(step)} / ${fmt.int(r.totalSteps)}`);
        setStat('s-epoch', `${p.epoch} (${p.inEpoch}/${p.stepsPerEpoch})`);
        setStat('s-loss', smooth.toFixed(3));
        setStat('s-acc', fmt.pct(acc));
        setStat('s-lr', out.lr.toPrecision(3));
        setStatus(`training: step ${step} of ${r.totalSteps}${report ? ' (profiled)' : ''}`);
        if (performance.now() - lastDraw > 250 || step === r.totalSteps) {
          lastDraw = performance.now();
          await Promise.all([charts!.loss.flush(), charts!.acc.flush()]);
        }
        if (step % P.evalEvery === 0 || step === r.totalSteps) await evaluateNow();
        await new Promise((res) => setTimeout(res, 0)); // let clicks through
        return !stopRequested;
      },
    },
  );
  await Promise.all([charts!.loss.flush(), charts!.acc.flush()]);
  if (fitted.diverged) throw new Error(`${fitted.message}; try a smaller lr`);
  if (!stopRequested) {
    state.status = 'done';
    const last = state.evals[state.evals.length - 1];
    const skipped = fitted.skippedSteps ? ` (${fitted.skippedSteps} skipped: non-finite loss)` : '';
    setStatus(`done: ${t.step} steps${skipped}${last ? `, test accuracy ${fmt.pct(last.accuracy)} on ${fmt.int(last.count)} images` : ''}. Download the checkpoint, or Reset for a new run.`);
  }
  refreshButtons();
}

async function togglePause(): Promise<void> {
  if (state.status === 'ready') return startRun();
  if (state.status === 'training') {
    paused = true;
    setStatus('pausing after this step…');
  } else if (state.status === 'paused') {
    paused = false;
    resumeWaiter?.();
    resumeWaiter = null;
  }
}

async function reset(): Promise<void> {
  stopRequested = true;
  paused = false;
  resumeWaiter?.();
  resumeWaiter = null;
  await loopDone;
  await exclusive(async () => {
    trainer?.dispose();
    model?.dispose();
    trainer = null;
    model = null;
    run = null;
  });
  state.status = 'ready';
  state.step = 0;
  state.trainLoss = [];
  state.evals = [];
  state.kernels = null;
  state.samples.forEach((s) => (s.predicted = null));
  $('samples-note').textContent = 'predictions appear after the first evaluation';
  drawSamples();
  await Promise.all([charts?.loss.clear(), charts?.acc.clear()]);
  for (const id of ['s-step', 's-epoch', 's-loss', 's-acc', 's-test', 's-ips', 's-lr']) setStat(id, '–');
  $('kernels').replaceChildren(el('p', { className: 'muted' }, 'no profile yet'));
  $('run-info').textContent = '';
  setStatus('ready: press Start');
  refreshButtons();
}

async function download(): Promise<void> {
  if (!model || !trainer) return;
  const m = model;
  const t = trainer;
  ui.download.disabled = true;
  try {
    const bytes = await exclusive(() => nfnet.encodeCheckpoint(m, t, { extra: { source: 'nfnet-webgpu demo', dataset: 'fashion-mnist', run: state.config } }));
    const name = `nfnet-nano-fashion-mnist-step${t.step}.safetensors`;
    const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
    state.lastDownload = { name, blob };
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) {
    banner(`Could not write the checkpoint\n${(e as Error).name}: ${(e as Error).message}`);
  } finally {
    refreshButtons();
  }
}

async function bench(): Promise<void> {
  if (!gpu || benchRunning) return;
  const wasTraining = state.status === 'training';
  if (wasTraining) paused = true; // timings of a busy device mean little
  benchRunning = true;
  refreshButtons();
  const status = $('bench-status');
  let filter: RegExp | null = null;
  try {
    filter = P.bench ? new RegExp(P.bench) : null;
  } catch {
    warn(`ignoring ?bench=${P.bench}: not a regular expression`);
  }
  try {
    const g = gpu;
    status.textContent = `${benchCases(filter).length} cases; training paused while it runs`;
    const report = await exclusive(() => runBench(g, { filter, onRow: (rows, current) => renderBench(rows, current, null) }));
    state.bench = report;
    renderBench(report.rows, null, report);
    status.textContent = `done in ${report.seconds.toFixed(1)} s on ${adapterName()}`;
  } catch (e) {
    state.benchError = `${(e as Error).name}: ${(e as Error).message}`;
    status.textContent = state.benchError;
  } finally {
    benchRunning = false;
    if (wasTraining) {
      paused = false;
      resumeWaiter?.();
      resumeWaiter = null;
    }
    refreshButtons();
  }
}

async function main(): Promise<void> {
  ui.batch.value = String(P.batch);
  ui.lr.value = String(Number.isNaN(P.lr) ? defaultLr(P.batch) : P.lr);
  ui.epochs.value = String(P.epochs);
  ui.batch.addEventListener('change', () => {
    if (!params.has('lr')) ui.lr.value = String(defaultLr(Number(ui.batch.value) || 64));
  });
  ui.start.addEventListener('click', () => void togglePause());
  ui.reset.addEventListener('click', () => void reset());
  ui.download.addEventListener('click', () => void download());
  ui.bench.addEventListener('click', () => void bench());
  if (benchUnavailable) $('bench-status').textContent = benchUnavailable;
  charts = { loss: lossChart($('loss-chart')), acc: accuracyChart($('acc-chart')) };
  const refreshClassify = setupClassify(state.classify, exclusive, () => !!gpu);
  refreshButtons();

  // 1. WebGPU.
  setStatus('requesting a WebGPU device…');
  try {
    gpu = await init({ verbose: false });
  } catch (e) {
    $('adapter').innerHTML = '<b>WebGPU unavailable</b>';
    const err = e as Error;
    const msg = err?.name === 'DeviceError' ? err.message : `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
    state.status = 'error';
    state.error = msg;
    banner(`This page needs WebGPU, and it is not available here.\n${msg}`);
    setStatus('WebGPU is not available: nothing to train on');
    refreshButtons();
    return;
  }
  state.adapter = gpu.adapter;
  refreshClassify();
  const a = gpu.adapter;
  $('adapter').innerHTML = '';
  $('adapter').append(
    'WebGPU adapter: ', el('b', {}, adapterName()),
    a.software ? ' — software (SwiftShader): expect tens of images/s' : '',
    gpu.features.includes('timestamp-query') ? '' : ' · no timestamp-query',
  );
  refreshButtons();

  // 2. Fashion-MNIST.
  setStatus('loading Fashion-MNIST…');
  try {
    const t0 = performance.now();
    const [ti, tl, vi, vl] = await Promise.all([
      fetchIdx('train-images-idx3-ubyte.gz', P.subset),
      fetchIdx('train-labels-idx1-ubyte.gz', P.subset),
      fetchIdx('t10k-images-idx3-ubyte.gz', P.test),
      fetchIdx('t10k-labels-idx1-ubyte.gz', P.test),
    ]);
    trainSet = data.idxImageSet(ti, tl, data.FASHION_MNIST_CLASSES);
    testSet = data.idxImageSet(vi, vl, data.FASHION_MNIST_CLASSES);
    stats = data.channelStats(trainSet);
    $('dataset').textContent = `Fashion-MNIST: ${fmt.int(trainSet.count)} training and ${fmt.int(testSet.count)} test images (28×28 grey), gunzipped in the page in ${((performance.now() - t0) / 1000).toFixed(1)} s.`;
  } catch (e) {
    if (e instanceof MissingData) {
      state.status = 'error';
      state.error = `Fashion-MNIST is missing: ${e.message}`;
      banner(`Fashion-MNIST is missing on the server, so there is nothing to train on.\n${e.message}`);
      setStatus('no data');
      refreshButtons();
      return;
    }
    return fail('Could not read Fashion-MNIST', e);
  }
  // 16 test images: the first of each class, then the next ones in file order; shown by class.
  const firstOf = new Map<number, number>();
  for (let i = 0; i < testSet.count && firstOf.size < 10; i++) if (!firstOf.has(testSet.labels[i]!)) firstOf.set(testSet.labels[i]!, i);
  sampleIdx = [...firstOf.values()];
  for (let i = 0; sampleIdx.length < SAMPLE_COUNT && i < testSet.count; i++) if (!sampleIdx.includes(i)) sampleIdx.push(i);
  sampleIdx = sampleIdx.slice(0, SAMPLE_COUNT).sort((x, y) => testSet!.labels[x]! - testSet!.labels[y]! || x - y);
  state.samples = sampleIdx.map((i) => ({ label: testSet!.labels[i]!, predicted: null }));
  drawSamples();

  state.status = 'ready';
  setStatus('ready: press Start');
  if (warnings.length) banner(warnings.join('\n'), 'warn');
  refreshButtons();
  if (P.autostart) startRun();
}

void main().catch((e) => fail('The demo failed to start', e));
