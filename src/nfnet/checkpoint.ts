/**
 * Checkpoints in safetensors: parameters (`param/<name>`), optimizer momentum
 * (`momentum/<name>`), EMA (`ema/<name>`), and in the metadata the model config, the step,
 * the training options and the data loader's RNG state. Loading checks every tensor's
 * presence and shape before writing any of them, so a mismatched file changes nothing.
 */
import { ValueError } from '../runtime/errors.js';
import { checkNumber, describeValue } from '../runtime/validate.js';
import type { ModelState } from '../state/model-state.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors, toFloat32, type HostTensor } from '../io/safetensors.js';
import type { LoaderState } from '../data/loader.js';
import { Model, type ModelConfig } from '../models/model.js';
import { familyOfConfig, modelFromConfig } from '../models/registry.js';
import { resolveTrainOptions, type Trainer } from './train.js';

export const CHECKPOINT_FORMAT = 'nfnet-webgpu/1';

export interface CheckpointMeta {
  /** The model's config (any family: `family` names it). */
  config: ModelConfig;
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
  /** Every tensor's shape, by its full name (`param/…`, `momentum/…`, `ema/…`). */
  shapes: Map<string, number[]>;
}

const host = (shape: readonly number[], data: Float32Array): HostTensor => ({ dtype: 'F32', shape: [...shape], data });

/** The tensors of a state as `group/name` entries. */
async function stateTensors(state: ModelState, group: string, out: Record<string, HostTensor>): Promise<void> {
  const values = await state.read();
  for (const [spec] of state.entries()) out[`${group}/${spec.name}`] = host(spec.shape, values.get(spec.name)!);
}

/** Serialise a model (and its trainer's optimizer/EMA state when given). */
export async function encodeCheckpoint(model: Model, trainer?: Trainer, meta: Omit<CheckpointMeta, 'config' | 'step' | 'trainOptions'> = {}): Promise<Uint8Array> {
  const tensors: Record<string, HostTensor> = {};
  await stateTensors(model.state, 'param', tensors);
  if (trainer) {
    const momentum = await trainer.optimizer.readMomentum();
    model.state.params.forEach((p, i) => (tensors[`momentum/${model.state.paramNames[i]}`] = host(p.shape, momentum[i]!)));
    if (trainer.ema) await stateTensors(trainer.ema.state, 'ema', tensors);
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
  const step = Number(metadata.step ?? 0);
  if (!Number.isInteger(step) || step < 0) throw new CheckpointError(`${what}: metadata 'step' must be a non-negative integer, got ${JSON.stringify(metadata.step)}`);
  const ck: Checkpoint = {
    config: parse<ModelConfig>('config')!, step, trainOptions: parse('trainOptions'),
    loader: parse('loader'), extra: parse('extra'),
    params: new Map(), momentum: new Map(), ema: new Map(), shapes: new Map(),
  };
  if (!ck.config || typeof ck.config !== 'object') throw new CheckpointError(`${what}: no model config in the metadata`);
  checkMeta(ck, what);
  for (const [name, t] of tensors) {
    const [group, ...rest] = name.split('/');
    const key = rest.join('/');
    const target = group === 'param' ? ck.params : group === 'momentum' ? ck.momentum : group === 'ema' ? ck.ema : null;
    if (!target) throw new CheckpointError(`${what}: unexpected tensor '${name}'`);
    target.set(key, toFloat32(t));
    ck.shapes.set(name, t.shape);
  }
  return ck;
}

/**
 * The metadata must describe something we can build and resume before anything is loaded:
 * the config passes the same checks as `nfnet.create`, the training options those of the
 * Trainer, the loader state is two integers and a batch index.
 */
function checkMeta(ck: Checkpoint, what: string): void {
  const wrap = (key: string, check: () => void) => {
    try {
      check();
    } catch (e) {
      throw new CheckpointError(`${what}: metadata '${key}' is not valid: ${(e as Error).message}`);
    }
  };
  // The family checks its config (and completes an older file's, e.g. NFNets from before the numerics options).
  wrap('config', () => (ck.config = familyOfConfig(ck.config).validate(ck.config)));
  if (ck.trainOptions !== undefined) wrap('trainOptions', () => resolveTrainOptions((ck.trainOptions = upgradeTrainOptions(ck.trainOptions!))));
  if (ck.loader !== undefined) {
    wrap('loader', () => {
      const l = ck.loader as unknown as Record<string, unknown>;
      if (l === null || typeof l !== 'object') throw new ValueError(`expected {epochStartRng, epochs, batchInEpoch}, got ${describeValue(l)}`);
      checkNumber('loader', 'epochStartRng', l.epochStartRng, { min: 0, max: 0xffffffff, integer: true });
      checkNumber('loader', 'epochs', l.epochs, { min: 0, integer: true });
      checkNumber('loader', 'batchInEpoch', l.batchInEpoch, { min: 0, integer: true });
    });
  }
  if (ck.extra !== undefined && (ck.extra === null || typeof ck.extra !== 'object')) throw new CheckpointError(`${what}: metadata 'extra' must be an object, got ${describeValue(ck.extra)}`);
}

/**
 * Training options as files from before the model-state redesign wrote them: `agcExclude`,
 * the names and patterns AGC left alone, is now `agcSkipGains`. A pattern in the list (JSON
 * wrote the CLI's /skipGain$/ as {}) or a skip-gain name means the skip gains were left
 * out; the classifier alone (the old default) means they were clipped.
 */
function upgradeTrainOptions(options: NonNullable<Checkpoint['trainOptions']>): NonNullable<Checkpoint['trainOptions']> {
  if (options === null || typeof options !== 'object' || !('agcExclude' in options)) return options;
  const { agcExclude, ...rest } = options as typeof options & { agcExclude: unknown };
  const excluded: unknown[] = Array.isArray(agcExclude) ? agcExclude : [];
  const skipGainsLeftOut = excluded.some((e) => typeof e !== 'string' || /skipGain/.test(e));
  return { ...rest, agcSkipGains: !skipGainsLeftOut };
}

/** The shapes of one group of a checkpoint, by tensor name. */
function shapesOf(ck: Checkpoint, group: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [key, shape] of ck.shapes) if (key.startsWith(`${group}/`)) out.set(key.slice(group.length + 1), shape);
  return out;
}

