/**
 * The demo site: builds the page bundle (demo/main.ts with the library and the bench case
 * registry inlined, WGSL embedded — the project's own `browserOptions`) in memory and serves
 * it, with index.html, style.css and the Fashion-MNIST files of Debian's
 * `dataset-fashion-mnist` package, from http://127.0.0.1 (a secure context: WebGPU works).
 *
 * `npm run demo` (scripts/demo.mjs) and test/demo.test.ts both use `startDemoServer()`.
 */
import * as esbuild from 'esbuild';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The repository root: the nearest ancestor holding scripts/esbuild-config.mjs (robust to being bundled into .tmp/). */
export const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'scripts/esbuild-config.mjs'))) {
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    dir = up;
  }
  return dir;
})();

export const DEFAULT_DATA_DIR = '/usr/share/datasets/fashion-mnist';
export const DATA_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'] as const;

export interface DemoBundle {
  js: string;
  map: string;
  /** Minified bytes of demo.js, and gzipped. */
  bytes: number;
  gzipBytes: number;
  /** Bytes of demo.js from the library (src/, shaders/, wgsl_reflect), bench/, vega + vega-lite (and their d3 parts), the demo itself. */
  parts: Record<'library' | 'bench' | 'vega' | 'demo' | 'other', number>;
  /** Null when the bench case registry built for the browser; else why it did not (the page says so). */
  benchError: string | null;
  buildMs: number;
}

interface EsbuildConfig {
  browserOptions(entry: string, outfile: string): esbuild.BuildOptions;
}

async function config(): Promise<EsbuildConfig> {
  // A runtime path keeps tsc from looking for declarations of the .mjs module.
  const url = pathToFileURL(path.join(ROOT, 'scripts/esbuild-config.mjs')).href;
  return (await import(/* @vite-ignore */ url)) as EsbuildConfig;
}

/** The bench's peers (TF.js, jax-js, ORT) are Node-only (Dawn, node:module); the page never runs peer sides, so they get stubs. */
const PEER_STUB_EXPORTS = ['tfjsRunner', 'initTfjs', 'initJax', 'jaxArray', 'jaxRunner', 'initOrt', 'ortRunner'];
const noTfjsPeer: esbuild.Plugin = {
  name: 'demo-no-tfjs-peer',
  setup(build) {
    build.onResolve({ filter: /peers\/(tfjs|jax|ort)\.js$/ }, () => ({ path: 'tfjs-peer-stub', namespace: 'demo-stub' }));
    build.onLoad({ filter: /^tfjs-peer-stub$/, namespace: 'demo-stub' }, () => ({
      contents: PEER_STUB_EXPORTS.map((name) => `export function ${name}() { throw new Error("the bench's peers run in \`npm run bench\` (Node) only"); }\n`).join(''),
      loader: 'js',
    }));
  },
};

/** Replace demo/bench-cases.ts with a module that reports why the bench cases could not be bundled. */
function noBench(reason: string): esbuild.Plugin {
  return {
    name: 'demo-no-bench',
    setup(build) {
      build.onResolve({ filter: /bench-cases\.js$/ }, () => ({ path: 'bench-cases-stub', namespace: 'demo-stub' }));
      build.onLoad({ filter: /^bench-cases-stub$/, namespace: 'demo-stub' }, () => ({
        contents: `export const benchUnavailable = ${JSON.stringify(reason)}; export const registeredCases = () => []; export async function measure() { throw new Error(benchUnavailable); }`,
        loader: 'js',
      }));
    },
  };
}

function classify(input: string): keyof DemoBundle['parts'] {
  if (input.startsWith('src/') || input.startsWith('shaders/') || input.includes('node_modules/wgsl_reflect')) return 'library';
  if (input.startsWith('bench/') || input.includes('tfjs-peer-stub')) return 'bench';
  if (/node_modules\/(vega|d3-|topojson|delaunator|robust-predicates|json-stringify-pretty-compact|fast-json-stable-stringify|clone)/.test(input)) return 'vega';
  if (input.startsWith('demo/')) return 'demo';
  return 'other';
}

