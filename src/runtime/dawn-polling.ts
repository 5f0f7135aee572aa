/**
 * Waiting on Dawn for Node without a busy loop.
 *
 * Dawn for Node resolves its promises (mapAsync, onSubmittedWorkDone, popErrorScope) by
 * polling: while one is pending it re-queues a native ProcessEvents callback through the
 * global `setImmediate`, a loop that holds a whole CPU core for as long as the GPU works.
 * On SwiftShader the kernels run on the same cores, so the spin took a core from them: a
 * nano training step (batch 32) took 610–900 ms with it and 370–440 ms without, on a
 * 2-core machine. So Dawn's own (native) callbacks spin only for the first `spinMs` of a
 * wait, which keeps short round trips short (a tiny readback stays at ~0.5 ms), and then
 * poll once per timer tick (~1 ms). JavaScript callers of setImmediate pass straight
 * through. Browsers deliver WebGPU callbacks from their own event loop; this is Node only.
 */

/** How long a wait may poll flat out before it drops to one poll per timer tick. */
export const SPIN_MS = Number(process.env.NFNET_DAWN_SPIN_MS ?? 2);
/** A pause this long between Dawn's polls means a new wait began (timer polls are ~1 ms apart). */
export const NEW_WAIT_GAP_MS = 2;

type Callback = (...args: unknown[]) => void;

export interface PollScheduler {
  /** The replacement for the global setImmediate. */
  setImmediate(callback: Callback, ...args: unknown[]): unknown;
  /** A wait on Dawn starts now: its first spinMs poll without a pause. */
  waitStarted(): void;
}

/** The scheduling rule, on injected clocks and queues so that tests can drive it. */
export function pollScheduler(deps: {
  immediate: (callback: Callback, ...args: unknown[]) => unknown;
  timer: (callback: Callback, ...args: unknown[]) => unknown;
  now: () => number;
  spinMs?: number;
}): PollScheduler {
  const spinMs = deps.spinMs ?? SPIN_MS;
  let waitStart = -Infinity;
  let lastPoll = -Infinity;
  return {
    setImmediate(callback, ...args) {
      if (!isNative(callback)) return deps.immediate(callback, ...args);
      const now = deps.now();
      if (now - lastPoll > NEW_WAIT_GAP_MS) waitStart = Math.max(waitStart, now);
      lastPoll = now;
      return now - waitStart < spinMs ? deps.immediate(callback, ...args) : deps.timer(callback, ...args);
    },
    waitStarted() {
      waitStart = deps.now();
    },
  };
}

const installed = Symbol.for('nfnet-webgpu.quietDawnPolling');
let scheduler: PollScheduler | null = null;

/** Replace the global setImmediate once per process (idempotent). */
export function installQuietDawnPolling(): void {
  const g = globalThis as unknown as { setImmediate: typeof setImmediate; [installed]?: PollScheduler };
  if (g[installed]) {
    scheduler = g[installed];
    return;
  }
  const immediate = g.setImmediate;
  scheduler = pollScheduler({
    immediate: (cb, ...args) => immediate(cb, ...args),
    timer: (cb, ...args) => setTimeout(cb, 0, ...args),
    now: () => performance.now(),
  });
  const s = scheduler;
  g.setImmediate = Object.assign((cb: Callback, ...args: unknown[]) => s.setImmediate(cb, ...args), {
    __promisify__: immediate.__promisify__,
  }) as unknown as typeof setImmediate;
  g[installed] = scheduler;
}

/** Wait for one of Dawn's promises; the first SPIN_MS of the wait poll without a pause. */
export function gpuWait<T>(promise: Promise<T>): Promise<T> {
  scheduler?.waitStarted();
  return promise;
}

/** Dawn's poll is an anonymous native function (bound JS functions are native too, but named "bound …"). */
const nativeSource = /\{\s*\[native code\]\s*\}\s*$/;
function isNative(f: unknown): boolean {
  return typeof f === 'function' && f.name === '' && nativeSource.test(Function.prototype.toString.call(f));
}
