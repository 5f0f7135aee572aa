/**
 * Batch-normalized ResNets as timm builds them (timm/models/resnet.py): a stem (k×k conv
 * without bias → BN → ReLU → optional 3×3 s2 max pool padded by 1), stages of basic or
 * bottleneck blocks whose first block strides on its 3×3 conv and projects its shortcut
 * with a strided 1×1 conv + BN, ReLU after the residual add, global average pool, fc.
 * Layers declare their tensors under timm's own names (conv1, bn1, layer1.0.conv2,
 * layer2.0.downsample.0, fc, …) in our layouts (conv HWIO, linear (in, out)); BN running
 * statistics are `running` state, so they travel with the model's state (checkpoints, the
 * EMA, timm files).
 */
import type { Tensor } from '../tensor/tensor.js';
import { StateLayout, type ModelState, type StateRef } from '../state/model-state.js';
import * as ops from '../ops/index.js';
import type { Architecture, ForwardOptions, LayerPlan } from '../models/model.js';
import { mulberry32 } from '../data/loader.js';
import { normal, seedFor } from '../nfnet/initializers.js';
import { EXPANSION, validateResNetConfig, type ResNetConfig } from './config.js';
import { Declare, ones, sizeOf, zeros } from '../models/declare.js';


/** PyTorch's default Linear init (kaiming_uniform with a = √5): U(−1/√fan_in, 1/√fan_in), weight and bias alike. */
function fanInUniform(n: number, fanIn: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const bound = 1 / Math.sqrt(fanIn);
  return Float32Array.from({ length: n }, () => (2 * rng() - 1) * bound);
}

/** Output size of a k×k stride-s conv or pool padded by `pad` on each side (PyTorch). */
export const outSize = (n: number, k: number, s: number, pad: number) => Math.floor((n + 2 * pad - k) / s) + 1;


/** A k×k convolution without bias, padded by ⌊k/2⌋ (timm's); weight HWIO, He-normal init over fan-out (timm's init_weights). */
class Conv {
  readonly w: StateRef;
  readonly pad: number;
  constructor(store: Declare, readonly name: string, readonly cin: number, readonly cout: number, readonly kernel: number, readonly stride: number, readonly stage: string) {
    const std = Math.sqrt(2 / (kernel * kernel * cout));
    this.w = store.param(`${name}.weight`, 'weight', [kernel, kernel, cin, cout], (n, s) => normal(n, std, s));
    this.pad = Math.floor(kernel / 2);
  }

  forward(s: ModelState, x: Tensor): Tensor {
    const p = this.pad;
    return ops.conv2d(x, s.get(this.w), { stride: this.stride, padding: [[p, p], [p, p]] });
  }

  plan(hw: readonly [number, number]): LayerPlan {
    const { kernel: k, stride, cin, cout } = this;
    const [ho, wo] = hw.map((n) => outSize(n, k, stride, this.pad)) as [number, number];
    return {
      name: this.name, kind: 'conv', params: sizeOf(this.w), macs: ho * wo * sizeOf(this.w), out: [ho, wo, cout],
      detail: `${k}×${k}${stride > 1 ? ` s${stride}` : ''} ${cin}→${cout}`, stage: this.stage,
    };
  }
}

/** BatchNorm over channels: weight (a gain, not decayed), bias, and the running mean and variance. */
class BatchNorm {
  readonly weight: StateRef;
  readonly bias: StateRef;
  readonly mean: StateRef;
  readonly variance: StateRef;
  constructor(store: Declare, readonly name: string, readonly channels: number, zeroInit: boolean, private readonly cfg: ResNetConfig, readonly stage: string) {
    this.weight = store.param(`${name}.weight`, 'gain', [channels], zeroInit ? zeros : ones);
    this.bias = store.param(`${name}.bias`, 'bias', [channels], zeros);
    this.mean = store.running(`${name}.running_mean`, [channels], zeros);
    this.variance = store.running(`${name}.running_var`, [channels], ones);
  }

  forward(s: ModelState, x: Tensor, training: boolean, relu: boolean): Tensor {
    return ops.batchNorm(x, s.get(this.weight), s.get(this.bias), s.get(this.mean), s.get(this.variance), {
      training, momentum: this.cfg.bnMomentum, eps: this.cfg.bnEps, activation: relu ? 'relu' : 'identity',
    });
  }

  plan(out: readonly number[], relu: boolean): LayerPlan {
    return { name: this.name, kind: 'norm', params: 2 * this.channels, macs: 0, out: [...out], detail: `batch norm${relu ? ' + ReLU' : ''}`, stage: this.stage };
  }
}

/** conv → BN (→ ReLU): the unit every ResNet layer is made of. */
class ConvBn {
  readonly conv: Conv;
  readonly bn: BatchNorm;
  constructor(store: Declare, cfg: ResNetConfig, conv: string, bn: string, cin: number, cout: number, k: number, stride: number, stage: string, zeroInit = false) {
    this.conv = new Conv(store, conv, cin, cout, k, stride, stage);
    this.bn = new BatchNorm(store, bn, cout, zeroInit, cfg, stage);
  }

  forward(s: ModelState, x: Tensor, training: boolean, relu: boolean): Tensor {
    return this.bn.forward(s, this.conv.forward(s, x), training, relu);
  }

  plan(hw: readonly [number, number], relu: boolean): LayerPlan[] {
    const c = this.conv.plan(hw);
    return [c, this.bn.plan(c.out, relu)];
  }
}

