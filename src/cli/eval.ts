/** `nfnet eval`: a checkpoint's test accuracy, with the EMA weights when it has them. */
import { init } from '../runtime/init.js';
import { DataLoader, channelStats } from '../data/loader.js';
import { modelFromCheckpoint } from '../nfnet/checkpoint.js';
import { loadCheckpoint } from '../nfnet/checkpoint-node.js';
import { evaluate } from '../nfnet/train.js';
import { loadSplits, type DataArgs } from './datasets.js';

export async function evaluateCheckpoint(o: DataArgs & { checkpoint: string; ema: boolean; tta?: boolean }) {
  const ck = loadCheckpoint(o.checkpoint);
  const gpu = await init();
  const { train, test } = loadSplits({ ...o, subset: undefined });
  const loader = new DataLoader(test, { batchSize: 250, keepLast: true, ...channelStats(train) });
  const useEma = o.ema && ck.ema.size > 0;
  const model = modelFromCheckpoint(ck, { useEma });
  const flip = o.tta === true;
  const r = await evaluate(model, loader, { flip });
  model.dispose();
  await gpu.dispose();
  return { variant: ck.config.variant, step: ck.step, weights: useEma ? 'EMA' : 'live', tta: flip, ...r };
}
