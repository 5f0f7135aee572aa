/**
 * NFNet and NF-ResNet models, assembled from the ops like the paper describes them:
 * a stem of WS-convs, stages of NF blocks (x + α·skip_gain·f(β·act(x))), and a head.
 * Each layer declares its tensors in the model's StateLayout and reads them from the state
 * it runs on, so the same model runs on its own weights, an EMA's or a checkpoint's. Each
 * layer also plans itself (parameters, multiply-adds, output shape): `nfnet info` prints
 * the model's own architecture, with no second description to keep in sync.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { ModelState, StateRef } from '../state/model-state.js';
import { StateLayout } from '../state/model-state.js';
import * as ops from '../ops/index.js';
import { GAMMA } from '../ops/activation.js';
import { Model, type Architecture, type ForwardOptions, type LayerPlan } from '../models/model.js';
import { convOut, planBlocks, sameOut, stemPoolOut, symmetricPad, type BlockPlan } from './plan.js';
import { summarize, type NetworkInfo } from '../models/info.js';
import { describeNFNet, nfnetTitle } from './format.js';
import { checkNumber, checkOptions } from '../runtime/validate.js';
import { OVERRIDE_FIELDS, validateConfig, variantConfig, type ConfigOverrides, type NFNetConfig } from './variants.js';
import { normal, seedFor, truncatedNormal } from './initializers.js';
import { Declare, ones, sizeOf, zeros } from '../models/declare.js';

export type { ForwardOptions } from '../models/model.js';


/** The activation's output scale: γ, or 1 where the config folds γ into the convs. */
const activationGamma = (cfg: NFNetConfig) => (cfg.gammaPlacement === 'activation' ? GAMMA[cfg.activation] : 1);

/** A scaled weight-standardised convolution with gain and bias. */
class WSConv {
  readonly w: StateRef;
  readonly gain: StateRef;
  readonly bias: StateRef;
  private readonly options: Parameters<typeof ops.wsConv2d>[3];
  constructor(store: Declare, private readonly cfg: NFNetConfig, readonly name: string, readonly cin: number, readonly cout: number, readonly kernel: number, readonly stride = 1, readonly groups = 1) {
    const fanIn = kernel * kernel * (cin / groups);
    this.w = store.param(`${name}.weight`, 'weight', [kernel, kernel, cin / groups, cout], (n, s) => truncatedNormal(n, fanIn, s));
    this.gain = store.param(`${name}.gain`, 'gain', [cout], ones);
    this.bias = store.param(`${name}.bias`, 'bias', [cout], zeros);
    const pad = symmetricPad(kernel, stride);
    this.options = {
      stride, groups, form: cfg.wsForm, eps: cfg.wsEps,
      padding: cfg.padding === 'same' ? 'SAME' : [[pad, pad], [pad, pad]],
      // With gamma in the convs (timm's default), γ scales every standardized filter.
      scale: cfg.gammaPlacement === 'conv' ? GAMMA[cfg.activation] : 1,
    };
  }

  /**
   * γ·act(conv + bias) with `act`, else conv + bias: one call (ops.wsConv2d's epilogue).
   * In training that is the conv and the bias-fused activation kernel, a pass over the
   * output fewer than a separate bias add; in inference the band, quad and row-run conv
   * kernels apply bias and activation in their store.
   */
  forward(s: ModelState, x: Tensor, act?: { kind: NFNetConfig['activation']; gamma: number }): Tensor {
    return ops.wsConv2d(x, s.get(this.w), s.get(this.gain), {
      ...this.options, bias: s.get(this.bias), activation: act?.kind ?? 'identity', gamma: act?.gamma ?? 1,
    });
  }

  /** This layer on an input of spatial size `hw`: its parameters (as declared), multiply-adds and output. */
  plan(hw: readonly [number, number]): LayerPlan {
    const { kernel: k, stride, cin, cout, groups } = this;
    const [ho, wo] = hw.map((n) => convOut(n, k, stride, this.cfg.padding)) as [number, number];
    return {
      name: this.name, kind: 'wsconv', params: sizeOf(this.w, this.gain, this.bias), macs: ho * wo * sizeOf(this.w), out: [ho, wo, cout],
      detail: `${k}×${k}${stride > 1 ? ` s${stride}` : ''} ${cin}→${cout}${groups > 1 ? ` g${groups}` : ''}`,
    };
  }
}


class Linear {
  readonly w: StateRef;
  readonly b: StateRef;
  constructor(store: Declare, readonly name: string, readonly cin: number, readonly cout: number, init: 'fan-in' | 'classifier') {
    const winit = init === 'classifier' ? (n: number, s: number) => normal(n, 0.01, s) : (n: number, s: number) => truncatedNormal(n, cin, s);
    this.w = store.param(`${name}.weight`, 'weight', [cin, cout], winit);
    this.b = store.param(`${name}.bias`, 'bias', [cout], zeros);
  }

  forward(s: ModelState, x: Tensor): Tensor {
    return ops.linear(x, s.get(this.w), s.get(this.b));
  }

