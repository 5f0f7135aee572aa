/**
 * The library in real Chromium WebGPU (headless, SwiftShader): the browser bundle is built
 * with the project's esbuild settings, served from 127.0.0.1, and every shared op case
 * (test/cases/) runs in the page and in Node. Browser and Node results must agree, and
 * both must match the float64 references (forward and central-difference gradients).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import * as lib from '../src/index.js';
import { definitions } from '../src/ops/index.js';
import { cotangent, makeInput, maxRelErr, opCases, referenceResult, runCases, type CaseResult } from './cases/index.js';
import { removeDir, scratchDir } from './browser/bundle.js';
import { launchChromium, type LaunchedBrowser } from './browser/launch.js';
import { openTestPage, startTestSite, type TestSite } from './browser/page.js';

/** Browser and Node run the same WGSL on SwiftShader; allow for driver-level differences. */
const CROSS_TOL = 1e-5;

interface PageWindow {
  nfnet: typeof lib;
  nfnetCases: typeof import('./cases/index.js');
}

let dir = '';
let site: TestSite | null = null;
let chromium: LaunchedBrowser | null = null;
let page: Page | null = null;
const pageLog: string[] = [];
const started = Date.now();

beforeAll(async () => {
  dir = scratchDir('browser-test');
  site = await startTestSite(dir);
  chromium = await launchChromium();
  page = await chromium.browser.newPage();
  await openTestPage(page, site.url, pageLog);
}, 120_000);

afterAll(async () => {
  await page?.close().catch(() => {});
  await chromium?.close();
  await site?.server.close();
  if (dir) removeDir(dir);
  console.log(`browser.test.ts: ${((Date.now() - started) / 1000).toFixed(1)} s in total`);
});

const withLog = (msg: string) => (pageLog.length ? `${msg}\npage log:\n${pageLog.join('\n')}` : msg);

describe('browser bundle in Chromium', () => {
  it("init() picks navigator.gpu and reports platform 'browser'", async () => {
    const adapter = await page!.evaluate(async () => {
      const { nfnet } = window as unknown as PageWindow;
      const gpu = await nfnet.init({ verbose: false });
      return gpu.adapter;
    });
    expect(adapter.platform, withLog('adapter.platform')).toBe('browser');
    expect(adapter.software, `SwiftShader expected with the DESIGN.md flags, got ${JSON.stringify(adapter)}`).toBe(true);
  });

  it('every op in ops.definitions has a shared case', () => {
    const covered = new Set(opCases.flatMap((c) => c.ops));
    const missing = Object.keys(definitions).filter((op) => !covered.has(op as keyof typeof definitions));
    expect(missing, `add cases for these ops to test/cases/op-cases.ts`).toEqual([]);
    const names = opCases.map((c) => c.name);
    expect(new Set(names).size, 'case names are unique').toBe(names.length);
  });
});

