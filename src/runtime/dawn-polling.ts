/**
 * Waiting on Dawn for Node without a busy loop.
 *
 * Dawn for Node resolves its promises (mapAsync, onSubmittedWorkDone, popErrorScope) by
 * polling: while one is pending it re-queues a native ProcessEvents callback through the
 * global `setImmediate`, a loop that holds a whole CPU core for as long as the GPU works.
 * On SwiftShader the kernels run on the same cores, so the spin took a core from them: a
 * nano training step (batch 32) took 610–900 ms with it and 370–440 ms without, on a
 * 2-core machine. So Dawn's own (native) callbacks spin only for the first `spinMs` of a
 * wait, which keeps tiny round trips short (a small readback stays at ~0.3 ms), and then
 * pause between polls for about an eighth of the time waited so far: a wait overshoots
 * the GPU's finish by at most ~1/8 of its length (short pauses sleep the thread with
 * Atomics.wait, since timers tick in whole milliseconds), and a long wait settles at one
 * poll per timer tick. JavaScript callers of setImmediate pass straight through.
 * Browsers deliver WebGPU callbacks from their own event loop; this is Node only.
 */

/** How long a wait may poll flat out before it starts pausing between polls. */
export const SPIN_MS = Number(process.env.NFNET_DAWN_SPIN_MS ?? 0.5);
/** Pause between polls = time waited × this, clamped to [MIN_NAP_MS, one timer tick]. */
export const NAP_FRACTION = 1 / 8;
export const MIN_NAP_MS = 0.05;
/** Pauses this long or longer go to the timer queue (its resolution) instead of sleeping the thread. */
export const TIMER_TICK_MS = 1;
/** A pause this long between Dawn's polls means a new wait began (polls are ≤ ~1 ms apart). */
export const NEW_WAIT_GAP_MS = 2;

type Callback = (...args: unknown[]) => void;

export interface PollScheduler {
  /** The replacement for the global setImmediate. */
  setImmediate(callback: Callback, ...args: unknown[]): unknown;
  /** A wait on Dawn starts now: its first spinMs poll without a pause. */
  waitStarted(): void;
}

/** How long to pause before the next poll of a wait that began `waitedMs` ago (0: none). */
export function pauseBeforePoll(waitedMs: number, spinMs = SPIN_MS): number {
  if (waitedMs < spinMs) return 0;
  return Math.min(TIMER_TICK_MS, Math.max(MIN_NAP_MS, waitedMs * NAP_FRACTION));
}

/** The scheduling rule, on injected clocks and queues so that tests can drive it. */
export function pollScheduler(deps: {
  immediate: (callback: Callback, ...args: unknown[]) => unknown;
  /** Run the callback after a sub-tick pause of `ms` (sleeping the thread). */
  nap: (ms: number, callback: Callback, ...args: unknown[]) => unknown;
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
      const pause = pauseBeforePoll(now - waitStart, spinMs);
      if (pause === 0) return deps.immediate(callback, ...args);
      if (pause >= TIMER_TICK_MS) return deps.timer(callback, ...args);
      return deps.nap(pause, callback, ...args);
    },
    waitStarted() {
      waitStart = deps.now();
    },
  };
}

const napCell = new Int32Array(new SharedArrayBuffer(4));
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
    // The sleep runs in the queued callback, so JavaScript already queued runs first.
    nap: (ms, cb, ...args) => immediate(() => {
      Atomics.wait(napCell, 0, 0, ms);
      cb(...args);
    }),
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
