/**
 * The test page: the library bundle and the shared-cases bundle, served from 127.0.0.1,
 * loaded with dynamic imports so a load failure is reported instead of hanging.
 */
import type { Page } from 'puppeteer-core';
import { buildCasesBundle, buildLibraryBundle, type BuiltBundle } from './bundle.js';
import { MIME, serveFiles, type StaticServer } from './server.js';

export const PAGE_HTML = `<!doctype html>
<meta charset="utf-8">
<title>nfnet-webgpu browser tests</title>
<script type="module">
  try {
    const [lib, cases] = await Promise.all([import('./nfnet-webgpu.js'), import('./op-cases.js')]);
    Object.assign(window, { nfnet: lib, nfnetCases: cases });
    window.__status = 'ready';
  } catch (e) {
    window.__status = 'error: ' + ((e && e.stack) || e);
  }
</script>
`;

export interface TestSite {
  server: StaticServer;
  library: BuiltBundle;
  cases: BuiltBundle;
  url: string;
}

export async function startTestSite(outDir: string): Promise<TestSite> {
  const [library, cases] = await Promise.all([buildLibraryBundle(outDir), buildCasesBundle(outDir)]);
  const server = await serveFiles({
    '/index.html': { body: PAGE_HTML, type: MIME.html },
    '/nfnet-webgpu.js': { body: library.code, type: MIME.js },
    '/op-cases.js': { body: cases.code, type: MIME.js },
    '/favicon.ico': { body: new Uint8Array(0), type: 'image/x-icon' },
  });
  return { server, library, cases, url: `${server.origin}/index.html` };
}

/** Open the page and wait until both bundles are imported; collects page errors for messages. */
export async function openTestPage(page: Page, url: string, log: string[]): Promise<void> {
  page.on('pageerror', (e) => log.push(`pageerror: ${(e as Error).message ?? e}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') log.push(`console.${m.type()}: ${m.text()}`);
  });
  await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  await page.waitForFunction(() => (window as unknown as { __status?: string }).__status !== undefined, { timeout: 60_000 });
  const status = await page.evaluate(() => (window as unknown as { __status: string }).__status);
  if (status !== 'ready') throw new Error(`test page failed to load its bundles: ${status}\n${log.join('\n')}`);
}
