// Waiting on Dawn for Node: its native poll callback spins only briefly, then goes to the
// timer queue; JavaScript setImmediate callers are untouched (src/runtime/dawn-polling.ts).
import { describe, expect, it } from 'vitest';
import { pollScheduler, NEW_WAIT_GAP_MS } from '../src/runtime/dawn-polling.js';
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
    timer: () => routed.push('timer'),
    now: () => clock,
    spinMs,
  });
  return { s, routed, advance: (ms: number) => (clock += ms) };
}

describe('quiet Dawn polling', () => {
  it('a wait polls flat out for spinMs, then once per timer tick', () => {
    const { s, routed, advance } = harness(2);
    s.waitStarted();
    s.setImmediate(nativePoll);
    advance(1.5);
    s.setImmediate(nativePoll);
    advance(1);
    s.setImmediate(nativePoll);
    advance(1);
    s.setImmediate(nativePoll);
    expect(routed).toEqual(['immediate', 'immediate', 'timer', 'timer']);
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
    expect(routed).toEqual(['immediate', 'immediate', 'timer', 'immediate', 'immediate', 'immediate']);
  });

  it('JavaScript callbacks, bound ones included, always go straight to setImmediate', () => {
    const { s, routed, advance } = harness(0);
    advance(100);
    s.setImmediate(() => {});
    s.setImmediate(function named() {}.bind(null));
    s.setImmediate(nativePoll);
    expect(routed).toEqual(['immediate', 'immediate', 'timer']);
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
