/**
 * The other NFNet kernels (gelu forward / backward, 2×2 average pool, softmax cross-entropy
 * with label smoothing, scaled weight standardization) with TF.js equivalents, and the
 * multi-tensor optimizer step.
 *
 * Backward rows of ours call the op's backward rule directly (no forward timed); TF.js has
 * no public backward kernel for these, so its side is `tf.grad` (forward + backward), as
 * TF.js users must — the note on each row says so.
 */
import type * as TF from '@tensorflow/tfjs';
import { randn, tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { valueAndGrad } from '../../src/autodiff/grad.js';
import { activation, activationOp, GAMMA } from '../../src/ops/activation.js';
import { avgPool } from '../../src/ops/pool.js';
import { softmaxCrossEntropy } from '../../src/ops/loss.js';
import { weightStandardize } from '../../src/ops/weight-standardize.js';
import { sgdAgc } from '../../src/optim/sgd-agc.js';
import { planBlocks, type BlockPlan } from '../../src/nfnet/plan.js';
import { variantConfig } from '../../src/nfnet/variants.js';
import { oursRunner, register, withCpuReference, type BenchCase, type Runner } from '../registry.js';
import { tfjsRunner, type TfjsPeer } from '../peers/tfjs.js';

const ACT: [number, number, number, number] = [8, 32, 32, 128]; // 1M elements, the conv rows' activations
const ACT_N = ACT.reduce((a, b) => a * b, 1);
const SQRT_2_PI = Math.sqrt(2 / Math.PI);

/** gelu (tanh form) · γ in TF.js ops. */
export function tfGelu(tf: typeof TF, x: TF.Tensor, gamma: number): TF.Tensor {
  const inner = tf.mul(SQRT_2_PI, tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x))));
  return tf.mul(tf.mul(x, 0.5 * gamma), tf.add(1, tf.tanh(inner)));
}

/** Scaled WS in TF.js ops: gain·(W − mean)/sqrt(max(N·var, 1e-4)) over all axes but the last. */
export function tfWs(tf: typeof TF, w: TF.Tensor, gain: TF.Tensor): TF.Tensor {
  const axes = w.shape.slice(0, -1).map((_, i) => i);
  const fanIn = w.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const { mean, variance } = tf.moments(w, axes, true);
  return tf.mul(tf.sub(w, mean), tf.mul(tf.rsqrt(tf.maximum(tf.mul(variance, fanIn), 1e-4)), gain));
}

const gelu: BenchCase[] = [
  {
    name: 'gelu/8x32x32x128/fwd',
    group: 'nfnet-ops',
    flops: 10 * ACT_N,
    bytes: 8 * ACT_N,
    reps: 5,
    peerReps: 3,
    note: 'TF.js: the tanh-form gelu as a chain of tf ops (no fused gelu in TF.js)',
    async ours({ gpu }) {
      const x = randn(ACT, { seed: 1 });
      return oursRunner(gpu, () => activation(x, { kind: 'gelu' }).dispose(), () => x.dispose());
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const x = tf.randomNormal(ACT, 0, 1, 'float32', 1);
      return tfjsRunner(tfjs, () => tf.tidy(() => tfGelu(tf, x, GAMMA.gelu)), () => x.dispose());
    },
  },
  {
    name: 'gelu/8x32x32x128/bwd',
    group: 'nfnet-ops',
    flops: 20 * ACT_N,
    bytes: 12 * ACT_N,
    reps: 5,
    peerReps: 3,
    note: 'ours: the backward kernel alone; TF.js: tf.grad of the op chain (forward + backward)',
    async ours({ gpu }) {
      const x = randn(ACT, { seed: 1 });
      const dy = randn(ACT, { seed: 2 });
      const attrs = { kind: 'gelu' as const, gamma: GAMMA.gelu, hasBias: false };
      const rule = activationOp.spec.backward as (dy: Tensor, ctx: unknown) => readonly (Tensor | null)[];
      const run = () => {
        for (const t of rule(dy, { saved: [x], inputs: [x], attrs, needs: [true] })) t?.dispose();
      };
      return oursRunner(gpu, run, () => {
        x.dispose();
        dy.dispose();
      });
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const x = tf.randomNormal(ACT, 0, 1, 'float32', 1);
      const dy = tf.randomNormal(ACT, 0, 1, 'float32', 2);
      const g = tf.grad((t: TF.Tensor) => tfGelu(tf, t, GAMMA.gelu));
      return tfjsRunner(tfjs, () => g(x, dy), () => {
        x.dispose();
        dy.dispose();
      });
    },
  },
];

