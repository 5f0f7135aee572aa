// Waiting on Dawn for Node: its native poll callback spins only briefly, then pauses for a
// growing fraction of the wait (short sleeps, then the timer queue); JavaScript setImmediate callers are untouched (src/runtime/dawn-polling.ts).
import { describe, expect, it } from 'vitest';
import { pollScheduler, pauseBeforePoll, NEW_WAIT_GAP_MS, TIMER_TICK_MS } from '../src/runtime/dawn-polling.js';
import { ops, tensor } from '../src/index.js';
import { useGpu } from './setup.js';

useGpu();

/** A native anonymous function, as Dawn's poll callback is (Function.prototype itself). */
const nativePoll = Object.getPrototypeOf(() => {}) as () => void;

function harness(spinMs: number) {
  let clock = 0;
  const routed: string[] = [];
  const s = pollScheduler({
    immediate: () => routed.push('immediate'),
    nap: (ms: number) => routed.push(`nap ${ms}`),
    timer: () => routed.push('timer'),
    now: () => clock,
    spinMs,
  });
  return { s, routed, advance: (ms: number) => (clock += ms) };
}

describe('quiet Dawn polling', () => {
  it('a wait polls flat out for spinMs, then pauses 1/8 of the time waited: sleeps below a timer tick, the timer queue above', () => {
    const { s, routed, advance } = harness(2);
    s.waitStarted();
    for (const step of [1.5, 1, 1.5, 1, 1.5, 1.5, 1]) {
      s.setImmediate(nativePoll);
      advance(step);
    }
    s.setImmediate(nativePoll); // polls at 0, 1.5, 2.5, 4, 5, 6.5, 8 and 9 ms into the wait
    expect(routed).toEqual(['immediate', 'immediate', 'nap 0.3125', 'nap 0.5', 'nap 0.625', 'nap 0.8125', 'timer', 'timer']);
  });

  it('pauses grow with the wait, from a floor to one timer tick', () => {
    expect(pauseBeforePoll(0.1, 0.5)).toBe(0);
    expect(pauseBeforePoll(0.5, 0.5)).toBe(0.0625);
    expect(pauseBeforePoll(0.1, 0)).toBe(0.05);
    expect(pauseBeforePoll(4, 0.5)).toBe(0.5);
    expect(pauseBeforePoll(1000, 0.5)).toBe(TIMER_TICK_MS);
  });

  it('a new wait (explicit, or after a pause between polls) spins again', () => {
    const { s, routed, advance } = harness(2);
    for (let i = 0; i < 3; i++) {
      s.setImmediate(nativePoll); // one chain of polls 1.5 ms apart: 0, 1.5 and 3 ms in
      advance(1.5);
    }
    advance(NEW_WAIT_GAP_MS + 5);
    s.setImmediate(nativePoll); // after a pause: a new wait
    advance(1.5);
    s.setImmediate(nativePoll);
    advance(1.5);
    s.waitStarted();
    s.setImmediate(nativePoll);
    expect(routed).toEqual(['immediate', 'immediate', 'nap 0.375', 'immediate', 'immediate', 'immediate']);
  });

  it('JavaScript callbacks, bound ones included, always go straight to setImmediate', () => {
    const { s, routed, advance } = harness(0);
    advance(100);
    s.setImmediate(() => {});
    s.setImmediate(function named() {}.bind(null));
    s.setImmediate(nativePoll);
    expect(routed).toEqual(['immediate', 'immediate', 'nap 0.05']);
  });

  it('after init the global setImmediate still runs JS callbacks before timers, and readbacks resolve', async () => {
    const order: string[] = [];
    await new Promise<void>((done) => {
      setTimeout(() => {
        order.push('timeout');
        done();
      }, 0);
      setImmediate((tag: string) => order.push(tag), 'immediate');
    });
    expect(order).toEqual(['immediate', 'timeout']);
    const y = ops.mul(tensor([1, 2, 3], [3]), 2);
    expect(Array.from(await y.data())).toEqual([2, 4, 6]);
    y.dispose();
  });
});
