/**
 * nfnet-webgpu: train Normalizer-Free networks on WebGPU.
 *
 *   const gpu = await init();
 *   const x = randn([2, 3], { seed: 1 });
 *   const [loss, [dx]] = await valueAndGrad((x) => ops.mean(ops.square(x)))(x);
 */
export { init, SOFTWARE_ADAPTERS, type Gpu, type InitOptions, type AdapterSummary, type SoftwareAdapter } from './runtime/init.js';
export * from './runtime/errors.js';
export type { PoolStats } from './runtime/pool.js';
export type { ProfileReport, KernelTiming } from './runtime/profiler.js';
export { defineKernel, codeConstants, type Kernel, type KernelOptions, type Params } from './runtime/kernel.js';
export { runKernel, type RunKernelSpec } from './ops/run-kernel.js';
export { Tensor, type DType } from './tensor/tensor.js';
export { assign, tensor, scalar, zeros, ones, full, zerosLike, onesLike, randn, uniform, empty, type TensorData, type RandomOptions } from './tensor/creation.js';
export { valueAndGrad, grad } from './autodiff/grad.js';
export { noGrad } from './autodiff/tape.js';
export { tidy, keep } from './tensor/scope.js';
export { warmup, type WarmupReport } from './autodiff/warmup.js';
export { ModelState, StateLayout, type StateSpec, type StateRef, type StateKind } from './state/model-state.js';
export { defineOp, notDifferentiable, type OpDef, type OpSpec } from './autodiff/op.js';
export * as ops from './ops/index.js';
export * as optim from './optim/index.js';
export * as nfnet from './nfnet/index.js';
export * as models from './models/index.js';
export * as data from './data/index.js';
