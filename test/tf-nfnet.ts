/**
 * An independent NFNet forward pass in TF.js (CPU backend), written from the paper's
 * description with TF ops only — WS via tf.moments, grouped conv by split + conv + concat,
 * TF's own SAME padding and average pooling — to cross-check our GPU model.
 */
import * as tf from '@tensorflow/tfjs';
import type { NFNetConfig } from '../src/nfnet/variants.js';
import { planBlocks } from '../src/nfnet/plan.js';

const GAMMA: Record<string, number> = {
  relu: 1.7139588594436646, gelu: 1.7015043497085571, silu: 1.7881293296813965,
  tanh: 1.5939117670059204, sigmoid: 4.803835391998291, identity: 1,
};

function act(kind: string, x: tf.Tensor): tf.Tensor {
  const raw = {
    relu: () => tf.relu(x),
    gelu: () => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))),
    silu: () => tf.mul(x, tf.sigmoid(x)),
    tanh: () => tf.tanh(x),
    sigmoid: () => tf.sigmoid(x),
    identity: () => x,
  }[kind]!();
  return tf.mul(raw, GAMMA[kind]!);
}

type Weights = Map<string, tf.Tensor>;

function wsconv(p: Weights, name: string, x: tf.Tensor4D, stride: number, groups: number): tf.Tensor4D {
  const w = p.get(`${name}.weight`)! as tf.Tensor4D;
  const fanIn = w.shape[0] * w.shape[1] * w.shape[2];
  const { mean, variance } = tf.moments(w, [0, 1, 2], true);
  const scale = tf.mul(tf.rsqrt(tf.maximum(tf.mul(variance, fanIn), 1e-4)), p.get(`${name}.gain`)!);
  const wh = tf.mul(tf.sub(w, mean), scale) as tf.Tensor4D;
  const conv = (xi: tf.Tensor4D, wi: tf.Tensor4D) => tf.conv2d(xi, wi, stride, 'same');
  const y =
    groups === 1
      ? conv(x, wh)
      : tf.concat(tf.split(x, groups, 3).map((xi, g) => conv(xi as tf.Tensor4D, tf.split(wh, groups, 3)[g] as tf.Tensor4D)), 3);
  return tf.add(y, p.get(`${name}.bias`)!) as tf.Tensor4D;
}

function linear(p: Weights, name: string, x: tf.Tensor): tf.Tensor {
  return tf.add(tf.matMul(x as tf.Tensor2D, p.get(`${name}.weight`)! as tf.Tensor2D), p.get(`${name}.bias`)!);
}

/** Logits of an NFNet (evaluation mode) given its config and weights by our parameter names. */
export function tfNfnetForward(c: NFNetConfig, p: Weights, images: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => {
    let h = images;
    c.stem.forEach((s, i) => {
      h = wsconv(p, `stem.conv${i}`, h, s.stride, 1);
      if (i < c.stem.length - 1) h = act(c.activation, h) as tf.Tensor4D;
    });
    for (const b of planBlocks(c)) {
      const name = `stages.${b.stage}.block${b.index}`;
      const pre = tf.mul(act(c.activation, h), b.beta) as tf.Tensor4D;
      let shortcut: tf.Tensor4D = h;
      if (b.projection) {
        const src = b.transition ? tf.avgPool(pre, 2, 2, 'same') : pre;
        shortcut = wsconv(p, `${name}.shortcut`, src, b.transition ? 1 : b.stride, 1);
      }
      let r = wsconv(p, `${name}.conv0`, pre, 1, 1);
      r = wsconv(p, `${name}.conv1`, act(c.activation, r) as tf.Tensor4D, b.stride, b.groups);
      r = wsconv(p, `${name}.conv1b`, act(c.activation, r) as tf.Tensor4D, 1, b.groups);
      r = wsconv(p, `${name}.conv2`, act(c.activation, r) as tf.Tensor4D, 1, 1);
      if (b.seHidden) {
        const s = tf.sigmoid(linear(p, `${name}.se.fc1`, tf.relu(linear(p, `${name}.se.fc0`, tf.mean(r, [1, 2])))));
        r = tf.mul(tf.mul(r, tf.reshape(s, [r.shape[0], 1, 1, r.shape[3]])), 2) as tf.Tensor4D;
      }
      h = tf.add(tf.mul(r, tf.mul(p.get(`${name}.skipGain`)!, b.alpha)), shortcut) as tf.Tensor4D;
    }
    h = wsconv(p, 'head.conv', h, 1, 1);
    return linear(p, 'head.fc', tf.mean(act(c.activation, h), [1, 2]));
  });
}
