/** Datasets and batching (platform-neutral). Node file readers: `nfnet-webgpu/node`. */
export * from './formats.js';
export * from './loader.js';
export * from './preprocess.js';
