/** Node-only additions: reading datasets from disk. `import { readFashionMnist } from 'nfnet-webgpu/node'`. */
export * from './data/node-files.js';
export * from './index.js';
export { writeFileAtomic } from './io/files.js';
export { saveCheckpoint, loadCheckpoint } from './nfnet/checkpoint-node.js';
