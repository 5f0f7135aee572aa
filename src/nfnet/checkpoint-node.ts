/** Checkpoint files on disk (Node): written to a temp file and renamed, never half-written. */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/files.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointMeta } from './checkpoint.js';
import type { NFNet } from './model.js';
import type { Trainer } from './train.js';

export async function saveCheckpoint(file: string, model: NFNet, trainer?: Trainer, meta: Omit<CheckpointMeta, 'config' | 'step' | 'trainOptions'> = {}): Promise<void> {
  writeFileAtomic(file, await encodeCheckpoint(model, trainer, meta));
}

export function loadCheckpoint(file: string): Checkpoint {
  const raw = readFileSync(file);
  return decodeCheckpoint(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), file);
}