/** The checkpoint's momentum, aligned with the state's parameters (the state checked it has every one). */
function momentumOf(ck: Checkpoint, state: ModelState): Float32Array[] {
  return state.paramNames.map((n) => ck.momentum.get(n)!);
}

/** Load parameters (and optimizer/EMA state into `trainer`) after validating all of it: nothing is half-loaded. */
export function restore(model: Model, ck: Checkpoint, trainer?: Trainer): void {
  if (!(model instanceof Model)) throw new ValueError(`restore: model must be a model (nfnet.create, models.create), got ${describeValue(model)}`);
  if (!ck || typeof ck !== 'object' || !(ck.params instanceof Map)) throw new ValueError(`restore: expected a checkpoint from decodeCheckpoint/loadCheckpoint, got ${describeValue(ck)}`);
  if (trainer !== undefined && trainer.model !== model) throw new ValueError('restore: the trainer was made for another model');
  const state = model.state;
  state.check(ck.params, shapesOf(ck, 'param'), 'param');
  if (trainer) {
    state.check(ck.momentum, shapesOf(ck, 'momentum'), 'momentum', { trainableOnly: true }); // momentum exists for trainable tensors only
    if (trainer.ema) trainer.ema.state.check(ck.ema, shapesOf(ck, 'ema'), 'ema');
  }
  // Everything checked: now write.
  state.load(ck.params, shapesOf(ck, 'param'), 'param');
  if (trainer) {
    trainer.optimizer.loadMomentum(momentumOf(ck, state));
    trainer.ema?.state.load(ck.ema, shapesOf(ck, 'ema'), 'ema');
    trainer.step = ck.step;
  }
}

/** A model built from a checkpoint's config with its weights (EMA weights when `useEma` and present). */
export function modelFromCheckpoint(ck: Checkpoint, options: { useEma?: boolean } = {}): Model {
  const model = modelFromConfig(ck.config, 0, { initialise: false });
  const useEma = options.useEma && ck.ema.size > 0;
  try {
    model.state.load(useEma ? ck.ema : ck.params, shapesOf(ck, useEma ? 'ema' : 'param'), useEma ? 'ema' : 'param');
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
