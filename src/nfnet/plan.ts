/**
 * The architecture as data: the block table with the β/α rule (`planBlocks`, which the
 * model is built from), the layer geometry, and the per-stage summary `nfnet info` prints.
 * The layers themselves plan each layer (model.ts, `NFNetArchitecture.plan`), so the
 * printed architecture is the model's own.
 */
import { groupsFor, type NFNetConfig } from './variants.js';

export type { LayerPlan } from '../models/model.js';

export interface BlockPlan {
  stage: number;
  index: number;
  inChannels: number;
  outChannels: number;
  midChannels: number;
  groups: number;
  stride: number;
  beta: number;
  alpha: number;
  stochDepth: number;
  /** Has a shortcut conv (channels change or stride > 1). */
  projection: boolean;
  /** First block of a stage whose stride > 1 with avg-pool shortcuts: pool 2×2 s2, then a stride-1 1×1 conv. */
  transition: boolean;
  seHidden: number;
}

/** TF 'SAME' output size. */
export const sameOut = (n: number, stride: number) => Math.ceil(n / stride);

/** PyTorch-style symmetric padding of a k×k stride-s conv, each side: timm's get_padding, ((s − 1) + (k − 1))/2. */
export const symmetricPad = (kernel: number, stride: number) => Math.floor((stride - 1 + kernel - 1) / 2);

/** Output size of a k×k stride-s conv (or pool) under the config's padding. */
export function convOut(n: number, kernel: number, stride: number, padding: NFNetConfig['padding']): number {
  if (padding === 'same') return sameOut(n, stride);
  return Math.floor((n + 2 * symmetricPad(kernel, stride) - kernel) / stride) + 1;
}

/** Output size of the stem's 3×3 s2 max pool: TF SAME, or PyTorch's padding of 1 (timm). */
export const stemPoolOut = (n: number, padding: NFNetConfig['padding']) => (padding === 'same' ? sameOut(n, 2) : Math.floor((n + 2 - 3) / 2) + 1);

/**
 * The block sequence with the β/α rule: expected std starts at 1; each block gets
 * β = 1/expected_std, then expected_std = sqrt(expected_std² + α²); after a stage's first
 * block it resets to 1 (its shortcut conv re-normalises the signal), still carried into
 * the next stage's first block.
 */
export function planBlocks(c: NFNetConfig): BlockPlan[] {
  const total = c.depths.reduce((a, b) => a + b, 0);
  const blocks: BlockPlan[] = [];
  let inCh = c.stem[c.stem.length - 1]!.channels;
  let index = 0;
  // Carried across stages: a stage's first block sees the variance its predecessor built up.
  let expectedStd = 1;
  c.depths.forEach((depth, stage) => {
    for (let b = 0; b < depth; b++) {
      const outCh = c.widths[stage]!;
      const stride = b === 0 ? c.strides[stage]! : 1;
      const mid = Math.floor(outCh * c.bottleneckRatio);
      const beta = 1 / expectedStd;
      blocks.push({
        stage, index: b, inChannels: inCh, outChannels: outCh, midChannels: mid,
        groups: groupsFor(mid, c.groupWidth), stride, beta, alpha: c.alpha,
        stochDepth: (c.stochDepthRate * index) / total,
        projection: inCh !== outCh || stride > 1,
        transition: c.transitionShortcut === 'avgpool' && stride > 1,
        seHidden: c.seRatio > 0 ? Math.max(1, Math.floor(outCh * c.seRatio)) : 0,
      });
      // After a transition block the signal is re-normalised by its shortcut: restart at 1.
      expectedStd = Math.sqrt((b === 0 ? 1 : expectedStd ** 2) + c.alpha ** 2);
      inCh = outCh;
      index++;
    }
  });
  return blocks;
}

export type { NetworkInfo, StageSummary } from '../models/info.js';
