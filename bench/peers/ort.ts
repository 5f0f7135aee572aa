/**
 * onnxruntime-web's WebGPU execution provider as a peer (inference only), on the peers'
 * Dawn instance (dawn-global.ts), in this process, on the same adapter as ours. Models are
 * ONNX bytes written by bench/peers/onnx.ts. Two things make it run under Dawn for Node:
 *  - its WebAssembly heap is a SharedArrayBuffer, and it hands views of it to
 *    `queue.writeBuffer`, which crashes Dawn for Node 0.6.2 (exit 139): a shim copies such
 *    views into a plain ArrayBuffer first;
 *  - Dawn for Node resolves promises (pipeline creation, mapAsync) by polling from the
 *    event loop, and does not keep the loop alive while ORT's WebAssembly waits on one:
 *    with nothing else scheduled Node sits idle and the promise never settles. A timer is
 *    kept ref'd while ORT works.
 * Its first session makes V8 tier up ORT's WebAssembly in the background: both cores for
 * ~40 s here, which halved every engine's speed (ours too) in the rows timed meanwhile.
 * `initOrt` opens a one-op session and waits for the process to go idle before any row
 * runs, and reports how long it waited.
 * Inputs live on ORT's GPU device (uploaded once) and outputs stay there
 * (`preferredOutputLocation: 'gpu-buffer'`); a repetition is `session.run` then the
 * device's `queue.onSubmittedWorkDone()`, like TF.js's sync.
 */
import type * as Ort from 'onnxruntime-web';
import type { Runner } from '../registry.js';
import { packageVersion, peerNavigatorGpu } from './dawn-global.js';
import { onnxModel } from './onnx.js';

export interface OrtPeer {
  ort: typeof Ort;
  version: string;
  /** A WebGPU session over the model's bytes. */
  session(model: Uint8Array): Promise<Ort.InferenceSession>;
  /** Keep the event loop awake (Dawn polls from it) while `work` runs. */
  awake<T>(work: () => Promise<T>): Promise<T>;
  /** Seconds spent waiting for V8's background compilation of ORT's WebAssembly after its first session. */
  compileWaitS: number;
}

/** Below this share of one core over a window, the process counts as idle. */
const IDLE_SHARE = 0.1;
const IDLE_WINDOW_MS = 1000;
const IDLE_MAX_WAIT_MS = 180_000;

/**
 * Wait until this process's CPU use over a window falls below IDLE_SHARE of one core (V8's
 * background tier-up done), at most IDLE_MAX_WAIT_MS; returns the seconds waited.
 */
async function waitForIdleCpu(): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < IDLE_MAX_WAIT_MS) {
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
    const used = process.cpuUsage(before);
    if ((used.user + used.system) / 1000 < IDLE_SHARE * IDLE_WINDOW_MS) break;
  }
  return (performance.now() - t0) / 1000;
}

let shimmed = false;

/** Copy SharedArrayBuffer-backed data before Dawn's writeBuffer sees it. */
function shimWriteBuffer(): void {
  if (shimmed) return;
  shimmed = true;
  const proto = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
  const write = proto.writeBuffer;
  proto.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, offset: number, data: BufferSource | SharedArrayBuffer, dataOffset?: number, size?: number) {
    let plain = data as BufferSource;
    if (data instanceof SharedArrayBuffer) plain = new Uint8Array(data).slice().buffer;
    else if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      // Keep the element type: dataOffset and size count elements of a typed array.
      const Ctor = data.constructor as new (n: number) => ArrayBufferView & { set(a: ArrayLike<number>): void };
      const copy = new Ctor((data as unknown as ArrayLike<number>).length);
      copy.set(data as unknown as ArrayLike<number>);
      plain = copy as unknown as BufferSource;
    }
    return dataOffset === undefined ? write.call(this, buffer, offset, plain) : write.call(this, buffer, offset, plain, dataOffset, size);
  } as typeof proto.writeBuffer;
}

