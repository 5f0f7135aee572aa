/** `nfnet export-timm`: a checkpoint's weights as a timm state dict (safetensors) for PyTorch. */
import { init } from '../runtime/init.js';
import { writeFileAtomic } from '../io/files.js';
import { modelFromCheckpoint } from '../nfnet/checkpoint.js';
import { loadCheckpoint } from '../nfnet/checkpoint-node.js';
import { exportTimm } from '../models/timm.js';
import { familyOfConfig } from '../models/registry.js';
import { ValueError } from '../runtime/errors.js';

export interface ExportTimmArgs {
  checkpoint: string;
  out: string;
  /** Export the EMA weights when the checkpoint has them (default). */
  ema: boolean;
}

export async function exportTimmFile(o: ExportTimmArgs) {
  const ck = loadCheckpoint(o.checkpoint);
  const family = familyOfConfig(ck.config);
  if (!family.timm) throw new ValueError(`export-timm: the ${family.name} family has no timm counterpart`);
  const builder = family.timm.builder(ck.config); // refuses before any GPU work when timm cannot build it
  const gpu = await init();
  const useEma = o.ema && ck.ema.size > 0;
  const model = modelFromCheckpoint(ck, { useEma });
  try {
    const bytes = await exportTimm(model);
    writeFileAtomic(o.out, bytes);
    return { variant: ck.config.variant, params: model.parameterCount(), weights: useEma ? 'EMA' : 'live', out: o.out, bytes: bytes.length, timm: builder.code, timmKwargs: builder.kwargs, numClasses: ck.config.numClasses, inChannels: ck.config.inChannels };
  } finally {
    model.dispose();
    await gpu.dispose();
  }
}
