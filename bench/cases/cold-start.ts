/**
 * Cold starts: from loading the engine and init() to the first result on the host, each
 * repetition a fresh process (bench/cold/child.ts), for the first training step and the
 * first inference: the small net of bench/peers/small-net.ts against jax-js's (its first
 * step is a jit trace + compile), nano at 28 px and F0 at 64 px (ours only). The child
 * times itself, so the rows leave out process start-up and the bundling of the script.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { register, type BenchCase, type Runner } from '../registry.js';

/** The repository root: `npm run bench` runs there (the bench is bundled into .tmp/, so no path relative to this file). */
const ROOT = process.cwd();

/** One cold start in a child process: its self-measured milliseconds. */
function coldStart(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'run-ts.mjs'), path.join('bench', 'cold', 'child.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      // The child's result is its last JSON line: a driver may print after it (lavapipe dumps
      // a shader's SPIR-V to stdout when the process exits during a background build).
      const line = out.trim().split('\n').filter((l) => l.startsWith('{"ms"')).pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve((JSON.parse(line) as { ms: number }).ms);
      } catch (e) {
        reject(new Error(`cold start ${args.join(' ')} failed (${(e as Error).message}): ${err.trim().split('\n').slice(-3).join(' | ')}`));
      }
    });
  });
}

function coldRunner(args: string[]): Runner {
  let last = Number.NaN;
  return {
    async run() {
      last = await coldStart(args);
    },
    async sync() {},
    dispose() {},
    elapsedMs: () => last,
  };
}

function coldCase(net: 'small' | 'nano' | 'F0', what: 'step' | 'infer', batch: number, res: number, reps: number, withJax: boolean): BenchCase {
  const args = [net, what, String(batch), String(res)];
  return {
    name: `cold/${net === 'small' ? 'small-net' : net}/b${batch}x${res}/${what === 'step' ? 'first-step' : 'first-infer'}`,
    group: 'cold-start',
    flops: 0,
    bytes: 0,
    reps,
    fullReps: reps + 2,
    coldStart: true,
    heavy: true,
    note: `init() → first ${what === 'step' ? 'training step' : 'inference'} read back${what === 'infer' && net === 'small' ? " (the forward's pipelines built at once by warmup())" : ''}, a fresh process each repetition${withJax ? `; jax-js: import + init('webgpu') → ${what === 'step' ? 'jit(valueAndGrad + update) step' : 'the forward'} read back` : ''}`,
    ours: async () => coldRunner(['ours', ...args]),
    ...(withJax ? { engines: { jax: async () => coldRunner(['jax', ...args]) }, targets: [{ kind: 'engineRatio' as const, engine: 'jax' as const, min: 1 }] } : {}),
  };
}

register(
  coldCase('small', 'step', 32, 28, 3, true),
  coldCase('small', 'infer', 32, 28, 3, true),
  coldCase('nano', 'step', 8, 28, 3, false),
  coldCase('nano', 'infer', 8, 28, 3, false),
  coldCase('F0', 'infer', 2, 64, 1, false),
  coldCase('F0', 'step', 2, 64, 1, false),
);
