/**
 * The bench case registry of `npm run bench` (bench/cases/), imported as is. The cases take
 * the library from src/, which the demo bundle shares with the page: one copy, one backend.
 * If the cases ever stop being browser-safe, demo/server.ts swaps this module for a stub
 * whose `benchUnavailable` says why (the page shows it instead of a table).
 */
import '../bench/cases/index.js';

export { registeredCases, type BenchCase, type Runner, type BenchContext } from '../bench/registry.js';
export { measure, type Measurement } from '../bench/measure.js';
export const benchUnavailable: string | null = null;
