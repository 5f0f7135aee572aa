/**
 * EfficientNet assembled from the ops: a 3×3 stride-2 stem conv + BN + SiLU, the scaled
 * block table (config.ts `planBlocks`: depthwise-separable blocks, then MBConv blocks
 * with squeeze-excite and drop-connected residuals), a 1×1 head conv + BN + SiLU, global
 * average pool, dropout and the classifier. Tensors are named by timm's module paths
 * (conv_stem, bn1, blocks.S.B.conv_dw, …, classifier) in our layouts: conv weights HWIO,
 * the classifier (in, out); each layer declares them in a StateLayout and reads them from
 * the state it runs on, and plans itself (parameters, multiply-adds, output shape).
 */
import type { Tensor } from '../tensor/tensor.js';
import { StateLayout, type ModelState, type StateRef } from '../state/model-state.js';
import * as ops from '../ops/index.js';
import type { Padding } from '../ops/index.js';
import { mulberry32 } from '../data/loader.js';
import { normal, seedFor } from '../nfnet/initializers.js';
import type { Architecture, ForwardOptions, LayerPlan } from '../models/model.js';
import { headWidth, planBlocks, stemWidth, validateConfig, type BlockPlan, type EfficientNetConfig } from './config.js';
import { Declare, ones, sizeOf, zeros } from '../models/declare.js';

type RunOptions = Required<ForwardOptions>;


/** U(−limit, limit): timm's classifier initialisation (limit = 1/√out). */
function uniform(n: number, limit: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (2 * rng() - 1) * limit);
}

type Act = EfficientNetConfig['activation'] | 'identity';

/** Output size of a k×k stride-s conv under the config's padding. */
function convOut(n: number, k: number, s: number, padding: EfficientNetConfig['padding']): number {
  if (padding === 'same') return Math.ceil(n / s);
  const p = Math.floor((s - 1 + k - 1) / 2);
  return Math.floor((n + 2 * p - k) / s) + 1;
}

/** A bias-free convolution (timm's create_conv2d), weight HWIO, N(0, 2/fan-out) as timm's _init_weight_goog. */
class Conv {
  readonly w: StateRef;
  private readonly padding: Padding;
  constructor(store: Declare, private readonly cfg: EfficientNetConfig, readonly name: string, readonly cin: number, readonly cout: number,
    readonly kernel: number, readonly stride = 1, readonly groups = 1) {
    const fanOut = (kernel * kernel * cout) / groups;
    this.w = store.param(`${name}.weight`, 'weight', [kernel, kernel, cin / groups, cout], (n, s) => normal(n, Math.sqrt(2 / fanOut), s));
    const p = Math.floor((stride - 1 + kernel - 1) / 2);
    this.padding = cfg.padding === 'same' ? 'SAME' : [[p, p], [p, p]];
  }

  forward(s: ModelState, x: Tensor): Tensor {
    return ops.conv2d(x, s.get(this.w), { stride: this.stride, groups: this.groups, padding: this.padding });
  }

  plan(hw: readonly [number, number], stage: string): LayerPlan {
    const { kernel: k, stride, cin, cout, groups } = this;
    const [ho, wo] = hw.map((n) => convOut(n, k, stride, this.cfg.padding)) as [number, number];
    const kind = groups === 1 ? 'conv' : groups === cin && cin === cout ? 'dwconv' : 'gconv';
    return {
      name: this.name, kind, params: sizeOf(this.w), macs: ho * wo * sizeOf(this.w), out: [ho, wo, cout], stage,
      detail: `${k}×${k}${stride > 1 ? ` s${stride}` : ''} ${cin}→${cout}${kind === 'dwconv' ? ' depthwise' : ''}`,
    };
  }
}

/** BatchNorm2d with its activation fused after it (timm's BatchNormAct2d). */
class BatchNorm {
  readonly weight: StateRef;
  readonly bias: StateRef;
  readonly mean: StateRef;
  readonly variance: StateRef;
  constructor(store: Declare, private readonly cfg: EfficientNetConfig, readonly name: string, readonly channels: number, readonly act: Act) {
    this.weight = store.param(`${name}.weight`, 'gain', [channels], ones);
    this.bias = store.param(`${name}.bias`, 'bias', [channels], zeros);
    this.mean = store.running(`${name}.running_mean`, [channels], zeros);
    this.variance = store.running(`${name}.running_var`, [channels], ones);
  }