const POOL_N = ACT_N;
const pool: BenchCase = {
  name: 'avgPool2x2/8x32x32x128/fwd',
  group: 'nfnet-ops',
  flops: POOL_N,
  bytes: 4 * POOL_N + POOL_N,
  reps: 5,
  peerReps: 3,
  async ours({ gpu }) {
    const x = randn(ACT, { seed: 1 });
    return oursRunner(gpu, () => avgPool(x, { size: 2, stride: 2, padding: 'SAME' }).dispose(), () => x.dispose());
  },
  async peer({ tfjs }) {
    const { tf } = tfjs;
    const x = tf.randomNormal(ACT, 0, 1, 'float32', 1) as TF.Tensor4D;
    return tfjsRunner(tfjs, () => tf.avgPool(x, 2, 2, 'same'), () => x.dispose());
  },
};

const CE_N = 256;
const CE_C = 1000;
const ce: BenchCase = {
  name: `softmaxCE/${CE_N}x${CE_C}/fwd+bwd`,
  group: 'nfnet-ops',
  flops: 8 * CE_N * CE_C,
  bytes: 8 * CE_N * CE_C,
  reps: 5,
  peerReps: 3,
  note: 'label smoothing 0.1, loss + dlogits; ours valueAndGrad, TF.js tf.grad of tf.losses.softmaxCrossEntropy',
  async ours({ gpu }) {
    const logits = randn([CE_N, CE_C], { seed: 1 });
    const labels = tensor(Int32Array.from({ length: CE_N }, (_, i) => (i * 7) % CE_C), [CE_N]);
    const f = valueAndGrad((l: Tensor) => softmaxCrossEntropy(l, labels, { labelSmoothing: 0.1 }));
    const runner: Runner = {
      async run() {
        const [loss, [g]] = await f(logits);
        loss.dispose();
        g.dispose();
      },
      sync: () => gpu.sync(),
      dispose() {
        logits.dispose();
        labels.dispose();
      },
    };
    return runner;
  },
  async peer({ tfjs }) {
    const { tf } = tfjs;
    const logits = tf.randomNormal([CE_N, CE_C], 0, 1, 'float32', 1);
    const onehot = tf.oneHot(tf.tensor1d(Array.from({ length: CE_N }, (_, i) => (i * 7) % CE_C), 'int32'), CE_C);
    const g = tf.valueAndGrad((l: TF.Tensor) => tf.losses.softmaxCrossEntropy(onehot, l, undefined, 0.1) as TF.Scalar);
    return tfjsRunner(tfjs, () => tf.tidy(() => {
      const { value, grad } = g(logits);
      return tf.add(grad, value);
    }), () => {
      logits.dispose();
      onehot.dispose();
    });
  },
};

// The grouped 3×3 conv weight of an F0 stage-2 block: [3, 3, 128, 768].
const WS_SHAPE = [3, 3, 128, 768];
const WS_N = WS_SHAPE.reduce((a, b) => a * b, 1);
const ws: BenchCase[] = [
  {
    name: 'weightStd/3x3x128x768/fwd',
    group: 'nfnet-ops',
    flops: 6 * WS_N,
    bytes: 8 * WS_N,
    reps: 5,
    peerReps: 3,
    note: 'TF.js: tf.moments + elementwise ops',
    async ours({ gpu }) {
      const w = randn(WS_SHAPE, { seed: 1 });
      const gain = randn([768], { seed: 2, mean: 1, std: 0.1 });
      return oursRunner(gpu, () => weightStandardize(w, gain).dispose(), () => {
        w.dispose();
        gain.dispose();
      });
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const w = tf.randomNormal(WS_SHAPE, 0, 1, 'float32', 1);
      const gain = tf.randomNormal([768], 1, 0.1, 'float32', 2);
      return tfjsRunner(tfjs, () => tf.tidy(() => tfWs(tf, w, gain)), () => {
        w.dispose();
        gain.dispose();
      });
    },
  },
  {
    name: 'weightStd/3x3x128x768/fwd+bwd',
    group: 'nfnet-ops',
    flops: 16 * WS_N,
    bytes: 16 * WS_N,
    reps: 3,
    peerReps: 2,
    note: 'gradient of Σ Ŵ·dY w.r.t. W and gain; ours valueAndGrad, TF.js tf.grads',
    async ours({ gpu }) {
      const w = randn(WS_SHAPE, { seed: 1 });
      const gain = randn([768], { seed: 2, mean: 1, std: 0.1 });
      const dy = randn(WS_SHAPE, { seed: 3 });
      const { mul } = await import('../../src/ops/binary.js');
      const { sum } = await import('../../src/ops/reduce.js');
      const f = valueAndGrad((a: Tensor, b: Tensor) => sum(mul(weightStandardize(a, b), dy)));
      return {
        async run() {
          const [loss, ga, gb] = await f(w, gain).then(([l, g]) => [l, ...g] as Tensor[]);
          for (const t of [loss!, ga!, gb!]) t.dispose();
        },
        sync: () => gpu.sync(),
        dispose() {
          for (const t of [w, gain, dy]) t.dispose();
        },
      };
    },
    async peer({ tfjs }) {
      const { tf } = tfjs;
      const w = tf.randomNormal(WS_SHAPE, 0, 1, 'float32', 1);
      const gain = tf.randomNormal([768], 1, 0.1, 'float32', 2);
      const dy = tf.randomNormal(WS_SHAPE, 0, 1, 'float32', 3);
      const g = tf.grads((a: TF.Tensor, b: TF.Tensor) => tf.sum(tf.mul(tfWs(tf, a, b), dy)));
      return tfjsRunner(tfjs, () => tf.tidy(() => {
        const [ga, gb] = g([w, gain]);
        return tf.add(tf.sum(ga!), gb!);
      }), () => {
        for (const t of [w, gain, dy]) t.dispose();
      });
    },
  },
];

