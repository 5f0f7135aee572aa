/**
 * Checkpoints in safetensors: parameters (`param/<name>`), optimizer momentum
 * (`momentum/<name>`), EMA (`ema/<name>`), and in the metadata the model config, the step,
 * the training options and the data loader's RNG state. Loading checks every tensor's
 * presence and shape before writing any of them, so a mismatched file changes nothing.
 */
import { assign, tensor } from '../autodiff/creation.js';
import type { Tensor } from '../autodiff/tensor.js';
import { ShapeError } from '../runtime/errors.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors, toFloat32, type HostTensor } from '../io/safetensors.js';
import type { LoaderState } from '../data/loader.js';
import { NFNet } from './model.js';
import type { Trainer } from './train.js';
import { withNumerics, type NFNetConfig } from './variants.js';

export const CHECKPOINT_FORMAT = 'nfnet-webgpu/1';

export interface CheckpointMeta {
  config: NFNetConfig;
  step: number;
  trainOptions?: Trainer['options'];
  loader?: LoaderState & { batchInEpoch: number };
  /** Free-form extras (e.g. the CLI's arguments). */
  extra?: Record<string, unknown>;
}

export interface Checkpoint extends CheckpointMeta {
  params: Map<string, Float32Array>;
  momentum: Map<string, Float32Array>;
  ema: Map<string, Float32Array>;
  shapes: Map<string, number[]>;
}

const host = (t: Tensor, data: Float32Array | Int32Array | Uint32Array): HostTensor => ({ dtype: 'F32', shape: [...t.shape], data });

/** Serialise a model (and its trainer's optimizer/EMA state when given). */
export async function encodeCheckpoint(model: NFNet, trainer?: Trainer, meta: Omit<CheckpointMeta, 'config' | 'step' | 'trainOptions'> = {}): Promise<Uint8Array> {
  const tensors: Record<string, HostTensor> = {};
  for (const p of model.parameters) tensors[`param/${p.name}`] = host(p.value, await p.value.data());
  if (trainer) {
    const momentum = await trainer.optimizer.readMomentum();
    model.parameters.forEach((p, i) => (tensors[`momentum/${p.name}`] = host(p.value, momentum[i]!)));
    if (trainer.ema) {
      const avg = trainer.ema.values();
      for (const [i, p] of model.parameters.entries()) tensors[`ema/${p.name}`] = host(p.value, await avg[i]!.data());
      for (const t of avg) t.dispose();
    }
  }
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(model.config),
    step: String(trainer?.step ?? 0),
  };
  if (trainer) metadata.trainOptions = JSON.stringify(trainer.options);
  if (meta.loader) metadata.loader = JSON.stringify(meta.loader);
  if (meta.extra) metadata.extra = JSON.stringify(meta.extra);
  return encodeSafetensors(tensors, metadata);
}

export function decodeCheckpoint(bytes: Uint8Array, what = 'checkpoint'): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, what);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${what}: format is ${JSON.stringify(metadata.format)}, expected '${CHECKPOINT_FORMAT}' (timm weights: use importTimm)`);
  }
  const parse = <T>(key: string): T | undefined => {
    if (metadata[key] === undefined) return undefined;
    try {
      return JSON.parse(metadata[key]!) as T;
    } catch {
      throw new CheckpointError(`${what}: metadata '${key}' is not valid JSON`);
    }
  };
  const ck: Checkpoint = {
    config: parse<NFNetConfig>('config')!, step: Number(metadata.step ?? 0), trainOptions: parse('trainOptions'),
    loader: parse('loader'), extra: parse('extra'),
    params: new Map(), momentum: new Map(), ema: new Map(), shapes: new Map(),
  };
  if (!ck.config) throw new CheckpointError(`${what}: no model config in the metadata`);
  ck.config = withNumerics(ck.config); // files from before the numerics options were built with the reference's
  for (const [name, t] of tensors) {
    const [group, ...rest] = name.split('/');
    const key = rest.join('/');
    const target = group === 'param' ? ck.params : group === 'momentum' ? ck.momentum : group === 'ema' ? ck.ema : null;
    if (!target) throw new CheckpointError(`${what}: unexpected tensor '${name}'`);
    target.set(key, toFloat32(t));
    ck.shapes.set(key, t.shape);
  }
  return ck;
}

/** Check that `values` has every parameter of `model` with the right shape; throws naming the first mismatch. */
export function checkAgainstModel(model: NFNet, values: Map<string, Float32Array>, shapes: Map<string, number[]>, group: string): void {
  for (const p of model.parameters) {
    const v = values.get(p.name);
    if (!v) throw new CheckpointError(`checkpoint has no ${group} tensor '${p.name}' (expected shape [${p.value.shape}])`);
    const shape = shapes.get(p.name) ?? [v.length];
    if (shape.length !== p.value.shape.length || shape.some((d, i) => d !== p.value.shape[i])) {
      throw new ShapeError(`checkpoint ${group} tensor '${p.name}': expected shape [${p.value.shape}], found [${shape}]`);
    }
  }
  const known = new Set(model.parameters.map((p) => p.name));
  for (const name of values.keys()) {
    if (!known.has(name)) throw new CheckpointError(`checkpoint has ${group} tensor '${name}', which this ${model.config.variant} model does not have`);
  }
}

/** Load parameters (and optimizer/EMA state into `trainer`) after validating all of it. */
export function restore(model: NFNet, ck: Checkpoint, trainer?: Trainer): void {
  checkAgainstModel(model, ck.params, ck.shapes, 'param');
  if (trainer) {
    checkAgainstModel(model, ck.momentum, ck.shapes, 'momentum');
    if (trainer.ema) checkAgainstModel(model, ck.ema, ck.shapes, 'ema');
  }
  // Everything checked: now write.
  for (const p of model.parameters) assign(p.value, ck.params.get(p.name)!);
  if (trainer) {
    trainer.optimizer.loadMomentum(model.parameters.map((p) => ck.momentum.get(p.name)!));
    if (trainer.ema) {
      const avg = model.parameters.map((p) => tensor(ck.ema.get(p.name)!, p.value.shape));
      trainer.ema.load(avg);
      for (const t of avg) t.dispose();
    }
    trainer.step = ck.step;
  }
}

/** A model built from a checkpoint's config with its weights (EMA weights when `useEma` and present). */
export function modelFromCheckpoint(ck: Checkpoint, options: { useEma?: boolean } = {}): NFNet {
  const model = new NFNet(ck.config);
  const useEma = options.useEma && ck.ema.size > 0;
  try {
    restore(model, useEma ? { ...ck, params: ck.ema } : ck);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