/**
 * A residual block: basic (3×3 s → BN → ReLU → 3×3 → BN) or bottleneck (1×1 → BN → ReLU →
 * 3×3 s → BN → ReLU → 1×1 → BN), then + shortcut (x, or strided 1×1 conv + BN where the
 * stride or the width changes), then ReLU. The last BN starts at 0 with zeroInitLast.
 */
class Block {
  readonly units: ConvBn[];
  readonly downsample: ConvBn | null;
  constructor(store: Declare, cfg: ResNetConfig, readonly name: string, readonly stage: string, cin: number, planes: number, stride: number) {
    const cout = planes * EXPANSION[cfg.block];
    const unit = (i: number, a: number, b: number, k: number, s: number, last: boolean) =>
      new ConvBn(store, cfg, `${name}.conv${i}`, `${name}.bn${i}`, a, b, k, s, stage, last && cfg.zeroInitLast);
    this.units = cfg.block === 'basic'
      ? [unit(1, cin, planes, 3, stride, false), unit(2, planes, cout, 3, 1, true)]
      : [unit(1, cin, planes, 1, 1, false), unit(2, planes, planes, 3, stride, false), unit(3, planes, cout, 1, 1, true)];
    this.downsample = stride !== 1 || cin !== cout
      ? new ConvBn(store, cfg, `${name}.downsample.0`, `${name}.downsample.1`, cin, cout, 1, stride, stage)
      : null;
  }

  forward(s: ModelState, x: Tensor, training: boolean): Tensor {
    let h = x;
    this.units.forEach((u, i) => (h = u.forward(s, h, training, i < this.units.length - 1)));
    const shortcut = this.downsample ? this.downsample.forward(s, x, training, false) : x;
    return ops.relu(ops.add(h, shortcut));
  }

  plan(hw: [number, number]): { layers: LayerPlan[]; hw: [number, number] } {
    const layers: LayerPlan[] = [];
    let at = hw;
    this.units.forEach((u, i) => {
      const [conv, bn] = u.plan(at, i < this.units.length - 1);
      layers.push(conv!, bn!);
      at = [conv!.out[0]!, conv!.out[1]!];
    });
    if (this.downsample) layers.push(...this.downsample.plan(hw, false));
    return { layers, hw: at };
  }
}

/** The network without its tensors (no GPU): its layers, the state they declared, their plan and the forward pass. */
export class ResNetArchitecture implements Architecture<ResNetConfig> {
  /** The classifier, which AGC (when asked for) never clips. */
  readonly classifier = ['fc.weight'];
  /** Batch-normalized: trained without AGC unless asked (AGC exists to replace BN). */
  readonly trainDefaults = { clipping: 0 };

  readonly config: ResNetConfig;
  readonly layout: StateLayout;
  readonly stem: ConvBn;
  readonly blocks: Block[];
  readonly fcWeight: StateRef;
  readonly fcBias: StateRef;
  readonly features: number;

  constructor(config: ResNetConfig, seed = 0) {
    // Every way in (a name, a checkpoint's or a timm file's config, a hand-made one) is checked here.
    this.config = validateResNetConfig(config);
    const c = this.config;
    const store = new Declare(seed);
    this.stem = new ConvBn(store, c, 'conv1', 'bn1', c.inChannels, c.stemWidth, c.stemKernel, c.stemStride, 'stem');
    this.blocks = [];
    let cin = c.stemWidth;
    c.depths.forEach((depth, i) => {
      for (let b = 0; b < depth; b++) {
        this.blocks.push(new Block(store, c, `layer${i + 1}.${b}`, `layer${i + 1}`, cin, c.channels[i]!, b === 0 ? c.strides[i]! : 1));
        cin = c.channels[i]! * EXPANSION[c.block];
      }
    });
    this.features = cin;
    this.fcWeight = store.param('fc.weight', 'weight', [cin, c.numClasses], (n, s) => fanInUniform(n, cin, s));
    this.fcBias = store.param('fc.bias', 'bias', [c.numClasses], (n, s) => fanInUniform(n, cin, s));
    this.layout = store.layout;
  }

  plan(resolution: number): LayerPlan[] {
    const c = this.config;
    const layers = this.stem.plan([resolution, resolution], true);
    let hw: [number, number] = [layers[0]!.out[0]!, layers[0]!.out[1]!];
    if (c.stemPool) {
      hw = hw.map((n) => outSize(n, 3, 2, 1)) as [number, number];
      layers.push({ name: 'maxpool', kind: 'pool', params: 0, macs: 0, out: [...hw, c.stemWidth], detail: 'max 3×3 s2 p1', stage: 'stem' });
    }
    for (const block of this.blocks) {
      const b = block.plan(hw);
      layers.push(...b.layers);
      hw = b.hw;
    }
    layers.push({
      name: 'fc', kind: 'linear', params: sizeOf(this.fcWeight) + sizeOf(this.fcBias), macs: sizeOf(this.fcWeight),
      out: [c.numClasses], detail: `avg pool, ${this.features}→${c.numClasses}`, stage: 'head',
    });
    return layers;
  }

  run(s: ModelState, x: Tensor, opts: Required<ForwardOptions>): Tensor {
    const c = this.config;
    let h = this.stem.forward(s, x, opts.training, true);
    if (c.stemPool) h = ops.maxPool(h, { size: 3, stride: 2, padding: [[1, 1], [1, 1]] });
    opts.trace('stem', h);
    for (const block of this.blocks) {
      h = block.forward(s, h, opts.training);
      opts.trace(block.name, h);
    }
    h = ops.globalMeanPool(h);
    if (opts.training && c.dropout > 0) h = ops.dropout(h, { rate: c.dropout, seed: seedFor(opts.seed, 'head') });
    return ops.linear(h, s.get(this.fcWeight), s.get(this.fcBias));
  }
}
