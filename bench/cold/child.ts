/**
 * One cold start, in a fresh process (bench/cases/cold-start.ts spawns it per repetition):
 * from before the engine is loaded and initialised to the first result on the host, for
 * one training step or one inference. Prints one JSON line: { ms, initMs }.
 *
 *   node scripts/run-ts.mjs bench/cold/child.ts <ours|jax> <small|nano|F0> <step|infer> <batch> <res>
 *
 * The bench's process passes its environment on, VK_ICD_FILENAMES included (init() points
 * it at the software driver on a machine without a GPU) and NFNET_SOFTWARE_ADAPTER, so both
 * engines find the same adapter; run by hand on such a machine, set
 * VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (or lavapipe's lvp_icd.json).
 */
import type * as Jax from '@jax-js/jax';
import { hostRandn } from '../peers/layout.js';
import { NET_CLASSES, NET_RES, jaxLayout, jaxLoss, jaxNet, netParams, oneHot, oursNet } from '../peers/small-net.js';

const [engine, net, what, batchArg, resArg] = process.argv.slice(2) as [string, string, string, string, string];
const batch = Number(batchArg);
const res = Number(resArg);
const labels = Int32Array.from({ length: batch }, (_, i) => i % NET_CLASSES);

async function ours(): Promise<{ initMs: number }> {
  const t0 = performance.now();
  const nw = await import('../../src/index.js');
  await nw.init();
  const initMs = performance.now() - t0;
  if (net === 'small') {
    const p = netParams().map((q) => nw.tensor(q.data, q.shape));
    const x = nw.tensor(hostRandn(batch * NET_RES * NET_RES, 3), [batch, NET_RES, NET_RES, 1]);
    const y = nw.tensor(labels, [batch], 'i32');
    if (what === 'infer') {
      // The documented way to a fast first inference: build the forward's pipelines at once, in parallel (warmup()).
      await nw.warmup(() => oursNet(p, x));
      await nw.noGrad(() => oursNet(p, x)).data();
    }
    else {
      const [loss, [g]] = await nw.valueAndGrad((ps: InstanceType<typeof nw.Tensor>[]) => nw.ops.softmaxCrossEntropy(oursNet(ps, x), y))(p);
      nw.noGrad(() => p.map((w, i) => nw.ops.sub(w, nw.ops.mulScalar(g[i]!, 0.05))));
      await loss.data();
    }
    return { initMs };
  }
  const model = nw.nfnet.create(net, { numClasses: 10 });
  const channels = model.config.inChannels;
  const images = hostRandn(batch * res * res * channels, 3);
  if (what === 'infer') {
    await model.predict(nw.tensor(images, [batch, res, res, channels]));
  } else {
    const trainer = new nw.nfnet.Trainer(model, { totalSteps: 10 });
    await trainer.trainStep({ images, labels, shape: [batch, res, res, channels] });
  }
  return { initMs };
}

async function jax(): Promise<{ initMs: number }> {
  if (net !== 'small') throw new Error(`jax-js cold start: only the small net, not ${net}`);
  const t0 = performance.now();
  const { initJax, jaxArray } = await import('../peers/jax.js');
  const j = await initJax();
  const initMs = performance.now() - t0;
  const p = jaxLayout(netParams()).map((q) => jaxArray(j, q.data, q.shape));
  const x = jaxArray(j, hostRandn(batch * NET_RES * NET_RES, 3), [batch, 1, NET_RES, NET_RES]);
  if (what === 'infer') {
    await jaxNet(j, p, x).data();
  } else {
    const y = jaxArray(j, oneHot(labels), [batch, NET_CLASSES]);
    const lossFn = (ps: Jax.Array[], xv: Jax.Array, yv: Jax.Array) => jaxLoss(j, jaxNet(j, ps, xv), yv);
    const step = j.jax.jit((ps: Jax.Array[], xv: Jax.Array, yv: Jax.Array) => {
      const [loss, g] = j.jax.valueAndGrad(lossFn)(ps.map((a) => a.ref), xv, yv) as unknown as [Jax.Array, Jax.Array[]];
      return [loss, ps.map((w, i) => w.sub(g[i]!.mul(0.05)))];
    });
    const [loss] = step(p, x, y) as unknown as [Jax.Array, Jax.Array[]];
    await loss.data();
  }
  return { initMs };
}

const t0 = performance.now();
const { initMs } = engine === 'jax' ? await jax() : await ours();
console.log(JSON.stringify({ ms: performance.now() - t0, initMs }));
process.exit(0);
