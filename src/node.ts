/** Node-only additions: reading datasets from disk. `import { readFashionMnist } from 'nfnet-webgpu/node'`. */
export * from './data/node-files.js';
export * from './index.js';