  forward(s: ModelState, x: Tensor, training: boolean): Tensor {
    return ops.batchNorm(x, s.get(this.weight), s.get(this.bias), s.get(this.mean), s.get(this.variance), {
      training, momentum: this.cfg.bnMomentum, eps: this.cfg.bnEps, activation: this.act,
    });
  }

  plan(out: number[], stage: string): LayerPlan {
    return { name: this.name, kind: 'bn', params: sizeOf(this.weight, this.bias), macs: 0, out, stage, detail: `${this.channels}${this.act === 'identity' ? '' : ` + ${this.act}`}` };
  }
}

/** A 1×1 conv with bias on a pooled [N, C] input: stored HWIO [1, 1, in, out] as timm's conv, run as a linear. */
class PooledConv {
  readonly w: StateRef;
  readonly b: StateRef;
  constructor(store: Declare, readonly name: string, readonly cin: number, readonly cout: number) {
    this.w = store.param(`${name}.weight`, 'weight', [1, 1, cin, cout], (n, s) => normal(n, Math.sqrt(2 / cout), s));
    this.b = store.param(`${name}.bias`, 'bias', [cout], zeros);
  }

  forward(s: ModelState, x: Tensor): Tensor {
    return ops.linear(x, ops.reshape(s.get(this.w), [this.cin, this.cout]), s.get(this.b));
  }

  plan(stage: string): LayerPlan {
    return { name: this.name, kind: 'conv', params: sizeOf(this.w, this.b), macs: sizeOf(this.w), out: [this.cout], stage, detail: `1×1 ${this.cin}→${this.cout} (pooled)` };
  }
}

/** Squeeze-excite: global mean → 1×1 conv → act → 1×1 conv → sigmoid, scaling the channels. */
class SqueezeExcite {
  readonly reduce: PooledConv;
  readonly expand: PooledConv;
  constructor(store: Declare, readonly name: string, channels: number, hidden: number, private readonly act: Act) {
    this.reduce = new PooledConv(store, `${name}.conv_reduce`, channels, hidden);
    this.expand = new PooledConv(store, `${name}.conv_expand`, hidden, channels);
  }

  forward(s: ModelState, h: Tensor): Tensor {
    const squeezed = ops.activation(this.reduce.forward(s, ops.globalMeanPool(h)), { kind: this.act, gamma: 1 });
    const gate = ops.sigmoid(this.expand.forward(s, squeezed));
    return ops.mul(h, ops.reshape(gate, [h.shape[0]!, 1, 1, h.shape[3]!]));
  }
}

/**
 * A block of the table. 'ds' (timm's DepthwiseSeparableConv): conv_dw → bn1 + act → SE →
 * conv_pw → bn2. 'ir' (InvertedResidual, MBConv): conv_pw → bn1 + act → conv_dw → bn2 +
 * act → SE → conv_pwl → bn3. With `skip`, the branch is drop-connected and added to x.
 */
class Block {
  private readonly steps: (Conv | BatchNorm | SqueezeExcite)[] = [];

  constructor(store: Declare, readonly plan: BlockPlan, cfg: EfficientNetConfig) {
    const { name, inChannels: cin, midChannels: mid, outChannels: cout, kernel, stride, seChannels } = plan;
    const act = cfg.activation;
    const se = seChannels > 0 ? [new SqueezeExcite(store, `${name}.se`, mid, seChannels, act)] : [];
    const dw = [new Conv(store, cfg, `${name}.conv_dw`, mid, mid, kernel, stride, mid), new BatchNorm(store, cfg, `${name}.${plan.block === 'ds' ? 'bn1' : 'bn2'}`, mid, act)];
    if (plan.block === 'ds') {
      this.steps = [...dw, ...se, new Conv(store, cfg, `${name}.conv_pw`, mid, cout, 1), new BatchNorm(store, cfg, `${name}.bn2`, cout, 'identity')];
    } else {
      this.steps = [
        new Conv(store, cfg, `${name}.conv_pw`, cin, mid, 1), new BatchNorm(store, cfg, `${name}.bn1`, mid, act),
        ...dw, ...se, new Conv(store, cfg, `${name}.conv_pwl`, mid, cout, 1), new BatchNorm(store, cfg, `${name}.bn3`, cout, 'identity'),
      ];
    }
  }