// ---------------------------------------------------------------------------------------
// Multi-tensor optimizer step.

interface ParamShape {
  name: string;
  shape: number[];
  kind: 'weight' | 'gain';
  layout: 'HWIO' | 'IO' | 'whole';
}

/** The parameter shapes of one NF block, named as the model names them. */
function blockParams(b: BlockPlan, name: string): ParamShape[] {
  const out: ParamShape[] = [];
  const conv = (n: string, k: number, cin: number, cout: number, groups = 1) => {
    out.push({ name: `${n}.weight`, shape: [k, k, cin / groups, cout], kind: 'weight', layout: 'HWIO' });
    out.push({ name: `${n}.gain`, shape: [cout], kind: 'gain', layout: 'whole' });
    out.push({ name: `${n}.bias`, shape: [cout], kind: 'gain', layout: 'whole' });
  };
  if (b.projection) conv(`${name}.shortcut`, 1, b.inChannels, b.outChannels);
  conv(`${name}.conv0`, 1, b.inChannels, b.midChannels);
  conv(`${name}.conv1`, 3, b.midChannels, b.midChannels, b.groups);
  conv(`${name}.conv1b`, 3, b.midChannels, b.midChannels, b.groups);
  conv(`${name}.conv2`, 1, b.midChannels, b.outChannels);
  if (b.seHidden) {
    out.push({ name: `${name}.se.fc0.weight`, shape: [b.outChannels, b.seHidden], kind: 'weight', layout: 'IO' });
    out.push({ name: `${name}.se.fc0.bias`, shape: [b.seHidden], kind: 'gain', layout: 'whole' });
    out.push({ name: `${name}.se.fc1.weight`, shape: [b.seHidden, b.outChannels], kind: 'weight', layout: 'IO' });
    out.push({ name: `${name}.se.fc1.bias`, shape: [b.outChannels], kind: 'gain', layout: 'whole' });
  }
  out.push({ name: `${name}.skipGain`, shape: [], kind: 'gain', layout: 'whole' });
  return out;
}

/** Parameter shapes of a whole variant (stem, blocks, head) or of one stage's blocks. */
export function paramShapes(variant: string, stage?: number): ParamShape[] {
  const c = variantConfig(variant);
  const out: ParamShape[] = [];
  if (stage === undefined) {
    let ch = c.inChannels;
    c.stem.forEach((s, i) => {
      out.push({ name: `stem.conv${i}.weight`, shape: [s.kernel, s.kernel, ch, s.channels], kind: 'weight', layout: 'HWIO' });
      out.push({ name: `stem.conv${i}.gain`, shape: [s.channels], kind: 'gain', layout: 'whole' });
      out.push({ name: `stem.conv${i}.bias`, shape: [s.channels], kind: 'gain', layout: 'whole' });
      ch = s.channels;
    });
  }
  for (const b of planBlocks(c)) if (stage === undefined || b.stage === stage) out.push(...blockParams(b, `stages.${b.stage}.block${b.index}`));
  if (stage === undefined) {
    const last = c.widths[c.widths.length - 1]!;
    const head = last * (c.finalConvMult || 1);
    if (c.finalConvMult) {
      out.push({ name: 'head.conv.weight', shape: [1, 1, last, head], kind: 'weight', layout: 'HWIO' });
      out.push({ name: 'head.conv.gain', shape: [head], kind: 'gain', layout: 'whole' });
      out.push({ name: 'head.conv.bias', shape: [head], kind: 'gain', layout: 'whole' });
    }
    out.push({ name: 'head.fc.weight', shape: [head, c.numClasses], kind: 'weight', layout: 'IO' });
    out.push({ name: 'head.fc.bias', shape: [c.numClasses], kind: 'gain', layout: 'whole' });
  }
  return out;
}

