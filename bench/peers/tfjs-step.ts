/**
 * The training step every TF.js step peer shares (bench/peers/tfjs-{nfnet,resnet,
 * efficientnet,vit}.ts): softmax cross-entropy (label smoothing optional) of a network's
 * forward on a fixed random batch, gradients of every variable with `tf.variableGrads`, and
 * plain SGD momentum in tf ops (v ← μv + g; w ← w − lr·v); one loss readback per step, as
 * ours. A peer builds its variables and its forward and hands them here.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Runner } from '../registry.js';
import type { TfjsPeer } from './tfjs.js';

export interface TfjsStepSpec {
  /** The trainable variables. */
  vars: readonly TF.Variable[];
  /** Logits [batch, classes] for NHWC images. */
  forward: (images: TF.Tensor4D) => TF.Tensor;
  /** NHWC shape of the batch and the number of classes (labels i mod classes). */
  imageShape: [number, number, number, number];
  classes: number;
  lr: number;
  momentum: number;
  labelSmoothing?: number;
  /** Further tensors the peer made (e.g. running statistics), disposed with the runner. */
  owned?: readonly TF.Tensor[];
}

export function tfjsMomentumStep(peer: TfjsPeer, s: TfjsStepSpec): Runner & { paramCount: number } {
  const { tf } = peer;
  const velocity = s.vars.map((w) => tf.variable(tf.zerosLike(w), false, `${w.name}_v`));
  const images = tf.randomNormal(s.imageShape, 0, 1, 'float32', 99) as TF.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: s.imageShape[0] }, (_, i) => i % s.classes), 'int32'), s.classes);
  const vars = [...s.vars];
  let pending: Promise<unknown> | null = null;
  return {
    paramCount: vars.reduce((n, v) => n + v.size, 0),
    run() {
      const loss = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, s.forward(images), undefined, s.labelSmoothing ?? 0) as TF.Scalar, vars);
        vars.forEach((w, i) => {
          const v = velocity[i]!;
          v.assign(tf.add(tf.mul(v, s.momentum), grads[w.name]!));
          w.assign(tf.sub(w, tf.mul(v, s.lr)));
        });
        return value;
      });
      pending = loss.data().then(() => loss.dispose());
    },
    async sync() {
      await pending;
      await peer.sync();
    },
    dispose() {
      for (const t of [...vars, ...velocity, ...(s.owned ?? [])]) t.dispose();
      images.dispose();
      labels.dispose();
    },
  };
}
