import { describe, it } from 'vitest';
import { ops } from '../src/index.js';
import * as R from './ref.js';
import { checkOp, randArr } from './harness.js';
import { useGpu } from './setup.js';

useGpu();

const cases: [string, (a: any, b: any) => any, (x: number, y: number) => number][] = [
  ['add', ops.add, (x, y) => x + y],
  ['sub', ops.sub, (x, y) => x - y],
  ['mul', ops.mul, (x, y) => x * y],
];

describe('binary ops', () => {
  for (const [name, gpu, f] of cases) {
    it(`${name}: same shape, odd size`, () =>
      checkOp({ gpu, ref: (a, b) => R.zip([a, b], f), inputs: [randArr([3, 5], 1), randArr([3, 5], 2)] }));
    it(`${name}: broadcast [2,1,3] with [4,1]`, () =>
      checkOp({ gpu, ref: (a, b) => R.zip([a, b], f), inputs: [randArr([2, 1, 3], 3), randArr([4, 1], 4)] }));
  }
  it('div: broadcast row vector, away from zero', () =>
    checkOp({ gpu: ops.div, ref: (a, b) => R.zip([a, b], (x, y) => x / y), inputs: [randArr([3, 4], 5), randArr([4], 6, 0.5, 2)] }));
});
