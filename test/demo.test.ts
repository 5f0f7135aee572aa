/**
 * The demo page (demo/, `npm run demo`) in headless Chromium on SwiftShader: served by the
 * same `startDemoServer()` as `npm run demo`, it trains NFNet-nano on a Fashion-MNIST subset
 * for a few steps, must beat chance on held-out test images, profile a step, run the bench
 * cases, and download a checkpoint that decodes as a valid safetensors file. Also: clear
 * messages when WebGPU or the data are missing. Saves a screenshot (.tmp/demo.png; docs/results/demo.png with DEMO_SCREENSHOT=1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ElementHandle, Page } from 'puppeteer-core';
import { PNG } from 'pngjs';
import { decodeCheckpoint } from '../src/nfnet/checkpoint.js';
import { predict } from '../src/cli/predict.js';
import { startDemoServer, ROOT, type DemoServer } from '../demo/server.js';
import { launchChromium, type LaunchedBrowser } from './browser/launch.js';
import { removeDir, scratchDir } from './browser/bundle.js';

const STEPS = 20;
const BATCH = 32;
const SUBSET = 2048;
const TEST_IMAGES = 300;
const BENCH_FILTER = '^add/1M$';
// The committed docs/results/demo.png is refreshed only on request (DEMO_SCREENSHOT=1), so a test run leaves the tree clean.
const SCREENSHOT = path.join(ROOT, process.env.DEMO_SCREENSHOT ? 'docs/results/demo.png' : '.tmp/demo.png');

interface DemoState {
  status: string;
  error: string | null;
  step: number;
  trainLoss: number[];
  evals: { step: number; accuracy: number; loss: number; count: number }[];
  samples: { label: number; predicted: number | null }[];
  imagesPerSecond: number | null;
  kernels: { mode: string; totalMs: number; kernels: { kernel: string; calls: number; totalMs: number }[]; step: number } | null;
  bench: { rows: { name: string; medianMs?: number; error?: string }[]; ceilings: { gflops: number; gbs: number }; seconds: number } | null;
  benchError: string | null;
  lastDownload: { name: string; blob: Blob } | null;
  adapter: { platform: string; software: boolean } | null;
  classify: { status: string; error: string | null; weights: { variant: string; params: number } | null; top: { id: number; name: string | null; probability: number }[] | null };
}
type Win = { __demo: DemoState };

let server: DemoServer | null = null;
let chromium: LaunchedBrowser | null = null;
let downloads = '';
const log: string[] = [];
const started = Date.now();

const withLog = (msg: string) => (log.length ? `${msg}\npage log:\n${log.slice(-30).join('\n')}` : msg);

async function openPage(url: string, hideWebGpu = false): Promise<Page> {
  const page = await chromium!.browser.newPage();
  await page.setViewport({ width: 1280, height: 900 }); // before loading: the charts take the card width they find
  page.on('pageerror', (e) => log.push(`pageerror: ${(e as Error).message ?? e}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') log.push(`console.${m.type()}: ${m.text()}`);
  });
  if (hideWebGpu) {
    await page.evaluateOnNewDocument(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    });
  }
  await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  await page.waitForFunction(() => (window as unknown as Partial<Win>).__demo !== undefined, { timeout: 30_000 });
  return page;
}

const demoState = (page: Page) => page.evaluate(() => {
  const s = (window as unknown as Win).__demo;
  return { ...s, lastDownload: s.lastDownload ? { name: s.lastDownload.name, size: s.lastDownload.blob.size } : null };
});

beforeAll(async () => {
  downloads = scratchDir('demo-downloads');
  [server, chromium] = await Promise.all([startDemoServer({ port: 0 }), launchChromium()]);
  const b = server.bundle;
  console.log(`demo.js ${(b.bytes / 1024).toFixed(0)} KiB (${(b.gzipBytes / 1024).toFixed(0)} KiB gzipped), built in ${(b.buildMs / 1000).toFixed(1)} s${b.benchError ? `; bench disabled: ${b.benchError}` : ''}`);
}, 120_000);

afterAll(async () => {
  await chromium?.close();
  await server?.close();
  if (downloads) removeDir(downloads);
  console.log(`demo.test.ts: ${((Date.now() - started) / 1000).toFixed(1)} s in total`);
});

describe('demo page', () => {
  it('serves the page, the bundle and the Fashion-MNIST files from 127.0.0.1', async () => {
    expect(server!.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server!.missingData, `Fashion-MNIST files missing in ${server!.dataDir} (apt-get install dataset-fashion-mnist)`).toEqual([]);
    const [html, js, gz, missing] = await Promise.all(
      ['/', '/demo.js', '/data/t10k-labels-idx1-ubyte.gz', '/data/../../etc/passwd'].map((p) => fetch(`${server!.origin}${p}`)),
    );
    expect(html!.status).toBe(200);
    expect(await html!.text()).toContain('<script type="module" src="demo.js">');
    expect(js!.headers.get('content-type')).toContain('javascript');
    expect(js!.status).toBe(200);
    expect(gz!.status).toBe(200);
    const bytes = new Uint8Array(await gz!.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]); // gzip magic: the page gunzips it
    expect(missing!.status).toBe(404);
    expect(server!.bundle.benchError, 'bench cases should bundle for the browser').toBeNull();
  });

  it(`trains nano for ${STEPS} steps of batch ${BATCH}, beats chance, profiles, benchmarks and downloads a checkpoint`, async () => {
    const t0 = Date.now();
    const query = new URLSearchParams({
      steps: String(STEPS), batch: String(BATCH), subset: String(SUBSET), test: String(TEST_IMAGES),
      evalEvery: String(STEPS), profileAt: '3', autostart: '1', bench: BENCH_FILTER,
    });
    const page = await openPage(`${server!.url}?${query}`);
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads, eventsEnabled: true });

    await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as Win).__demo.status), { timeout: 150_000, polling: 500 });
    let s = await demoState(page);
    const tTrain = (Date.now() - t0) / 1000;
    expect(s.error, withLog('page error')).toBeNull();
    expect(s.adapter?.platform).toBe('browser');
    expect(s.step).toBe(STEPS);
    expect(s.trainLoss).toHaveLength(STEPS);
    expect(s.trainLoss.every(Number.isFinite)).toBe(true);
    const last = s.evals[s.evals.length - 1]!;
    console.log(
      `demo: ${STEPS} steps × ${BATCH} in ${tTrain.toFixed(1)} s (page load + data + training + eval), ${s.imagesPerSecond?.toFixed(1)} img/s; ` +
        `loss ${s.trainLoss[0]!.toFixed(3)} → ${s.trainLoss[STEPS - 1]!.toFixed(3)}; test accuracy ${(100 * last.accuracy).toFixed(1)}% on ${last.count} images; ` +
        `samples right ${s.samples.filter((x) => x.predicted === x.label).length}/${s.samples.length}`,
    );
    expect(last.step).toBe(STEPS);
    expect(last.count).toBe(TEST_IMAGES);
    expect(last.accuracy, 'test accuracy after training must beat chance (10%)').toBeGreaterThan(0.1);
    expect(s.imagesPerSecond).toBeGreaterThan(0);
    expect(s.samples).toHaveLength(16);
    expect(s.samples.every((x) => x.predicted !== null && x.predicted >= 0 && x.predicted < 10)).toBe(true);
    // The per-kernel profile of step 4.
    expect(s.kernels, 'profiled step').not.toBeNull();
    expect(s.kernels!.kernels.length).toBeGreaterThan(5);
    expect(s.kernels!.totalMs).toBeGreaterThan(0);
    expect(await page.$eval('#kernels table tbody', (e) => e.children.length)).toBeGreaterThan(5);
    // Charts were drawn (vega SVG).
    expect(await page.$$eval('#loss-chart svg path', (e) => e.length)).toBeGreaterThan(0);

    // Checkpoint download through the button.
    await page.click('#download');
    await page.waitForFunction(() => (window as unknown as Win).__demo.lastDownload !== null, { timeout: 30_000 });
    const header = await page.evaluate(async () => {
      const { blob, name } = (window as unknown as Win).__demo.lastDownload!;
      const buf = new Uint8Array(await blob.arrayBuffer());
      const n = Number(new DataView(buf.buffer).getBigUint64(0, true));
      const json = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
      let end = 0;
      let tensors = 0;
      for (const [k, v] of Object.entries(json)) {
        if (k === '__metadata__') continue;
        tensors++;
        end = Math.max(end, (v as { data_offsets: [number, number] }).data_offsets[1]);
      }
      return { name, size: buf.length, headerLen: n, dataEnd: 8 + n + end, tensors, metadata: json.__metadata__ as Record<string, string> };
    });
    expect(header.name).toBe(`nfnet-nano-fashion-mnist-step${STEPS}.safetensors`);
    expect(header.dataEnd, 'safetensors: header + data must cover the file exactly').toBe(header.size);
    expect(header.metadata.format).toBe('nfnet-webgpu/1');
    expect(header.metadata.step).toBe(String(STEPS));
    // The file Chromium wrote decodes with the library's own reader (params + momentum + EMA).
    const file = path.join(downloads, header.name);
    const deadline = Date.now() + 20_000;
    while (!readdirSync(downloads).includes(header.name) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    while (Date.now() < deadline && statSync(file, { throwIfNoEntry: false })?.size !== header.size) await new Promise((r) => setTimeout(r, 200));
    const ck = decodeCheckpoint(new Uint8Array(readFileSync(file)), header.name);
    expect(ck.config.variant).toBe('nano');
    expect(ck.step).toBe(STEPS);
    expect(ck.params.size).toBeGreaterThan(20);
    expect(ck.momentum.size).toBe(ck.params.size);
    expect(ck.ema.size).toBe(ck.params.size);
    expect(header.tensors).toBe(3 * ck.params.size);
    expect([...ck.params.values()].every((v) => v.every(Number.isFinite))).toBe(true);

    // The kernel bench: the cases of bench/cases/ through bench/measure.ts, in the page.
    const tb = Date.now();
    await page.click('#bench');
    await page.waitForFunction(() => {
      const d = (window as unknown as Win).__demo;
      return d.bench !== null || d.benchError !== null;
    }, { timeout: 60_000, polling: 500 });
    s = await demoState(page);
    expect(s.benchError, withLog('bench')).toBeNull();
    const rows = s.bench!.rows;
    console.log(`demo bench (${((Date.now() - tb) / 1000).toFixed(1)} s): ${rows.map((r) => `${r.name} ${r.medianMs?.toFixed(2) ?? r.error} ms`).join(', ')}; roofline ${s.bench!.ceilings.gflops.toFixed(2)} GFLOP/s, ${s.bench!.ceilings.gbs.toFixed(2)} GB/s`);
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['roofline/fma', 'roofline/copy', 'add/1M']));
    for (const r of rows) {
      expect(r.error, r.name).toBeUndefined();
      expect(r.medianMs, r.name).toBeGreaterThan(0);
    }
    expect(s.bench!.ceilings.gflops).toBeGreaterThan(0);

    // Screenshot for docs/results/demo.png (the whole page).
    await page.evaluate(() => window.scrollTo(0, 0));
    const png = await page.screenshot({ type: 'png', fullPage: true });
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    writeFileSync(SCREENSHOT, png);
    console.log(`wrote ${path.relative(ROOT, SCREENSHOT)} (${(png.length / 1024).toFixed(0)} KiB); test took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await page.close();
  }, 240_000);

  it('classifies a user-chosen image with user-chosen timm weights: the top-5 of nfnet predict in Node', async () => {
    // A 37×23 PNG (gradient + pattern) and the committed tiny timm fixture with 5 class names.
    const png = new PNG({ width: 37, height: 23 });
    for (let i = 0; i < 37 * 23; i++) {
      const [x, y] = [i % 37, Math.floor(i / 37)];
      png.data.set([(x * 7) % 256, (y * 11) % 256, ((x * y) % 17) * 15, 255], i * 4);
    }
    const image = path.join(downloads, 'photo.png');
    const labels = path.join(downloads, 'labels.txt');
    writeFileSync(image, PNG.sync.write(png));
    writeFileSync(labels, 'apple\nbanana\ncherry\ndate\nelder\n');
    const weights = path.join(ROOT, 'test/fixtures/timm/dm_nfnet_tiny.safetensors');
    const want = (await predict({ checkpoint: weights, images: [image], labels })).predictions[0]!.top;

    const page = await openPage(`${server!.url}?subset=64&test=16`);
    await page.waitForFunction(() => (window as unknown as Win).__demo.adapter !== null, { timeout: 60_000 });
    await ((await page.$('#timm-file')) as ElementHandle<HTMLInputElement>).uploadFile(weights);
    await ((await page.$('#image-file')) as ElementHandle<HTMLInputElement>).uploadFile(image);
    await ((await page.$('#labels-file')) as ElementHandle<HTMLInputElement>).uploadFile(labels);
    await page.waitForFunction(() => !(document.getElementById('classify') as HTMLButtonElement).disabled, { timeout: 10_000 });
    await page.click('#classify');
    await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as Win).__demo.classify.status), { timeout: 60_000, polling: 200 });
    const c = (await demoState(page)).classify;
    expect(c.error, withLog('classify')).toBeNull();
    expect(c.weights!.params).toBe(13_020);
    expect(c.top!.map((t) => t.id)).toEqual(want.map((t) => t.id));
    expect(c.top!.map((t) => t.name)).toEqual(want.map((t) => t.name));
    c.top!.forEach((t, i) => expect(Math.abs(t.probability - want[i]!.probability), `rank ${i + 1}`).toBeLessThan(1e-5));
    expect(await page.$$eval('#classify-top li', (e) => e.map((li) => li.textContent))).toHaveLength(5);
    const shot = await (await page.$('.classify-card'))!.screenshot({ type: 'png' });
    writeFileSync(path.join(ROOT, '.tmp', 'demo-classify.png'), shot);
    await page.close();
  }, 120_000);

  it('says so clearly, without a stack trace, when WebGPU is missing', async () => {
    const page = await openPage(server!.url, true);
    await page.waitForFunction(() => (window as unknown as Win).__demo.status === 'error', { timeout: 30_000 });
    const text = await page.$eval('#banner', (e) => ({ text: e.textContent ?? '', hidden: (e as HTMLElement).hidden }));
    expect(text.hidden).toBe(false);
    expect(text.text).toContain('This page needs WebGPU');
    expect(text.text).toContain('navigator.gpu is missing');
    expect(text.text).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
    expect(await page.$eval('#start', (e) => (e as HTMLButtonElement).disabled)).toBe(true);
    await page.close();
  });

  it('says so clearly when the Fashion-MNIST files are missing', async () => {
    const bare = await startDemoServer({ port: 0, dataDir: path.join(ROOT, '.tmp/no-such-dataset'), bundle: server!.bundle });
    try {
      expect(bare.missingData).toHaveLength(4);
      const page = await openPage(bare.url);
      await page.waitForFunction(() => (window as unknown as Win).__demo.status === 'error', { timeout: 60_000 });
      const text = await page.$eval('#banner', (e) => e.textContent ?? '');
      expect(text).toContain('Fashion-MNIST is missing');
      expect(text).toContain('apt-get install dataset-fashion-mnist');
      await page.close();
    } finally {
      await bare.close();
    }
  });
});
