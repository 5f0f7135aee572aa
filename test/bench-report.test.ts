/**
 * The bench's HTML report (bench/html.ts), rendered from a small fixture report
 * (bench/fixtures/sample-report.json, not a real bench run) and opened in headless
 * Chromium: the page must show the results table and non-empty SVG charts.
 * Set BENCH_REPORT_SCREENSHOT=file.png to keep the screenshot.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlReport, type HtmlReportInput } from '../bench/html.js';
import { compareReports } from '../bench/compare.js';
import { launchChromium, type LaunchedBrowser } from './browser/launch.js';

const fixture = JSON.parse(readFileSync(new URL('../bench/fixtures/sample-report.json', import.meta.url), 'utf8')) as HtmlReportInput;

describe('bench HTML report', () => {
  let dir: string;
  let chrome: LaunchedBrowser;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'nfnet-bench-report-'));
    chrome = await launchChromium();
  });
  afterAll(async () => {
    await chrome?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('renders the table and the charts in Chromium', async () => {
    // A --compare section too: the fixture against a copy with one row made 2× slower.
    const slower = structuredClone(fixture);
    const first = slower.rows.find((r) => r.ours && 'medianMs' in r.ours)!;
    const o = first.ours as { medianMs: number; minMs: number; timesMs: number[] };
    o.timesMs = o.timesMs.map((t) => t / 2);
    o.medianMs /= 2;
    o.minMs /= 2;
    const cmp = compareReports(slower, fixture);
    expect(cmp.find((r) => r.name === first.name && r.side === 'ours')?.verdict).toBe('regression');
    // The other peers' sides are compared too (the fixture against itself: all noise).
    expect(compareReports(fixture, fixture).find((r) => r.name === 'small/net/b32x28/infer' && r.side === 'jax')?.verdict).toBe('noise');
    const html = await renderHtmlReport({ ...fixture, compare: { against: 'old.json', rule: 'test rule', rows: cmp } });
    expect(html).not.toMatch(/<script/i); // charts are inline SVG: no JS needed
    const file = path.join(dir, 'report.html');
    writeFileSync(file, html);

    const page = await chrome.browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const dom = await page.evaluate(() => ({
      rows: document.querySelectorAll('table#results tbody tr').length,
      text: document.querySelector('table#results')?.textContent ?? '',
      cpu: document.querySelector('table#cpu')?.textContent ?? '',
      head: [...document.querySelectorAll('table#results thead th')].map((th) => th.textContent ?? ''),
      peerRow: [...document.querySelectorAll('table#results tbody tr')].find((tr) => tr.textContent?.includes('small/net/b32x28/infer'))?.textContent ?? '',
      chartNames: [...document.querySelectorAll('figure.chart')].map((f) => f.getAttribute('data-chart')),
      charts: [...document.querySelectorAll('figure.chart svg')].map((s) => ({ w: s.getBoundingClientRect().width, marks: s.querySelectorAll('path, rect').length })),
      body: document.body.innerText,
    }));
    expect(dom.rows).toBe(fixture.rows.length);
    for (const r of fixture.rows) expect(dom.text).toContain(r.name);
    expect(dom.text).toMatch(/\d+\.\d\d×/); // the ratio column
    expect(dom.charts.length).toBeGreaterThanOrEqual(4); // ratio, peer ratios, roofline, step breakdown
    // A column per peer and a ratio per peer; the row's ratios as the fixture has them.
    for (const h of ['ours/TF.js', 'jax-js ms med/min', 'ours/jax-js', 'ORT ms med/min', 'ours/ORT']) expect(dom.head).toContain(h);
    const infer = fixture.rows.find((r) => r.name === 'small/net/b32x28/infer')!;
    expect(dom.peerRow).toContain(`${infer.engineRatios!.jax!.toFixed(2)}×`);
    expect(dom.peerRow).toContain(`${infer.engineRatios!.ort!.toFixed(2)}×`);
    expect(dom.chartNames).toContain('peer ratios');
    expect(dom.body).toContain('@jax-js/jax 0.1.25');
    expect(dom.body).toContain('Result checks before timing');
    expect(dom.body).toMatch(/value\+grad \(jax-js\): not timed: result differs from ours/); // a mismatch is an error, not a time
    for (const c of dom.charts) {
      expect(c.w).toBeGreaterThan(200);
      expect(c.marks).toBeGreaterThan(5);
    }
    expect(dom.cpu).toContain('gelu/8x32x32x128/fwd'); // the TF.js cpu reference points
    expect(dom.body).toContain('Whole training steps');
    expect(dom.body).toContain('regression');

    const shot = (await page.screenshot({ fullPage: true })) as Uint8Array;
    await page.close();
    if (process.env.BENCH_REPORT_SCREENSHOT) writeFileSync(process.env.BENCH_REPORT_SCREENSHOT, shot);
    const png = PNG.sync.read(Buffer.from(shot));
    let ink = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! < 235 || png.data[i + 1]! < 235 || png.data[i + 2]! < 235) ink++;
    const fraction = ink / (png.width * png.height);
    expect(png.height).toBeGreaterThan(900); // the charts below the table make the page long
    expect(fraction).toBeGreaterThan(0.03);
    expect(fraction).toBeLessThan(0.9);
  });
});
