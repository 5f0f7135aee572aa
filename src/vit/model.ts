/**
 * The Vision Transformer (Dosovitskiy et al. 2021) as timm builds it (VisionTransformer,
 * class token, learned position embedding, pre-norm blocks), assembled from the ops:
 *   tokens = patchify(x, p) · W_patch + b          (= timm's p×p stride-p conv)
 *   h = concat(cls_token, tokens) + pos_embed
 *   h = h + dropPath(attn(norm1(h)));  h = h + dropPath(mlp(norm2(h)))     × depth
 *   logits = head(norm(h)[class token])
 * attn: qkv linear → heads → softmax(q·kᵀ/√d)·v → proj; mlp: fc1 → exact GELU → fc2.
 * Every tensor is declared under timm's own name (cls_token, blocks.3.attn.qkv.weight, …) in
 * our layouts (linear weights (in, out)), so the timm mapping is a change of layout only.
 * Tokens run through the blocks as one [N·T, D] matrix (one GEMM per linear); attention
 * takes them as [N, heads, T, d].
 */
import type { Tensor } from '../tensor/tensor.js';
import { StateLayout, type ModelState, type StateRef } from '../state/model-state.js';
import * as ops from '../ops/index.js';
import { ShapeError, describeShape } from '../runtime/errors.js';
import { normal, seedFor, truncatedNormal } from '../nfnet/initializers.js';
import type { Architecture, ForwardOptions, LayerPlan } from '../models/model.js';
import { mlpHidden, tokenCount, validateConfig, type ViTConfig } from './config.js';
import { Declare, ones, zeros } from '../models/declare.js';

/** timm's ViT init: linear weights N(0, 0.02²) (its trunc_normal_ cuts at ±2, i.e. ±100σ: a plain normal). */
const vitNormal = (n: number, s: number) => normal(n, 0.02, s);
const size = (...refs: StateRef[]) => refs.reduce((t, r) => t + r.shape.reduce((a, b) => a * b, 1), 0);

class Linear {
  readonly w: StateRef;
  readonly b: StateRef;
  constructor(d: Declare, readonly name: string, readonly cin: number, readonly cout: number, init: (n: number, seed: number) => Float32Array = vitNormal) {
    this.w = d.param(`${name}.weight`, 'weight', [cin, cout], init);
    this.b = d.param(`${name}.bias`, 'bias', [cout], zeros);
  }

  forward(s: ModelState, x: Tensor): Tensor {
    return ops.linear(x, s.get(this.w), s.get(this.b));
  }

  plan(rows: number, stage: string, detail = `${this.cin}→${this.cout}`): LayerPlan {
    return { name: this.name, kind: 'linear', params: size(this.w, this.b), macs: rows * size(this.w), out: rows > 1 ? [rows, this.cout] : [this.cout], detail, stage };
  }
}

class LayerNorm {
  readonly w: StateRef;
  readonly b: StateRef;
  constructor(d: Declare, readonly name: string, readonly dim: number, private readonly eps: number) {
    this.w = d.param(`${name}.weight`, 'gain', [dim], ones);
    this.b = d.param(`${name}.bias`, 'bias', [dim], zeros);
  }

  forward(s: ModelState, x: Tensor): Tensor {
    return ops.layerNorm(x, s.get(this.w), s.get(this.b), { eps: this.eps });
  }

  plan(tokens: number, stage: string): LayerPlan {
    return { name: this.name, kind: 'norm', params: size(this.w, this.b), macs: 0, out: [tokens, this.dim], detail: `LayerNorm ε ${this.eps < 1e-3 ? this.eps.toExponential() : this.eps}`, stage };
  }
}

/** x + dropPath(attn(norm1(x))), then x + dropPath(mlp(norm2(x))). */
class Block {
  readonly norm1: LayerNorm;
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly norm2: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(d: Declare, readonly cfg: ViTConfig, readonly name: string, readonly stochDepthRate: number) {
    const dim = cfg.embedDim;
    const hidden = mlpHidden(cfg);
    this.norm1 = new LayerNorm(d, `${name}.norm1`, dim, cfg.layerNormEps);
    this.qkv = new Linear(d, `${name}.attn.qkv`, dim, 3 * dim);
    this.proj = new Linear(d, `${name}.attn.proj`, dim, dim);
    this.norm2 = new LayerNorm(d, `${name}.norm2`, dim, cfg.layerNormEps);
    this.fc1 = new Linear(d, `${name}.mlp.fc1`, dim, hidden);
    this.fc2 = new Linear(d, `${name}.mlp.fc2`, hidden, dim);
  }

