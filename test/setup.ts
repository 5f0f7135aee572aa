import { afterAll, beforeAll } from 'vitest';
import { init, type Gpu } from '../src/index.js';

/** One device per test file. */
export function useGpu(): { gpu: () => Gpu } {
  let gpu: Gpu | null = null;
  beforeAll(async () => {
    gpu = await init({ verbose: false });
  });
  afterAll(async () => {
    await gpu?.dispose();
  });
  return { gpu: () => gpu! };
}
