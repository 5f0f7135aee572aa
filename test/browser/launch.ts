/**
 * Launch Debian's Chromium headless through puppeteer-core with the flags from DESIGN.md
 * (SwiftShader WebGPU), in a fresh profile directory that `close()` removes.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Exactly the flags DESIGN.md lists (WebGPU on SwiftShader, no network chatter). */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
] as const;

export interface LaunchOptions {
  /** Drop `--enable-unsafe-webgpu` (default false). */
  withoutWebGpu?: boolean;
  /** Launch timeout in ms (SwiftShader start-up can be slow on a loaded machine). */
  timeout?: number;
}

export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(options: LaunchOptions = {}): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the browser tests need Debian's chromium package ` +
        `(apt-get install chromium; scripts/ensure-system.sh does this) or CHROMIUM_PATH pointing at a Chromium binary`,
    );
  }
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'nfnet-chromium-'));
  const args = CHROMIUM_FLAGS.filter((f) => !(options.withoutWebGpu && f === '--enable-unsafe-webgpu'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...args, `--user-data-dir=${userDataDir}`],
      timeout: options.timeout ?? 60_000,
      protocolTimeout: 120_000,
    });
  } catch (e) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw new Error(`could not launch ${CHROMIUM}: ${(e as Error).message}`);
  }
  let closed = false;
  return {
    browser,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await browser.close();
      } catch {
        browser.process()?.kill('SIGKILL');
      } finally {
        rmSync(userDataDir, { recursive: true, force: true });
      }
    },
  };
}
