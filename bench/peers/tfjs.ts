/**
 * TF.js WebGPU as a peer, in this same Node process and on the same adapter as ours.
 *
 * Our `init()` runs first: it decides the Vulkan driver (on a machine without a GPU it
 * sets VK_ICD_FILENAMES to the software driver: SwiftShader, or lavapipe when asked for)
 * and installs Dawn's GPU* constants as globals.
 * The peers' Dawn instance (dawn-global.ts, shared with jax-js and onnxruntime-web) becomes
 * `navigator.gpu`, and only then is the TF.js WebGPU backend imported, which reads
 * `navigator.gpu` when it initialises.
 */
import type * as TF from '@tensorflow/tfjs';
import { peerNavigatorGpu } from './dawn-global.js';

export interface TfjsPeer {
  tf: typeof TF;
  /** Submit TF.js's pending command buffers and wait for the device. */
  sync(): Promise<void>;
  adapter: Record<string, string>;
  versions: Record<string, string>;
}


export async function initTfjs(expectSoftware: boolean): Promise<TfjsPeer> {
  if (expectSoftware && !process.env.VK_ICD_FILENAMES) {
    throw new Error('TF.js peer: our init() chose a software adapter but left VK_ICD_FILENAMES unset, so the peers could open another driver');
  }
  await peerNavigatorGpu();

  // Silence TF.js's "you are running in Node without tfjs-node" banner.
  const warn = console.warn;
  const log = console.log;
  console.warn = () => {};
  console.log = () => {};
  let tf: typeof TF;
  try {
    tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-webgpu');
    tf.env().set('WEBGPU_CPU_FORWARD', false); // keep every op on the GPU, like ours
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
    await tf.ready();
  } finally {
    console.warn = warn;
    console.log = log;
  }
  const backend = tf.backend() as unknown as {
    submitQueue(): void;
    endComputePassEncoder(): void;
    commandEncoder: GPUCommandEncoder | null;
    queue: GPUQueue;
    adapterInfo?: { vendor?: string; architecture?: string; description?: string };
  };
  const info = backend.adapterInfo ?? {};
  const { createRequire } = await import('node:module');
  const req = createRequire(import.meta.url);
  const version = (p: string) => {
    try {
      return (req(`${p}/package.json`) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  return {
    tf,
    async sync() {
      // What TF.js itself does before a readback: close the open pass, submit the encoder.
      if (backend.commandEncoder) {
        backend.endComputePassEncoder();
        backend.submitQueue();
      }
      await backend.queue.onSubmittedWorkDone();
    },
    adapter: { vendor: String(info.vendor ?? ''), architecture: String(info.architecture ?? ''), description: String(info.description ?? '') },
    versions: { '@tensorflow/tfjs': version('@tensorflow/tfjs'), '@tensorflow/tfjs-backend-webgpu': version('@tensorflow/tfjs-backend-webgpu') },
  };
}

/** A Runner over TF.js: `make` returns a tensor per repetition; it is disposed after the sync. */
export function tfjsRunner(peer: TfjsPeer, make: () => TF.Tensor, dispose: () => void) {
  let pending: TF.Tensor[] = [];
  return {
    run() {
      pending.push(make());
    },
    async sync() {
      await peer.sync();
      for (const t of pending) t.dispose();
      pending = [];
    },
    dispose,
  };
}