/**
 * Bytes one sgdAgc step moves per parameter element. The parameters live in the
 * optimizer's flat region (adopted), so only the grads are gathered (read + write: 8); then
 * the step kernel's norm pass (read w, g: 8) and update pass (read w, g, v; write w, v:
 * 20) = 36 bytes. The unit→tensor and tensor tables are negligible and not counted.
 */
export const OPTIM_BYTES_PER_ELEMENT = 36;

/**
 * `latencyBound`: too small for the 16 MB copy probe's GB/s (nano: 29k parameters, 1.5 MB
 * a step); its target is a share of the copy probe moving the same bytes (docs/bench.md).
 */
function optimCase(label: string, shapes: ParamShape[], reps: number, { fullOnly = false, latencyBound = false } = {}): BenchCase {
  const n = shapes.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  return {
    name: `sgdAgc/${label}`,
    group: 'optimizer',
    flops: 12 * n,
    bytes: OPTIM_BYTES_PER_ELEMENT * n,
    reps,
    peerReps: reps,
    fullOnly,
    targets: [{ kind: latencyBound ? 'pctCopyAtSize' : 'pctRoofline', min: 50 }],
    note: `${shapes.length} tensors, ${(n / 1e6).toFixed(2)}M parameters; GB/s counts ${OPTIM_BYTES_PER_ELEMENT} B/element (gather g 8 + norm pass r w,g 8 + update r w,g,v w w,v 20; the weights live in the optimizer's region); TF.js: tf.train.momentum (Nesterov, no AGC / weight decay)`,
    async ours({ gpu }) {
      const params = shapes.map((p, i) => ({ ...p, tensor: randn(p.shape, { seed: i + 1, std: 0.05 }) }));
      const grads = shapes.map((p, i) => randn(p.shape, { seed: 1000 + i, std: 0.01 }));
      const opt = sgdAgc(params, { lr: 1e-6, momentum: 0.9, nesterov: true, weightDecay: 2e-5, clipping: 0.01 });
      return oursRunner(gpu, () => opt.step(grads), () => {
        opt.dispose();
        for (const t of [...params.map((p) => p.tensor), ...grads]) t.dispose();
      });
    },
    async peer({ tfjs }) {
      return tfjsOptim(tfjs, shapes);
    },
  };
}

function tfjsOptim(tfjs: TfjsPeer, shapes: ParamShape[]): Runner {
  const { tf } = tfjs;
  const vars = shapes.map((p, i) => tf.variable(tf.randomNormal(p.shape, 0, 0.05, 'float32', i + 1), true, `v${i}_${p.name}`));
  const grads: Record<string, TF.Tensor> = {};
  shapes.forEach((p, i) => (grads[vars[i]!.name] = tf.randomNormal(p.shape, 0, 0.01, 'float32', 1000 + i)));
  const opt = tf.train.momentum(1e-6, 0.9, true);
  return {
    run() {
      opt.applyGradients(grads as unknown as Parameters<typeof opt.applyGradients>[0]);
    },
    sync: () => tfjs.sync(),
    dispose() {
      opt.dispose();
      for (const v of vars) v.dispose();
      for (const g of Object.values(grads)) g.dispose();
    },
  };
}

const f0 = variantConfig('F0');
const f0Stage2 = planBlocks(f0).filter((b) => b.stage === 2);
register(
  // TF.js cpu reference points: the cheap rows in every run; gelu bwd and WS fwd+bwd (1–3 s
  // a call on the cpu backend) and the F0 optimizer block with --full.
  ...withCpuReference('quick', gelu[0]!, pool, ce, ws[0]!, optimCase('nano', paramShapes('nano'), 5, { latencyBound: true })),
  ...withCpuReference('full', gelu[1]!, ws[1]!, optimCase('F0-stage2-block1', blockParams(f0Stage2[1]!, 'stages.2.block1'), 2)),
  optimCase('F0-stage2', paramShapes('F0', 2), 3, { fullOnly: true }),
);