/** Build demo.js in memory with the project's browser esbuild settings. */
export async function buildDemo(): Promise<DemoBundle> {
  const t0 = performance.now();
  const { browserOptions } = await config();
  const entry = path.join(ROOT, 'demo/main.ts');
  const outfile = path.join(ROOT, '.tmp/demo/demo.js'); // not written (write: false)
  const base = browserOptions(entry, outfile);
  const build = (extra: esbuild.Plugin[]) =>
    esbuild.build({
      ...base,
      absWorkingDir: ROOT,
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [...(base.plugins ?? []), noTfjsPeer, ...extra],
    });
  let benchError: string | null = null;
  let result: esbuild.BuildResult & { metafile: esbuild.Metafile; outputFiles: esbuild.OutputFile[] };
  try {
    result = (await build([])) as typeof result;
  } catch (e) {
    // The bench cases (bench/cases/) are someone else's moving code: if they stop being
    // browser-safe, the demo still builds, and its bench panel says why.
    const errs = (e as { errors?: esbuild.Message[] }).errors ?? [];
    const benchErrs = errs.filter((m) => m.location?.file.startsWith('bench') || /bench/.test(m.text));
    if (!errs.length || benchErrs.length !== errs.length) throw e;
    benchError = benchErrs.map((m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`).join('\n');
    result = (await build([noBench(`the bench cases could not be bundled for the browser:\n${benchError}`)])) as typeof result;
  }
  const jsFile = result.outputFiles.find((f) => f.path.endsWith('.js'))!;
  const mapFile = result.outputFiles.find((f) => f.path.endsWith('.js.map'));
  const parts: DemoBundle['parts'] = { library: 0, bench: 0, vega: 0, demo: 0, other: 0 };
  for (const out of Object.values(result.metafile.outputs)) {
    for (const [input, info] of Object.entries(out.inputs)) parts[classify(input)] += info.bytesInOutput;
  }
  const js = jsFile.text;
  return {
    js,
    map: mapFile?.text ?? '',
    bytes: Buffer.byteLength(js),
    gzipBytes: gzipSync(js).length,
    parts,
    benchError,
    buildMs: performance.now() - t0,
  };
}

export interface DemoServerOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** When `port` is taken, fall back to a free port instead of failing (default true). */
  fallbackToFreePort?: boolean;
  /** Where the Fashion-MNIST .gz files are (default /usr/share/datasets/fashion-mnist). */
  dataDir?: string;
  /** Reuse an already built bundle (tests that start two servers). */
  bundle?: DemoBundle;
}

export interface DemoServer {
  /** e.g. http://127.0.0.1:8080 (no trailing slash). */
  origin: string;
  /** The page: `${origin}/`. */
  url: string;
  port: number;
  bundle: DemoBundle;
  dataDir: string;
  /** Which of the four data files are missing (the page reports them too). */
  missingData: string[];
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json',
  json: 'application/json',
  gz: 'application/gzip',
};

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Build the bundle and serve the demo on 127.0.0.1. */
export async function startDemoServer(options: DemoServerOptions = {}): Promise<DemoServer> {
  const bundle = options.bundle ?? (await buildDemo());
  const dataDir = options.dataDir ?? process.env.FASHION_MNIST_DIR ?? DEFAULT_DATA_DIR;
  const html = readFileSync(path.join(ROOT, 'demo/index.html'), 'utf8');
  const css = readFileSync(path.join(ROOT, 'demo/style.css'), 'utf8');
  const files: Record<string, { body: string; type: string }> = {
    '/index.html': { body: html, type: MIME.html! },
    '/style.css': { body: css, type: MIME.css! },
    '/demo.js': { body: bundle.js, type: MIME.js! },
    '/demo.js.map': { body: bundle.map, type: MIME.map! },
    '/build.json': { body: JSON.stringify({ ...bundle, js: undefined, map: undefined, dataDir }), type: MIME.json! },
  };
  const missingData = DATA_FILES.filter((f) => !existsSync(path.join(dataDir, f)));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const p = url.pathname === '/' ? '/index.html' : url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('method not allowed');
      return;
    }
    const f = files[p];
    if (f) {
      res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : f.body);
      return;
    }
    const m = /^\/data\/([\w.-]+)$/.exec(p);
    if (m && (DATA_FILES as readonly string[]).includes(m[1]!)) {
      const file = path.join(dataDir, m[1]!);
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`${file} is missing on the server: install Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist) or set FASHION_MNIST_DIR`);
        return;
      }
      // Served as opaque bytes (no Content-Encoding): the page gunzips them itself.
      res.writeHead(200, { 'content-type': MIME.gz!, 'content-length': size, 'cache-control': 'max-age=3600' });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).on('error', () => res.destroy()).pipe(res);
      return;
    }
    if (p === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${p}`);
  });
  const wanted = options.port ?? 0;
  let port: number;
  try {
    port = await listen(server, wanted);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || wanted === 0 || options.fallbackToFreePort === false) throw e;
    console.warn(`port ${wanted} is in use; using a free port instead`);
    port = await listen(server, 0);
  }
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: `${origin}/`,
    port,
    bundle,
    dataDir,
    missingData,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

/** `npm run demo [-- --port N]`. */
export async function main(argv: string[]): Promise<void> {
  let port = 8080;
  let dataDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
    if (a.startsWith('--port')) {
      port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port needs an integer 0…65535, got ${value}`);
    } else if (a.startsWith('--data')) dataDir = value;
    else if (a === '--help' || a === '-h') {
      console.log('npm run demo [-- --port 8080] [--data /usr/share/datasets/fashion-mnist]\n  --port 0 picks a free port; a taken port falls back to a free one');
      return;
    } else throw new Error(`unknown option ${a} (try --help)`);
  }
  const s = await startDemoServer({ port, dataDir });
  const b = s.bundle;
  console.log(
    `demo.js: ${kib(b.bytes)} minified, ${kib(b.gzipBytes)} gzipped (library ${kib(b.parts.library)}, vega ${kib(b.parts.vega)}, ` +
      `bench ${kib(b.parts.bench)}, demo ${kib(b.parts.demo)}), built in ${(b.buildMs / 1000).toFixed(1)} s`,
  );
  if (b.benchError) console.warn(`kernel bench disabled in the page: ${b.benchError}`);
  if (s.missingData.length) console.warn(`Fashion-MNIST missing in ${s.dataDir}: ${s.missingData.join(', ')} (apt-get install dataset-fashion-mnist); the page will say so`);
  console.log(`\n  nfnet-webgpu demo: ${s.url}\n\n  open it in Chrome/Edge 113+ (WebGPU); Chromium on Linux needs --enable-unsafe-webgpu --enable-features=Vulkan\n  URL parameters: ?batch=64&lr=0.1&epochs=2&subset=60000&test=1000&steps=N&autostart=1 (see docs/demo.md)\n  Ctrl-C stops the server`);
  const stop = () => {
    void s.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