  /** `x` is [N·T, D]. */
  forward(s: ModelState, x: Tensor, n: number, tokens: number, opts: Required<ForwardOptions>, seed: number): Tensor {
    const { embedDim: dim, numHeads: heads } = this.cfg;
    const d = dim / heads;
    // q, k, v from the thirds of qkv's weight and bias, each [N·T, D] → [N, heads, T, d]. Slicing
    // the (small) weight instead of the [N·T, 3D] product halves the step's gathers: slicing
    // the product costs a rank-5 permute and three slices forward, and three full-size pads
    // (the slices' gradients) and their sum backward (vit_nano_patch4_32 b16: gathers were 53%).
    const y = this.norm1.forward(s, x);
    const [q, k, v] = [0, 1, 2].map((i) => {
      const w = ops.slice(s.get(this.qkv.w), [0, i * dim], [dim, dim]);
      const b = ops.slice(s.get(this.qkv.b), [i * dim], [dim]);
      return ops.permute(ops.reshape(ops.linear(y, w, b), [n, tokens, heads, d]), [0, 2, 1, 3]);
    });
    const attended = ops.reshape(ops.permute(ops.attention(q!, k!, v!), [0, 2, 1, 3]), [n * tokens, dim]);
    x = ops.add(x, this.dropPath(this.proj.forward(s, attended), n, tokens, opts, seed));
    // fc1's bias goes into the activation kernel (one pass for bias + exact GELU).
    const hidden = ops.activation(ops.matmul(this.norm2.forward(s, x), s.get(this.fc1.w)), { kind: 'gelu_erf', gamma: 1, bias: s.get(this.fc1.b) });
    return ops.add(x, this.dropPath(this.fc2.forward(s, hidden), n, tokens, opts, seed + 1));
  }

  /** Drop-path drops whole samples: it sees the branch as [N, T·D]. */
  private dropPath(h: Tensor, n: number, tokens: number, opts: Required<ForwardOptions>, seed: number): Tensor {
    if (!opts.training || this.stochDepthRate === 0) return h;
    return ops.reshape(ops.dropPath(ops.reshape(h, [n, tokens * this.cfg.embedDim]), { rate: this.stochDepthRate, seed }), [n * tokens, this.cfg.embedDim]);
  }

  plan(tokens: number): LayerPlan[] {
    const { embedDim: dim, numHeads: heads } = this.cfg;
    const stage = 'blocks';
    return [
      this.norm1.plan(tokens, stage),
      this.qkv.plan(tokens, stage),
      // q·kᵀ and (softmax)·v: two T×T×D products per image.
      { name: `${this.name}.attn.sdpa`, kind: 'attention', params: 0, macs: 2 * tokens * tokens * dim, out: [tokens, dim], detail: `${heads} heads × ${dim / heads}`, stage },
      this.proj.plan(tokens, stage),
      this.norm2.plan(tokens, stage),
      this.fc1.plan(tokens, stage, `${dim}→${this.fc1.cout} GELU`),
      this.fc2.plan(tokens, stage),
    ];
  }
}

/** The network without its tensors: layers and the StateLayout they declared (no GPU). */
export class ViTArchitecture implements Architecture<ViTConfig> {
  /** The classifier, which AGC never clips. */
  readonly classifier = ['head.weight'];
  readonly layout: StateLayout;
  readonly config: ViTConfig;
  private readonly patchEmbed: Linear;
  private readonly clsToken: StateRef;
  private readonly posEmbed: StateRef;
  private readonly blocks: Block[];
  private readonly norm: LayerNorm;
  private readonly head: Linear;