  plan(): LayerPlan {
    return { name: this.name, kind: 'linear', params: sizeOf(this.w, this.b), macs: sizeOf(this.w), out: [this.cout], detail: `${this.cin}→${this.cout}` };
  }
}

/** Squeeze-excite: global mean → linear → ReLU → linear → sigmoid; the block applies 2·s·h. */
class SqueezeExcite {
  readonly fc0: Linear;
  readonly fc1: Linear;
  constructor(store: Declare, name: string, channels: number, hidden: number) {
    this.fc0 = new Linear(store, `${name}.fc0`, channels, hidden, 'fan-in');
    this.fc1 = new Linear(store, `${name}.fc1`, hidden, channels, 'fan-in');
  }

  /** Per-sample, per-channel scales in (0, 1), shaped [N, 1, 1, C] to broadcast over h. */
  forward(state: ModelState, h: Tensor): Tensor {
    const pooled = ops.globalMeanPool(h);
    const s = ops.sigmoid(this.fc1.forward(state, ops.relu(this.fc0.forward(state, pooled))));
    return ops.reshape(s, [h.shape[0]!, 1, 1, h.shape[3]!]);
  }
}

/** The NF block: out = shortcut + α·skip_gain·f(β·act(x)), f the (SE-)bottleneck. */
class NFBlock {
  private readonly convs: WSConv[];
  private readonly shortcut: WSConv | null;
  private readonly se: SqueezeExcite | null;
  /** null where the config has no skip gains (timm's NF-ResNets). */
  readonly skipGain: StateRef | null;

  constructor(store: Declare, readonly plan: BlockPlan, readonly cfg: NFNetConfig, readonly name: string) {
    const { inChannels: cin, outChannels: cout, midChannels: mid, groups, stride } = plan;
    const nfnet = cfg.family === 'nfnet';
    this.shortcut = plan.projection ? new WSConv(store, cfg, `${name}.shortcut`, cin, cout, 1, plan.transition ? 1 : stride) : null;
    this.convs = [
      new WSConv(store, cfg, `${name}.conv0`, cin, mid, 1),
      new WSConv(store, cfg, `${name}.conv1`, mid, mid, 3, stride, groups),
      ...(nfnet ? [new WSConv(store, cfg, `${name}.conv1b`, mid, mid, 3, 1, groups)] : []),
      new WSConv(store, cfg, `${name}.conv2`, mid, cout, 1),
    ];
    this.se = plan.seHidden ? new SqueezeExcite(store, `${name}.se`, cout, plan.seHidden) : null;
    this.skipGain = cfg.skipGain ? store.param(`${name}.skipGain`, 'skipGain', [], zeros) : null;
  }

  forward(s: ModelState, x: Tensor, opts: Required<ForwardOptions>, blockSeed: number): Tensor {
    const act = this.cfg.activation;
    const gamma = activationGamma(this.cfg);
    // β·γ·act(x): the pre-activation scaling folds into the activation's output scale.
    const pre = ops.activation(x, { kind: act, gamma: gamma * this.plan.beta });
    let shortcut = x;
    if (this.shortcut) {
      const src = this.plan.transition ? ops.avgPool(pre, { size: 2, stride: 2, padding: 'SAME' }) : pre;
      shortcut = this.shortcut.forward(s, src);
    }
    let h = pre;
    this.convs.forEach((conv, i) => {
      h = conv.forward(s, h, i < this.convs.length - 1 ? { kind: act, gamma } : undefined);
    });
    if (this.se) h = ops.mul(ops.mul(this.se.forward(s, h), 2), h);
    if (opts.training && this.plan.stochDepth > 0) h = ops.stochasticDepth(h, { rate: this.plan.stochDepth, seed: blockSeed });
    if (!this.skipGain) return ops.add(shortcut, ops.mul(h, this.plan.alpha));
    return ops.residual(shortcut, h, s.get(this.skipGain), this.plan.alpha); // shortcut + α·skip_gain·h, one kernel
  }

  /** The block's layers on an input of spatial size `hw`, in the order `nfnet info` lists them, and its output size. */
  layers(hw: [number, number]): { layers: LayerPlan[]; hw: [number, number] } {
    const layers: LayerPlan[] = [];
    if (this.shortcut) {
      // Avg-pool transitions pool 2×2 s2 (SAME, = PyTorch's ceil_mode without counting the pad) before a stride-1 1×1 conv.
      layers.push(this.shortcut.plan(this.plan.transition ? [sameOut(hw[0], 2), sameOut(hw[1], 2)] : hw));
    }
    let at = hw;
    for (const conv of this.convs) {
      const l = conv.plan(at);
      layers.push(l);
      at = [l.out[0]!, l.out[1]!];
    }
    if (this.se) layers.push(this.se.fc0.plan(), this.se.fc1.plan());
    if (this.skipGain) layers.push({ name: `${this.name}.skipGain`, kind: 'scalar', params: 1, macs: 0, out: [...at, this.plan.outChannels], detail: 'skip_gain' });
    return { layers, hw: at };
  }
}

