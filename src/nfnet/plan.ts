/**
 * The architecture as data: every layer of a configuration with its shapes, parameter
 * count and multiply-adds at a resolution. `nfnet info` prints it without a GPU, and the
 * model builder is tested to create exactly these parameters.
 */
import { groupsFor, type NFNetConfig } from './variants.js';

export type LayerKind = 'wsconv' | 'linear' | 'scalar' | 'pool' | 'act';

export interface LayerPlan {
  /** Dotted path, e.g. `stages.2.block0.conv1`. */
  name: string;
  kind: LayerKind;
  params: number;
  macs: number;
  /** Output shape [H, W, C] (or [C] after pooling). */
  out: number[];
  detail: string;
}

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

/** WS-conv params: weight k·k·(cin/groups)·cout, gain cout, bias cout. */
function wsconv(c: NFNetConfig, name: string, hw: [number, number], cin: number, cout: number, k: number, stride: number, groups = 1): LayerPlan {
  const ho = convOut(hw[0], k, stride, c.padding);
  const wo = convOut(hw[1], k, stride, c.padding);
  const weights = k * k * (cin / groups) * cout;
  return {
    name, kind: 'wsconv', params: weights + 2 * cout, macs: ho * wo * weights, out: [ho, wo, cout],
    detail: `${k}×${k}${stride > 1 ? ` s${stride}` : ''} ${cin}→${cout}${groups > 1 ? ` g${groups}` : ''}`,
  };
}

function linear(name: string, cin: number, cout: number, bias = true): LayerPlan {
  return { name, kind: 'linear', params: cin * cout + (bias ? cout : 0), macs: cin * cout, out: [cout], detail: `${cin}→${cout}` };
}

export function planLayers(c: NFNetConfig, resolution: number): LayerPlan[] {
  const layers: LayerPlan[] = [];
  let hw: [number, number] = [resolution, resolution];
  let ch = c.inChannels;
  c.stem.forEach((s, i) => {
    const l = wsconv(c, `stem.conv${i}`, hw, ch, s.channels, s.kernel, s.stride);
    layers.push(l);
    hw = [l.out[0]!, l.out[1]!];
    ch = s.channels;
  });
  if (c.stemPool) {
    hw = [stemPoolOut(hw[0], c.padding), stemPoolOut(hw[1], c.padding)];
    layers.push({ name: 'stem.pool', kind: 'pool', params: 0, macs: 0, out: [...hw, ch], detail: 'max 3×3 s2' });
  }
  for (const b of planBlocks(c)) {
    const p = `stages.${b.stage}.block${b.index}`;
    const out = [convOut(hw[0], 3, b.stride, c.padding), convOut(hw[1], 3, b.stride, c.padding)] as [number, number];
    if (b.projection) {
      // Avg-pool transitions pool 2×2 s2 (SAME, = PyTorch's ceil_mode without counting the pad)
      // before a stride-1 1×1 conv; the reference NF-ResNet uses a strided 1×1 conv.
      const shortcutHw = b.transition ? ([sameOut(hw[0], 2), sameOut(hw[1], 2)] as [number, number]) : hw;
      layers.push(wsconv(c, `${p}.shortcut`, shortcutHw, b.inChannels, b.outChannels, 1, b.transition ? 1 : b.stride));
    }
    layers.push(wsconv(c, `${p}.conv0`, hw, b.inChannels, b.midChannels, 1, 1));
    layers.push(wsconv(c, `${p}.conv1`, hw, b.midChannels, b.midChannels, 3, b.stride, b.groups));
    if (c.family === 'nfnet') layers.push(wsconv(c, `${p}.conv1b`, out, b.midChannels, b.midChannels, 3, 1, b.groups));
    layers.push(wsconv(c, `${p}.conv2`, out, b.midChannels, b.outChannels, 1, 1));
    if (b.seHidden) {
      layers.push(linear(`${p}.se.fc0`, b.outChannels, b.seHidden));
      layers.push(linear(`${p}.se.fc1`, b.seHidden, b.outChannels));
    }
    if (c.skipGain) layers.push({ name: `${p}.skipGain`, kind: 'scalar', params: 1, macs: 0, out: [...out, b.outChannels], detail: 'skip_gain' });
    hw = out;
    ch = b.outChannels;
  }
  if (c.finalConvMult) {
    const l = wsconv(c, 'head.conv', hw, ch, ch * c.finalConvMult, 1, 1);
    layers.push(l);
    ch = l.out[2]!;
  }
  layers.push(linear('head.fc', ch, c.numClasses));
  return layers;
}

export interface StageSummary {
  stage: string;
  blocks: number;
  channels: number;
  resolution: string;
  params: number;
  macs: number;
}

export interface NetworkInfo {
  variant: string;
  resolution: number;
  params: number;
  macs: number;
  stages: StageSummary[];
  config: NFNetConfig;
}

export function networkInfo(c: NFNetConfig, resolution = c.testResolution): NetworkInfo {
  const layers = planLayers(c, resolution);
  const groups = new Map<string, LayerPlan[]>();
  for (const l of layers) {
    const key = l.name.startsWith('stages.') ? l.name.split('.').slice(0, 2).join('.') : l.name.split('.')[0]!;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(l);
  }
  const stages = [...groups.entries()].map(([stage, ls]) => {
    const last = ls[ls.length - 1]!;
    const conv = [...ls].reverse().find((l) => l.kind === 'wsconv' || l.kind === 'pool') ?? last;
    return {
      stage,
      blocks: new Set(ls.map((l) => l.name.split('.')[2]).filter(Boolean)).size,
      channels: conv.out[conv.out.length - 1]!,
      resolution: conv.out.length === 3 ? `${conv.out[0]}×${conv.out[1]}` : '1×1',
      params: ls.reduce((s, l) => s + l.params, 0),
      macs: ls.reduce((s, l) => s + l.macs, 0),
    };
  });
  return {
    variant: c.variant, resolution,
    params: layers.reduce((s, l) => s + l.params, 0),
    macs: layers.reduce((s, l) => s + l.macs, 0),
    stages, config: c,
  };
}