let waiters = 0;
let timer: ReturnType<typeof setInterval> | null = null;

async function awake<T>(work: () => Promise<T>): Promise<T> {
  if (waiters++ === 0) timer = setInterval(() => {}, 1);
  try {
    return await work();
  } finally {
    if (--waiters === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  }
}

export async function initOrt(): Promise<OrtPeer> {
  await peerNavigatorGpu();
  shimWriteBuffer();
  const ort = (await import('onnxruntime-web/webgpu')) as unknown as typeof Ort;
  ort.env.wasm.numThreads = 1; // the CPU side only schedules; keep its threads off SwiftShader's cores
  ort.env.logLevel = 'error';
  const session = (model: Uint8Array) =>
    awake(() => ort.InferenceSession.create(model, { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer', graphOptimizationLevel: 'all' }));
  const warmup = await session(onnxModel({
    nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'], attrs: {} }],
    initializers: {},
    inputs: [{ name: 'x', dims: [4] }],
    outputs: [{ name: 'y', dims: [4] }],
  }));
  await warmup.release();
  const compileWaitS = await waitForIdleCpu();
  return { ort, version: await packageVersion('onnxruntime-web'), awake, session, compileWaitS };
}

/** ORT's GPUDevice (known once a WebGPU session exists). */
async function ortDevice(peer: OrtPeer): Promise<GPUDevice> {
  const d = await (peer.ort.env.webgpu as unknown as { device?: Promise<GPUDevice> | GPUDevice }).device;
  if (!d) throw new Error('onnxruntime-web: no WebGPU device after session creation');
  return d;
}

/**
 * A Runner over one session: inputs uploaded once to ORT's device; `result` reads the
 * outputs back (in `outputs` order, flattened, each through `toCanonical`).
 */
export async function ortRunner(
  peer: OrtPeer,
  model: Uint8Array,
  inputs: Record<string, { data: Float32Array; dims: readonly number[] }>,
  outputs: readonly string[],
  toCanonical: ((data: Float32Array, i: number) => Float32Array) | null = null,
): Promise<Runner> {
  const session = await peer.session(model);
  const device = await ortDevice(peer);
  const buffers: GPUBuffer[] = [];
  const feeds: Record<string, Ort.Tensor> = {};
  for (const [name, x] of Object.entries(inputs)) {
    const buf = device.createBuffer({ size: Math.ceil(x.data.byteLength / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buf, 0, x.data.buffer as ArrayBuffer, x.data.byteOffset, x.data.byteLength);
    buffers.push(buf);
    feeds[name] = peer.ort.Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims: [...x.dims] });
  }
  let pending: Promise<Ort.InferenceSession.OnnxValueMapType>[] = [];
  const release = (out: Ort.InferenceSession.OnnxValueMapType) => {
    for (const t of Object.values(out)) t.dispose();
  };
  return {
    run() {
      pending.push(peer.awake(() => session.run(feeds)));
    },
    async sync() {
      const runs = pending;
      pending = [];
      const outs = await Promise.all(runs);
      await peer.awake(() => device.queue.onSubmittedWorkDone());
      for (const o of outs) release(o);
    },
    async result() {
      const out = await peer.awake(() => session.run(feeds));
      const parts: Float32Array[] = [];
      for (const [i, name] of outputs.entries()) {
        const t = out[name];
        if (!t) throw new Error(`onnxruntime-web: no output '${name}'`);
        const d = Float32Array.from((await peer.awake(() => t.getData())) as Float32Array);
        parts.push(toCanonical ? toCanonical(d, i) : d);
      }
      release(out);
      return parts.length === 1 ? parts[0]! : Float32Array.from(parts.flatMap((p) => [...p]));
    },
    async dispose() {
      await peer.awake(() => session.release());
      for (const b of buffers) b.destroy();
    },
  };
}
