/**
 * What every network family shares: an Architecture (the layers, the tensors they declared
 * in a StateLayout, their plan and their forward; no GPU) and a Model (an architecture with
 * its ModelState on the GPU). The Trainer, evaluation, checkpoints, timm interop and the CLI
 * take a Model, so a family (NFNet, EfficientNet, BN-ResNet, ViT; src/models/registry.ts)
 * gets them all by building one.
 */
import { checkTensor, type Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autodiff/tape.js';
import { tidy } from '../tensor/scope.js';
import { ModelState, type StateLayout } from '../state/model-state.js';
import { ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { checkOptions, describeValue } from '../runtime/validate.js';

/** The fields every family's config has (families add their own). */
export interface ModelConfig {
  /** The family's own tag (NFNets: 'nfnet' | 'nfresnet'); the registry finds the family that owns it. */
  family: string;
  variant: string;
  numClasses: number;
  inChannels: number;
  trainResolution: number;
  testResolution: number;
}

export interface ForwardOptions {
  /** Dropout, stochastic depth and batch statistics are active only when training. */
  training?: boolean;
  /** Seed for this step's dropout and stochastic-depth masks (use a new one each step). */
  seed?: number;
  /** Called with the activations after the stem and after every block (signal-propagation plots, tests). */
  trace?: (name: string, activations: Tensor) => void;
  /** The state to run on (default: the model's own; e.g. an EMA's averages, `ema.state`). */
  state?: ModelState;
}

export interface LayerPlan {
  /** Dotted path, e.g. `stages.2.block0.conv1`. */
  name: string;
  /** What the layer is: 'wsconv', 'conv', 'linear', 'norm', 'attention', 'pool', 'scalar', 'embed', … */
  kind: string;
  params: number;
  macs: number;
  /** Output shape [H, W, C], [T, C] for tokens, or [C] after pooling. */
  out: number[];
  detail: string;
  /** The row of `info`'s stage table the layer counts in (default: `stages.S` / the first name segment). */
  stage?: string;
}

/** A network without its tensors: what `info` plans from and what a Model runs. */
export interface Architecture<C extends ModelConfig = ModelConfig> {
  readonly config: C;
  /** The tensors the layers declared (names, shapes, kinds, initialisers). */
  readonly layout: StateLayout;
  /** Every layer at an input resolution: parameters, multiply-adds, output shape. */
  plan(resolution: number): LayerPlan[];
  /** The forward pass on `state` (of this layout); options checked and defaulted, x checked NHWC with the config's channels. */
  run(state: ModelState, x: Tensor, options: Required<ForwardOptions>): Tensor;
  /** The classifier's weight tensors, which AGC never clips (as the NFNet paper does); default `['head.fc.weight']`. */
  readonly classifier?: readonly string[];
  /**
   * Training defaults of this kind of network where they differ from TRAIN_DEFAULTS: e.g.
   * batch-normalized networks train without AGC (`clipping: 0`), which exists to replace BN.
   */
  readonly trainDefaults?: { readonly clipping?: number };
}

/** An architecture with its tensors on the GPU. */
export class Model<C extends ModelConfig = ModelConfig> {
  /** Every tensor of the model, laid out for the optimizer (see src/state/). */
  readonly state: ModelState;

  /** `initialise: false` leaves the weights undefined for a caller that loads them at once (importers, checkpoints). */
  constructor(readonly architecture: Architecture<C>, options: { initialise?: boolean } = {}) {
    this.state = ModelState.create(architecture.layout, { initialise: options.initialise });
  }

  get config(): C {
    return this.architecture.config;
  }

  get layout(): StateLayout {
    return this.architecture.layout;
  }

  /** Logits [N, classes] for NHWC images [N, H, W, inChannels]. */
  forward(x: Tensor, options: ForwardOptions = {}): Tensor {
    const fn = `${this.config.variant}.forward`;
    checkTensor(fn, 'x', x);
    checkOptions(fn, options, ['training', 'seed', 'trace', 'state']);
    const opts = { training: options.training ?? false, seed: options.seed ?? 0, trace: options.trace ?? (() => {}), state: options.state ?? this.state };
    if (!(opts.state instanceof ModelState)) throw new ValueError(`${fn}: state must be a ModelState (model.state, an EMA's state), got ${describeValue(opts.state)}`);
    if (opts.state.layout !== this.state.layout) throw new ValueError(`${this.config.variant}: forward's state has another layout than this model's`);
    if (x.rank !== 4 || x.shape[3] !== this.config.inChannels) {
      throw new ShapeError(`${this.config.variant}: expected NHWC images [N, H, W, ${this.config.inChannels}], got ${describeShape(x.shape)}`);
    }
    return this.architecture.run(opts.state, x, opts);
  }

  /** Class ids for images (evaluation mode, no gradient; on `state` when given, e.g. the EMA's). */
  async predict(x: Tensor, options?: { state?: ModelState }): Promise<Int32Array> {
    checkTensor(`${this.config.variant}.predict`, 'x', x);
    checkOptions(`${this.config.variant}.predict`, options, ['state']);
    // tidy: the intermediates of the forward pass are freed at once, only the logits survive.
    const logits = noGrad(() => tidy(() => this.forward(x, options)));
    const values = await logits.data();
    logits.dispose();
    const c = this.config.numClasses;
    return Int32Array.from({ length: values.length / c }, (_, i) => {
      let best = 0;
      for (let k = 1; k < c; k++) if (values[i * c + k]! > values[i * c + best]!) best = k;
      return best;
    });
  }

  /** Every layer at an input resolution (the config's test resolution by default). */
  plan(resolution = this.config.testResolution): LayerPlan[] {
    return this.architecture.plan(resolution);
  }

  parameterCount(): number {
    return this.state.parameterCount;
  }

  dispose(): void {
    this.state.dispose();
  }
}