describe('shared op cases: Chromium vs Node vs float64 reference', () => {
  let browserResults = new Map<string, CaseResult>();
  let nodeResults = new Map<string, CaseResult>();
  const worst = { cross: 0, crossCase: '', ref: 0, refCase: '' };

  beforeAll(async () => {
    const t0 = Date.now();
    let tBrowser = 0;
    const inBrowser = page!.evaluate(async () => {
      const { nfnet, nfnetCases } = window as unknown as PageWindow;
      await nfnet.init({ verbose: false });
      return nfnetCases.runCases(nfnet, nfnetCases.opCases);
    }).then((r) => {
      tBrowser = Date.now() - t0;
      return r;
    });
    inBrowser.catch(() => {}); // awaited below; don't let a Node-side failure leave it unhandled
    // Node runs its own SwiftShader device meanwhile (another process, another core).
    const gpu = await lib.init({ verbose: false });
    let inNode: CaseResult[];
    try {
      inNode = await runCases(lib, opCases);
    } finally {
      await gpu.dispose();
    }
    const tNode = Date.now() - t0;
    const fromBrowser = await inBrowser;
    console.log(`${opCases.length} cases (${Object.keys(definitions).length} ops): Node ${(tNode / 1000).toFixed(1)} s, Chromium ${(tBrowser / 1000).toFixed(1)} s (run concurrently)`);
    browserResults = new Map(fromBrowser.map((r) => [r.name, r]));
    nodeResults = new Map(inNode.map((r) => [r.name, r]));
  }, 120_000);

  afterAll(() => {
    console.log(
      `browser vs Node: max relative difference ${worst.cross.toExponential(2)} (${worst.crossCase || '-'}); ` +
        `vs float64 reference: max relative error ${worst.ref.toExponential(2)} (${worst.refCase || '-'})`,
    );
  });

  for (const c of opCases) {
    it(c.name, () => {
      const b = browserResults.get(c.name);
      const n = nodeResults.get(c.name);
      expect(b, withLog(`no browser result for ${c.name}`)).toBeDefined();
      expect(n, `no Node result for ${c.name}`).toBeDefined();
      expect(b!.error, withLog(`browser: ${c.name}`)).toBeUndefined();
      expect(n!.error, `node: ${c.name}`).toBeUndefined();
      expect(b!.shape).toEqual(n!.shape);
      expect(b!.grads.length).toBe(n!.grads.length);

      const cross = (got: number[], want: number[], what: string) => {
        const err = maxRelErr(got, want);
        if (err > worst.cross) Object.assign(worst, { cross: err, crossCase: `${c.name} ${what}` });
        expect(err, `${c.name} ${what}: browser vs Node, max error relative to max |Node| = ${err.toExponential(2)}`).toBeLessThanOrEqual(CROSS_TOL);
      };
      cross(b!.forward, n!.forward, 'forward');
      b!.grads.forEach((g, i) => cross(g, n!.grads[i]!, `gradient ${i}`));

      if (c.check) {
        const inputs = c.inputs.map(makeInput);
        const r = cotangent(b!.shape);
        expect(c.check(inputs, r, b!), `${c.name} (browser)`).toBeNull();
        expect(c.check(inputs, r, n!), `${c.name} (node)`).toBeNull();
      }
      const ref = referenceResult(c);
      if (!ref) return;
      expect(n!.shape).toEqual(ref.shape);
      expect(ref.grads.length).toBe(n!.grads.length);
      for (const [where, r] of [['browser', b!], ['node', n!]] as const) {
        const check = (got: number[], want: Float64Array, tol: number, what: string) => {
          const err = maxRelErr(got, want);
          if (err > worst.ref) Object.assign(worst, { ref: err, refCase: `${c.name} ${what} (${where})` });
          expect(err, `${c.name} ${what} (${where}) vs float64 reference: ${err.toExponential(2)}`).toBeLessThanOrEqual(tol);
        };
        check(r.forward, ref.forward, c.fwdTol ?? 1e-5, 'forward');
        r.grads.forEach((g, i) => check(g, ref.grads[i]!, c.gradTol ?? 1e-4, `gradient ${i}`));
      }
    });
  }
});

describe('init() without WebGPU', () => {
  it('throws DeviceError when navigator.gpu is missing', async () => {
    const bare = await chromium!.browser.newPage();
    try {
      // Chromium always exposes navigator.gpu on a secure origin; hide it as a browser without WebGPU would.
      await bare.evaluateOnNewDocument(() => {
        Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
      });
      await openTestPage(bare, site!.url, []);
      const err = await bare.evaluate(async () => {
        const { nfnet } = window as unknown as PageWindow;
        try {
          await nfnet.init();
          return null;
        } catch (e) {
          return { deviceError: e instanceof nfnet.DeviceError, name: (e as Error).name, message: (e as Error).message };
        }
      });
      expect(err, 'init() should have thrown').not.toBeNull();
      expect(err!.deviceError, `${err!.name}: ${err!.message}`).toBe(true);
      expect(err!.name).toBe('DeviceError');
      expect(err!.message).toMatch(/WebGPU is not available here \(navigator\.gpu is missing\)/);
    } finally {
      await bare.close();
    }
  });

  it('throws DeviceError when Chromium runs without --enable-unsafe-webgpu (no adapter)', async () => {
    const plain = await launchChromium({ withoutWebGpu: true });
    try {
      const p = await plain.browser.newPage();
      await openTestPage(p, site!.url, []);
      const err = await p.evaluate(async () => {
        const { nfnet } = window as unknown as PageWindow;
        try {
          await nfnet.init();
          return null;
        } catch (e) {
          return { deviceError: e instanceof nfnet.DeviceError, name: (e as Error).name, message: (e as Error).message };
        }
      });
      // On a machine whose Chromium enables WebGPU by default this init succeeds: nothing to check then.
      console.log(`Chromium without --enable-unsafe-webgpu: ${err ? `${err.name}: ${err.message}` : 'init() succeeded (WebGPU on by default here)'}`);
      if (err === null) return;
      expect(err.deviceError, `${err.name}: ${err.message}`).toBe(true);
      expect(err.message).toMatch(/no WebGPU adapter is available|navigator\.gpu is missing/);
    } finally {
      await plain.close();
    }
  }, 60_000);
});
