/**
 * fusedConv2d: y = gamma · act(conv2d(x, w) + bias), the conv + bias + activation of a
 * conv net's layer in one call (TF.js's `tf.fused.conv2d` plays the same part).
 *
 * Results equal `activation(conv2d(x, w, o), { kind, gamma, bias })` (float32 rounding
 * aside), and so do gradients: while a gradient is being recorded through x, w or bias it
 * *is* those two ops. Otherwise (inference, `noGrad`) the kernels that have a fused
 * epilogue apply it in their store (epilogue.ts: the quad-shared direct and small-channel
 * forwards on SwiftShader), one dispatch and one pass over the output fewer;
 * the other algorithms run the activation kernel after the conv.
 */
import { defineOp, notDifferentiable } from '../../autodiff/op.js';
import { activeTape } from '../../autodiff/tape.js';
import { checkTensor, type Tensor } from '../../tensor/tensor.js';
import { ShapeError, ValueError, describeShape } from '../../runtime/errors.js';
import { checkOneOf, checkOptions, describeValue } from '../../runtime/validate.js';
import { activation, GAMMA, type ActivationKind } from '../activation.js';
import { add } from '../binary.js';
import { assertF32 } from '../util.js';
import { convAlgorithm } from './algorithms.js';
import { directForward } from './direct.js';
import { smallForward } from './small.js';
import { CONV2D_OPTIONS, convGeometry, type Conv2dOptions } from './geometry.js';
import { convTuning } from './tuning.js';
import { checkConv2d, conv2d } from './index.js';
import { applyEpilogue } from './epilogue.js';

export interface FusedConv2dOptions extends Conv2dOptions {
  /** Per output channel, [cout]; none by default. */
  bias?: Tensor;
  /** The activation; 'identity' (none) by default. */
  activation?: ActivationKind;
  /** Output scale; GAMMA[activation] by default, as for `activation` (pass 1 for the plain activation). */
  gamma?: number;
}

export const FUSED_OPTIONS = [...CONV2D_OPTIONS, 'bias', 'activation', 'gamma'] as const;

export interface FusedAttrs {
  conv: Conv2dOptions;
  kind: ActivationKind;
  gamma: number;
}

/** The forwards that take an epilogue (and apply it in their kernel where they can); the other algorithms' outputs go through `applyEpilogue`. */
const WITH_EPILOGUE = new Map([['direct', directForward], ['small', smallForward]]);

/** Inference only (fusedConv2d takes the two differentiable ops while a gradient is recorded). */
export const fusedConv2dOp = defineOp<FusedAttrs>({
  name: 'fusedConv2d',
  forward: ([x, w, bias], a) => {
    const g = convGeometry(x!, w!, a.conv);
    const t = convTuning(a.conv.tuning);
    const algorithm = convAlgorithm('forward', g, t);
    const epilogue = { kind: a.kind, gamma: a.gamma, bias };
    const run = WITH_EPILOGUE.get(algorithm.name);
    return { out: run ? run(x!, w!, g, t, epilogue) : applyEpilogue(algorithm.run(x!, w!, g, t), epilogue) };
  },
  backward: notDifferentiable,
});

function checkBias(fn: string, bias: unknown, cout: number): Tensor | undefined {
  if (bias === undefined) return undefined;
  const b = checkTensor(fn, 'bias', bias);
  assertF32(fn, b);
  if (b.rank !== 1 || b.size !== cout) throw new ShapeError(`${fn}: bias must be a vector of the ${cout} output channels, got ${describeShape(b.shape)}`);
  return b;
}

/** fusedConv2d's options, checked (the conv's own, the activation, its scale and the bias). */
export interface FusedConv2dChecked {
  conv: Conv2dOptions;
  kind: ActivationKind;
  gamma: number;
  bias?: Tensor;
}

/**
 * Checks fusedConv2d's inputs and options before any GPU work (`fn` names the public entry
 * in the messages: wsConv2d checks its own this way before standardizing the weights).
 */
export function checkFusedConv2d(fn: string, x: unknown, w: unknown, options: FusedConv2dOptions | undefined): FusedConv2dChecked {
  const { bias, activation: kind = 'identity', gamma, ...rest } = checkOptions(fn, options, FUSED_OPTIONS);
  const conv = checkConv2d(fn, x, w, rest);
  checkOneOf(fn, 'activation', kind, Object.keys(GAMMA) as ActivationKind[]);
  const scale = gamma ?? GAMMA[kind];
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new ValueError(`${fn}: gamma must be a finite number, got ${describeValue(scale)}`);
  return { conv, kind, gamma: scale, bias: checkBias(fn, bias, (w as Tensor).shape[3]!) };
}

/**
 * y = gamma · act(conv2d(x, w, options) + bias): x NHWC, w HWIO, bias [cout].
 *
 *   fusedConv2d(x, w, { stride: 2, padding: 'SAME', bias, activation: 'relu', gamma: 1 })
 */
export function fusedConv2d(x: Tensor, w: Tensor, options?: FusedConv2dOptions): Tensor {
  return fusedConv2dChecked(x, w, checkFusedConv2d('fusedConv2d', x, w, options));
}

/** fusedConv2d on checked options. */
export function fusedConv2dChecked(x: Tensor, w: Tensor, f: FusedConv2dChecked): Tensor {
  const { conv, kind, gamma, bias } = f;
  const plain = kind === 'identity' && gamma === 1;
  if (plain && !bias) return conv2d(x, w, conv);
  const tape = activeTape();
  if (tape && [x, w, bias].some((t) => t && tape.tracked.has(t))) {
    // A plain bias is an add: its backward passes dy through, where the activation
    // kernel's would copy it.
    const y = conv2d(x, w, conv);
    return plain ? add(y, bias!) : activation(y, { kind, gamma, bias });
  }
  return fusedConv2dOp(bias ? [x, w, bias] : [x, w], { conv, kind, gamma });
}
