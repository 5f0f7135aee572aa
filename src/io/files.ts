/** Node file helpers: typed read errors, atomic writes (temp file in the same folder, fsync, rename). */
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { FileError } from '../runtime/errors.js';

const REASONS: Record<string, string> = {
  ENOENT: 'does not exist',
  EISDIR: 'is a folder, not a file',
  EACCES: 'is not readable (permission denied)',
  EPERM: 'is not readable (operation not permitted)',
  ENOTDIR: 'has a path through something that is not a folder',
  EMFILE: 'cannot be opened: too many open files',
};

/** A file system error as a FileError naming the file and, in words, what went wrong. */
export function fileError(file: string, what: string, e: unknown): FileError {
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  const reason = REASONS[code] ?? `cannot be read (${code || (e as Error)?.message || String(e)})`;
  return new FileError(`${what} ${file} ${reason}`);
}

/** The bytes of `file`, or a FileError (never a raw ENOENT/EISDIR). */
export function readFileBytes(file: string, what = 'file'): Uint8Array {
  if (typeof file !== 'string' || !file) throw new FileError(`${what}: the path must be a non-empty string, got ${JSON.stringify(file)}`);
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw fileError(file, what, e);
  }
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

const TEMP = /^\.(.+)\.(\d+)\.(\d+)\.tmp$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * Remove temp files that earlier saves of `file` left behind when they were killed between
 * creating the temp file and renaming it. A temp file whose writer is still running (another
 * process saving the same file right now) is left alone.
 */
export function removeStaleTemps(file: string): string[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m || m[1] !== base || processAlive(Number(m[2]))) continue;
    rmSync(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** Write `bytes` so that `file` is either the old or the complete new content, never half. */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  removeStaleTemps(file);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw fileError(tmp, 'cannot write: the temp file', e);
  }
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fileError(file, 'cannot replace', e);
  }
}
