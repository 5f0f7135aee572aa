/**
 * Softmax cross-entropy with label smoothing, the NFNet training loss: mean over the batch
 * of −Σ t'·log softmax(logits), t' = (1 − ε)·t + ε/C (TF's smoothing rule). Forward and
 * backward are one fused kernel each (shaders/loss.wgsl); nothing is saved besides the
 * inputs, because the backward recomputes each row's log-sum-exp on the fly.
 */
import { defineOp } from '../autodiff/op.js';
import { checkTensors, type Tensor } from '../tensor/tensor.js';
import { checkOptions } from '../runtime/validate.js';
import { empty } from '../tensor/creation.js';
import { defineKernel } from '../runtime/kernel.js';
import { DTypeError, ShapeError, ValueError, describeShape } from '../runtime/errors.js';
import { assertF32, backend, linearGroups } from './util.js';
import lossWgsl from '../../shaders/loss.wgsl';
import { logSoftmax } from './softmax.js';
import { mul } from './binary.js';
import { mulScalar } from './unary.js';

const FORWARD = defineKernel('loss', lossWgsl, 'xent_forward');
const BACKWARD = defineKernel('loss', lossWgsl, 'xent_backward');

export interface CrossEntropyOptions {
  /** ε in [0, 1]: targets become (1 − ε)·t + ε/C. Default 0; NFNets train with 0.1. */
  labelSmoothing?: number;
}

export interface CrossEntropyAttrs {
  n: number;
  c: number;
  smoothing: number;
  dense: boolean;
}

function params(a: CrossEntropyAttrs) {
  return { n: a.n, c: a.c, smoothing: a.smoothing, inv_n: a.n ? 1 / a.n : 0 };
}

export const softmaxCrossEntropyOp = defineOp<CrossEntropyAttrs>({
  name: 'softmaxCrossEntropy',
  forward: ([logits, labels], a) => {
    const out = empty([]);
    backend().dispatch({
      kernel: FORWARD,
      bindings: { logits: logits!, labels: labels!, loss: out },
      params: params(a),
      overrides: { DENSE: a.dense ? 1 : 0 },
      workgroups: 1,
    });
    return { out, save: [logits!, labels!] };
  },
  backward: (dy, { saved: [logits, labels], attrs: a, needs }) => {
    let dlogits: Tensor | null = null;
    if (needs[0]) {
      dlogits = empty(logits!.shape);
      if (dlogits.size) {
        backend().dispatch({
          kernel: BACKWARD,
          bindings: { logits: logits!, labels: labels!, dy, dlogits },
          params: params(a),
          overrides: { DENSE: a.dense ? 1 : 0 },
          workgroups: linearGroups(a.n),
        });
      }
    }
    // Soft targets are differentiable too: d loss / d t = −(1 − ε)·log softmax(z) / n.
    const dlabels = needs[1] && a.dense ? mul(mulScalar(logSoftmax(logits!), -(1 - a.smoothing) / a.n), dy) : null;
    return [dlogits, dlabels];
  },
});

function validate(logits: Tensor, labels: Tensor, smoothing: number): boolean {
  checkTensors('softmaxCrossEntropy', { logits, labels });
  assertF32('softmaxCrossEntropy', logits);
  if (logits.rank !== 2 || logits.shape[1] === 0) {
    throw new ShapeError(`softmaxCrossEntropy: logits must be [N, C] with C >= 1, got ${describeShape(logits.shape)}`);
  }
  const [n, c] = logits.shape as [number, number];
  if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing <= 1)) {
    throw new ValueError(`softmaxCrossEntropy: labelSmoothing must be in [0, 1], got ${String(smoothing)}`);
  }
  if (labels.dtype === 'f32') {
    if (labels.rank !== 2 || labels.shape[0] !== n || labels.shape[1] !== c) {
      throw new ShapeError(`softmaxCrossEntropy: f32 labels must be one-hot or soft targets [${n}, ${c}] like the logits, got ${describeShape(labels.shape)}`);
    }
    return true;
  }
  if (labels.dtype !== 'i32') throw new DTypeError(`softmaxCrossEntropy: labels must be i32 class ids [N] or f32 targets [N, C], got ${labels.dtype}`);
  if (labels.rank !== 1 || labels.shape[0] !== n) {
    throw new ShapeError(`softmaxCrossEntropy: i32 class ids must be [${n}] for logits ${describeShape(logits.shape)}, got ${describeShape(labels.shape)}`);
  }
  return false;
}

/**
 * Mean softmax cross-entropy over the batch. `labels`: i32 class ids [N] (an id outside
 * [0, C) gives NaN) or f32 one-hot / soft targets [N, C].
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const { labelSmoothing } = checkOptions('softmaxCrossEntropy', options, ['labelSmoothing']);
  const smoothing = labelSmoothing === undefined ? 0 : labelSmoothing;
  const dense = validate(logits, labels, smoothing);
  const [n, c] = logits.shape as [number, number];
  return softmaxCrossEntropyOp([logits, labels], { n, c, smoothing, dense });
}
