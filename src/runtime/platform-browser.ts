/** Browser stand-in for platform-node.ts: the browser bundle aliases this file in its place. */
import { DeviceError } from './errors.js';
import type { NodeAdapter } from './platform-node.js';

export const SWIFTSHADER_ICD = '';

export async function requestNodeAdapter(): Promise<NodeAdapter> {
  throw new DeviceError('WebGPU is not available in this browser (navigator.gpu is missing); try a recent Chrome or Edge');
}

export function releaseNodeGpu(): void {}

/** Browsers deliver WebGPU callbacks from their own event loop: nothing to adjust. */
export function gpuWait<T>(promise: Promise<T>): Promise<T> {
  return promise;
}
