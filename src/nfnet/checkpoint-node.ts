/**
 * Checkpoint files on disk (Node): written to a temp file and renamed, never half-written;
 * temp files of saves that were killed are removed by the next save.
 */
import { readFileBytes, writeFileAtomic } from '../io/files.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointMeta } from './checkpoint.js';
import type { Model } from '../models/model.js';
import type { Trainer } from './train.js';

export async function saveCheckpoint(file: string, model: Model, trainer?: Trainer, meta: Omit<CheckpointMeta, 'config' | 'step' | 'trainOptions'> = {}): Promise<void> {
  writeFileAtomic(file, await encodeCheckpoint(model, trainer, meta));
}

/** Read and decode a checkpoint; a missing or unreadable file is a FileError, a corrupt one a CheckpointError. */
export function loadCheckpoint(file: string): Checkpoint {
  return decodeCheckpoint(readFileBytes(file, 'checkpoint'), file);
}