  constructor(config: ViTConfig, seed = 0) {
    // Every way in (create, a checkpoint's or a timm file's config, one by hand) is checked here.
    this.config = validateConfig(config);
    const c = this.config;
    const d = new Declare(seed);
    const patchIn = c.patchSize * c.patchSize * c.inChannels;
    // The patch embedding is a conv in timm: fan-in (LeCun) normal, as timm's 'jax' init draws it.
    this.patchEmbed = new Linear(d, 'patch_embed.proj', patchIn, c.embedDim, (n, s) => truncatedNormal(n, patchIn, s));
    this.clsToken = d.param('cls_token', 'bias', [1, 1, c.embedDim], (n, s) => normal(n, 1e-6, s), null); // AGC: the whole token is one unit
    this.posEmbed = d.param('pos_embed', 'bias', [1, tokenCount(c), c.embedDim], vitNormal, null);
    this.blocks = Array.from({ length: c.depth }, (_, i) => new Block(d, c, `blocks.${i}`, c.depth > 1 ? (c.stochDepthRate * i) / (c.depth - 1) : 0));
    this.norm = new LayerNorm(d, 'norm', c.embedDim, c.layerNormEps);
    this.head = new Linear(d, 'head', c.embedDim, c.numClasses);
    this.layout = d.layout;
  }

  /** Refuse an input side the position embedding was not learned for (typed, before any GPU work). */
  private checkSide(side: number, what: string): void {
    const { patchSize: p, imageSize } = this.config;
    if (side % p !== 0) throw new ShapeError(`${this.config.variant}: ${what} is not a multiple of the patch size ${p} (a ViT cuts the image into whole ${p}×${p} patches)`);
    if (side !== imageSize) {
      throw new ShapeError(`${this.config.variant}: ${what}, but the position embedding is learned for ${imageSize}×${imageSize} inputs (${(imageSize / p) ** 2} patches); resize the images, or build the network with imageSize ${side}`);
    }
  }

  plan(resolution: number): LayerPlan[] {
    this.checkSide(resolution, `resolution ${resolution}`);
    const c = this.config;
    const tokens = tokenCount(c);
    const p = c.patchSize;
    return [
      this.patchEmbed.plan(tokens - 1, 'embed', `${p}×${p} s${p} patches, ${c.inChannels}→${c.embedDim}`),
      { name: 'cls_token', kind: 'embed', params: size(this.clsToken), macs: 0, out: [1, c.embedDim], detail: 'class token', stage: 'embed' },
      { name: 'pos_embed', kind: 'embed', params: size(this.posEmbed), macs: 0, out: [tokens, c.embedDim], detail: `position embedding, ${tokens} tokens`, stage: 'embed' },
      ...this.blocks.flatMap((b) => b.plan(tokens)),
      this.norm.plan(tokens, 'head'),
      this.head.plan(1, 'head', `class token ${c.embedDim}→${c.numClasses}`),
    ];
  }

  run(s: ModelState, x: Tensor, opts: Required<ForwardOptions>): Tensor {
    const c = this.config;
    const [n, h, w] = x.shape as [number, number, number, number];
    for (const side of [h, w]) this.checkSide(side, `input ${describeShape(x.shape)} is ${h}×${w}`);
    const tokens = tokenCount(c);
    const dim = c.embedDim;
    const patchIn = c.patchSize * c.patchSize * c.inChannels;
    // One GEMM over every patch of the batch: [N·(T − 1), p·p·C] · [p·p·C, D].
    const patches = ops.reshape(this.patchEmbed.forward(s, ops.reshape(ops.patchify(x, c.patchSize), [n * (tokens - 1), patchIn])), [n, tokens - 1, dim]);
    const cls = ops.broadcastTo(s.get(this.clsToken), [n, 1, dim]);
    let t = ops.reshape(ops.add(ops.concat([cls, patches], 1), s.get(this.posEmbed)), [n * tokens, dim]);
    opts.trace('embed', t);
    this.blocks.forEach((block) => {
      t = block.forward(s, t, n, tokens, opts, seedFor(opts.seed, block.name));
      opts.trace(block.name, t);
    });
    // timm norms every token and reads the class token; LayerNorm is per token, so norm that one only.
    const cls0 = ops.reshape(ops.slice(ops.reshape(t, [n, tokens, dim]), [0, 0, 0], [n, 1, dim]), [n, dim]);
    let pooled = this.norm.forward(s, cls0);
    if (opts.training && c.dropout > 0) pooled = ops.dropout(pooled, { rate: c.dropout, seed: seedFor(opts.seed, 'head') });
    return this.head.forward(s, pooled);
  }
}