/**
 * The network without its tensors: the layers and the StateLayout they declared (no GPU
 * needed). `nfnet info` plans from it, so the printed architecture is the model's own.
 */
export class NFNetArchitecture implements Architecture<NFNetConfig> {
  /** The tensors the layers declared (names, shapes, kinds, initialisers). */
  readonly layout: StateLayout;
  private readonly stem: WSConv[];
  private readonly blocks: NFBlock[];
  private readonly headConv: WSConv | null;
  private readonly fc: Linear;

  constructor(readonly config: NFNetConfig, seed = 0) {
    // Every way in (create, a checkpoint's or a timm file's config, a hand-made one) is checked here, before any layer is planned.
    validateConfig(config);
    const store = new Declare(seed);
    let ch = config.inChannels;
    this.stem = config.stem.map((s, i) => {
      const conv = new WSConv(store, config, `stem.conv${i}`, ch, s.channels, s.kernel, s.stride);
      ch = s.channels;
      return conv;
    });
    this.blocks = planBlocks(config).map((b) => new NFBlock(store, b, config, `stages.${b.stage}.block${b.index}`));
    ch = config.widths[config.widths.length - 1]!;
    this.headConv = config.finalConvMult ? new WSConv(store, config, 'head.conv', ch, ch * config.finalConvMult, 1) : null;
    this.fc = new Linear(store, 'head.fc', ch * (config.finalConvMult || 1), config.numClasses, 'classifier');
    this.layout = store.layout;
  }

  /** Every layer at an input resolution: parameters, multiply-adds, output shape. */
  plan(resolution: number): LayerPlan[] {
    const layers: LayerPlan[] = [];
    let hw: [number, number] = [resolution, resolution];
    for (const conv of this.stem) {
      const l = conv.plan(hw);
      layers.push(l);
      hw = [l.out[0]!, l.out[1]!];
    }
    if (this.config.stemPool) {
      hw = [stemPoolOut(hw[0], this.config.padding), stemPoolOut(hw[1], this.config.padding)];
      layers.push({ name: 'stem.pool', kind: 'pool', params: 0, macs: 0, out: [...hw, this.stem[this.stem.length - 1]!.cout], detail: 'max 3×3 s2' });
    }
    for (const block of this.blocks) {
      const b = block.layers(hw);
      layers.push(...b.layers);
      hw = b.hw;
    }
    if (this.headConv) layers.push(this.headConv.plan(hw));
    layers.push(this.fc.plan());
    return layers;
  }
  /** Logits for NHWC images, on `s` (Model.forward checks the input and options). */
  run(s: ModelState, x: Tensor, opts: Required<ForwardOptions>): Tensor {
    const act = this.config.activation;
    const gamma = activationGamma(this.config);
    let h = x;
    this.stem.forEach((conv, i) => {
      h = conv.forward(s, h, i < this.stem.length - 1 ? { kind: act, gamma } : undefined);
    });
    if (this.config.stemPool) h = ops.maxPool(h, { size: 3, stride: 2, padding: this.config.padding === 'same' ? 'SAME' : [[1, 1], [1, 1]] });
    opts.trace('stem', h);
    this.blocks.forEach((block, i) => {
      h = block.forward(s, h, opts, seedFor(opts.seed, `block${i}`));
      opts.trace(block.name, h);
    });
    h = this.headConv ? this.headConv.forward(s, h, { kind: act, gamma }) : ops.activation(h, { kind: act, gamma });
    h = ops.globalMeanPool(h);
    if (opts.training && this.config.dropout > 0) h = ops.dropout(h, { rate: this.config.dropout, seed: seedFor(opts.seed, 'head') });
    return this.fc.forward(s, h);
  }
}

/** The layers of a configuration at a resolution (no GPU). */
export function planLayers(c: NFNetConfig, resolution: number): LayerPlan[] {
  return new NFNetArchitecture(c).plan(resolution);
}

/** Exact parameter count, multiply-adds and a per-stage table of a configuration (no GPU). */
export function networkInfo(c: NFNetConfig, resolution = c.testResolution): NetworkInfo<NFNetConfig> {
  return summarize(c, resolution, planLayers(c, resolution), { title: nfnetTitle(c), summary: describeNFNet(c) });
}

export class NFNet extends Model<NFNetConfig> {
  /** `initialise: false` leaves the weights undefined for a caller that loads them at once (importers, checkpoints). */
  constructor(config: NFNetConfig, seed = 0, options: { initialise?: boolean } = {}) {
    super(new NFNetArchitecture(config, seed), options);
  }
}

export interface CreateOptions extends ConfigOverrides {
  /** Initialisation seed (default 0). */
  seed?: number;
}

/** Build a model of a named variant on the current GPU. */
export function create(variant: string, options?: CreateOptions): NFNet {
  const { seed = 0, ...overrides } = checkOptions('nfnet.create', options, [...OVERRIDE_FIELDS, 'seed']);
  checkNumber('nfnet.create', 'seed', seed, { min: 0, max: 2 ** 32 - 1, integer: true });
  return new NFNet(variantConfig(variant, overrides, 'nfnet.create'), seed);
}