  forward(s: ModelState, x: Tensor, opts: RunOptions): Tensor {
    let h = x;
    for (const step of this.steps) h = step instanceof BatchNorm ? step.forward(s, h, opts.training) : step.forward(s, h);
    if (!this.plan.skip) return h;
    if (opts.training && this.plan.dropPath > 0) h = ops.dropPath(h, { rate: this.plan.dropPath, seed: seedFor(opts.seed, this.plan.name) });
    return ops.add(x, h);
  }

  layers(hw: [number, number]): { layers: LayerPlan[]; hw: [number, number] } {
    const stage = `blocks.${this.plan.stage}`;
    const layers: LayerPlan[] = [];
    let at = hw;
    let channels = this.plan.inChannels;
    for (const step of this.steps) {
      if (step instanceof Conv) {
        const l = step.plan(at, stage);
        at = [l.out[0]!, l.out[1]!];
        channels = step.cout;
        layers.push(l);
      } else if (step instanceof BatchNorm) {
        layers.push(step.plan([...at, channels], stage));
      } else {
        layers.push(step.reduce.plan(stage), step.expand.plan(stage));
      }
    }
    return { layers, hw: at };
  }
}

/**
 * The network without its tensors: the layers and the StateLayout they declared (no GPU
 * needed), its plan and its forward on any state of that layout.
 */
export class EfficientNetArchitecture implements Architecture<EfficientNetConfig> {
  /** The classifier, which AGC (when asked for) never clips. */
  readonly classifier = ['classifier.weight'];
  /** Batch-normalized: trained without AGC unless asked (AGC exists to replace BN). */
  readonly trainDefaults = { clipping: 0 };

  readonly layout: StateLayout;
  readonly blocks: readonly BlockPlan[];
  private readonly stem: Conv;
  private readonly stemBn: BatchNorm;
  private readonly body: Block[];
  private readonly head: Conv;
  private readonly headBn: BatchNorm;
  private readonly classifierW: StateRef;
  private readonly classifierB: StateRef;

  constructor(readonly config: EfficientNetConfig, seed = 0) {
    validateConfig(config);
    const store = new Declare(seed);
    const act = config.activation;
    const stem = stemWidth(config);
    this.stem = new Conv(store, config, 'conv_stem', config.inChannels, stem, 3, 2);
    this.stemBn = new BatchNorm(store, config, 'bn1', stem, act);
    this.blocks = planBlocks(config);
    this.body = this.blocks.map((b) => new Block(store, b, config));
    const last = this.blocks[this.blocks.length - 1]!.outChannels;
    const head = headWidth(config);
    this.head = new Conv(store, config, 'conv_head', last, head, 1);
    this.headBn = new BatchNorm(store, config, 'bn2', head, act);
    const c = config.numClasses;
    this.classifierW = store.param('classifier.weight', 'weight', [head, c], (n, s) => uniform(n, 1 / Math.sqrt(c), s));
    this.classifierB = store.param('classifier.bias', 'bias', [c], zeros);
    this.layout = store.layout;
  }

  /** Every layer at an input resolution: parameters, multiply-adds, output shape. */
  plan(resolution: number): LayerPlan[] {
    const stem = this.stem.plan([resolution, resolution], 'stem');
    let hw: [number, number] = [stem.out[0]!, stem.out[1]!];
    const layers = [stem, this.stemBn.plan(stem.out, 'stem')];
    for (const block of this.body) {
      const b = block.layers(hw);
      layers.push(...b.layers);
      hw = b.hw;
    }
    const head = this.head.plan(hw, 'head');
    const c = this.config.numClasses;
    layers.push(head, this.headBn.plan(head.out, 'head'), {
      name: 'classifier', kind: 'linear', params: sizeOf(this.classifierW, this.classifierB), macs: sizeOf(this.classifierW), out: [c], stage: 'head', detail: `${this.head.cout}→${c}`,
    });
    return layers;
  }

  /** Logits [N, classes] for NHWC images [N, H, W, inChannels] (checked by the caller). */
  run(s: ModelState, x: Tensor, opts: RunOptions): Tensor {
    let h = this.stemBn.forward(s, this.stem.forward(s, x), opts.training);
    opts.trace('stem', h);
    for (const block of this.body) {
      h = block.forward(s, h, opts);
      opts.trace(block.plan.name, h);
    }
    h = ops.globalMeanPool(this.headBn.forward(s, this.head.forward(s, h), opts.training));
    if (opts.training && this.config.dropout > 0) h = ops.dropout(h, { rate: this.config.dropout, seed: seedFor(opts.seed, 'head') });
    return ops.linear(h, s.get(this.classifierW), s.get(this.classifierB));
  }
}
