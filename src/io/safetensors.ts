/**
 * The safetensors format: 8-byte little-endian header length, a JSON header mapping each
 * tensor name to {dtype, shape, data_offsets} (plus optional "__metadata__" of strings),
 * then the raw little-endian data. Decoding validates everything before returning, so a
 * truncated or corrupt file never yields half a state.
 */
import { ShapeError, ValueError } from '../runtime/errors.js';

export type StDType = 'F32' | 'I32' | 'U32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'U8';
const BYTES: Record<StDType, number> = { F32: 4, I32: 4, U32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, U8: 1 };
/** The dtypes `toFloat32` turns into parameter values; integer tensors are not parameters. */
const FLOAT_DTYPES: readonly StDType[] = ['F32', 'F64', 'F16', 'BF16'];

export interface HostTensor {
  /** I64: integer counters other libraries store (BatchNorm's num_batches_tracked in a timm state dict). */
  dtype: 'F32' | 'I32' | 'U32' | 'I64';
  shape: number[];
  data: Float32Array | Int32Array | Uint32Array | BigInt64Array;
}

/**
 * The order of the safetensors library's Dtype enum (its derived Ord): the library writes
 * tensors by descending dtype, then by name, which keeps wider types aligned. Files of one
 * dtype are simply sorted by name.
 */
const DTYPE_ORDER: readonly StDType[] = ['U8', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64'];
const byLibraryOrder = (tensors: Record<string, HostTensor>) => (a: string, b: string): number =>
  DTYPE_ORDER.indexOf(tensors[b]!.dtype) - DTYPE_ORDER.indexOf(tensors[a]!.dtype) || (a < b ? -1 : a > b ? 1 : 0);

export class CheckpointError extends ValueError {}

const MAX_HEADER = 100 * 1024 * 1024;
/**
 * The `__metadata__` key holding one CRC-32 per tensor, as JSON `{ name: "8 hex digits" }`.
 * Written by `encodeSafetensors`, verified by `decodeSafetensors` when present (files from
 * other writers, e.g. timm, have none and are read unchecked).
 */
export const CHECKSUM_KEY = 'nfnet.crc32';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zlib and PNG compute it) of `bytes`, as 8 lowercase hex digits. */
export function crc32(bytes: Uint8Array): string {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

function bytesOf(d: HostTensor['data']): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * `checksums` (default true) writes a CRC-32 per tensor into the metadata; false writes the
 * plain layout other writers produce (a timm export: no `__metadata__` when there is none).
 */
export function encodeSafetensors(tensors: Record<string, HostTensor>, metadata: Record<string, string> = {}, options: { checksums?: boolean } = {}): Uint8Array {
  if (CHECKSUM_KEY in metadata) throw new ValueError(`encodeSafetensors: metadata key '${CHECKSUM_KEY}' is reserved for the per-tensor checksums`);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new ValueError(`encodeSafetensors: metadata '${k}' must be a string, got ${typeof v}`);
  }
  const names = Object.keys(tensors).sort(byLibraryOrder(tensors));
  const header: Record<string, unknown> = {};
  const checksums: Record<string, string> = {};
  let offset = 0;
  const entries: Record<string, unknown> = {};
  for (const name of names) {
    const t = tensors[name]!;
    if (name === '__metadata__' || !name) throw new ValueError(`encodeSafetensors: '${name}' is not a usable tensor name`);
    const host = { F32: Float32Array, I32: Int32Array, U32: Uint32Array, I64: BigInt64Array }[t.dtype];
    if (!host || !(t.data instanceof host)) {
      throw new ValueError(`encodeSafetensors: tensor '${name}' says dtype ${String(t.dtype)} but holds a ${t.data?.constructor?.name}`);
    }
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new ShapeError(`checkpoint tensor '${name}': shape [${t.shape}] needs ${n} values, data has ${t.data.length}`);
    }
    entries[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    checksums[name] = crc32(bytesOf(t.data));
    offset += t.data.byteLength;
  }
  if (options.checksums ?? true) header.__metadata__ = { ...metadata, [CHECKSUM_KEY]: JSON.stringify(checksums) };
  else if (Object.keys(metadata).length) header.__metadata__ = metadata;
  Object.assign(header, entries);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // align the data section to 8 bytes
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(bytesOf(d), at);
    at += d.byteLength;
  }
  return out;
}

export interface DecodedTensor {
  /** The tensor's name in the file (for error messages). */
  name: string;
  /** Exactly the dtype the file declares. */
  dtype: StDType;
  shape: number[];
  /** Raw bytes (little-endian). */
  bytes: Uint8Array;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** One header entry, checked: dtype, shape, offsets (within the data section, sized by shape·dtype). */
function tensorEntry(what: string, name: string, v: unknown, dataBytes: number): { dtype: StDType; shape: number[]; begin: number; end: number } {
  const bad = (why: string) => new CheckpointError(`${what}: tensor '${name}' ${why}`);
  if (!isObject(v)) throw bad(`must be an object {dtype, shape, data_offsets}, got ${JSON.stringify(v)}`);
  const extra = Object.keys(v).filter((k) => !['dtype', 'shape', 'data_offsets'].includes(k));
  if (extra.length) throw bad(`has unknown fields ${extra.join(', ')}`);
  const dtype = v.dtype;
  if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype)) {
    throw bad(`has unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
  }
  const shape = v.shape;
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw bad(`has an invalid shape ${JSON.stringify(shape)}`);
  const offsets = v.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    throw bad(`has invalid data_offsets ${JSON.stringify(offsets)} (need [begin, end] with 0 <= begin <= end)`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * BYTES[dtype as StDType];
  if (end - begin !== expected) throw bad(`[${shape}] ${dtype} needs ${expected} bytes, its offsets say ${end - begin}`);
  if (end > dataBytes) throw bad(`ends at byte ${end} but the data section has ${dataBytes} bytes (truncated)`);
  return { dtype: dtype as StDType, shape: shape as number[], begin, end };
}

/** The data section must be covered exactly: no overlap, no gap, no trailing bytes. */
function checkCoverage(what: string, spans: { name: string; begin: number; end: number }[], dataBytes: number): void {
  const sorted = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev = '';
  for (const s of sorted) {
    if (s.begin < at) throw new CheckpointError(`${what}: tensors '${prev}' and '${s.name}' overlap (bytes ${s.begin}…${at})`);
    if (s.begin > at) throw new CheckpointError(`${what}: bytes ${at}…${s.begin} of the data section belong to no tensor (before '${s.name}')`);
    at = s.end;
    prev = s.name;
  }
  if (at !== dataBytes) throw new CheckpointError(`${what}: ${dataBytes - at} trailing bytes after the last tensor (the data section has ${dataBytes}, the tensors cover ${at})`);
}

/** The `__metadata__` object: strings only. */
function metadataOf(what: string, v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (!isObject(v)) throw new CheckpointError(`${what}: __metadata__ must be an object of strings, got ${JSON.stringify(v)}`);
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== 'string') throw new CheckpointError(`${what}: __metadata__ '${k}' must be a string, got ${JSON.stringify(s)}`);
  }
  return { ...(v as Record<string, string>) };
}

/** Verify the per-tensor CRC-32s when the writer stored them; names the first tensor that differs. */
function verifyChecksums(what: string, metadata: Record<string, string>, tensors: Map<string, DecodedTensor>): void {
  const raw = metadata[CHECKSUM_KEY];
  if (raw === undefined) return;
  let sums: unknown;
  try {
    sums = JSON.parse(raw);
  } catch {
    throw new CheckpointError(`${what}: the checksum table (__metadata__ '${CHECKSUM_KEY}') is not valid JSON`);
  }
  if (!isObject(sums)) throw new CheckpointError(`${what}: the checksum table must be an object of name → CRC-32`);
  for (const name of Object.keys(sums)) {
    if (!tensors.has(name)) throw new CheckpointError(`${what}: the checksum table names tensor '${name}', which the file does not have`);
  }
  for (const [name, t] of tensors) {
    const want = sums[name];
    if (typeof want !== 'string') throw new CheckpointError(`${what}: tensor '${name}' has no checksum in a file whose writer stored one per tensor`);
    const got = crc32(t.bytes);
    if (got !== want) throw new CheckpointError(`${what}: tensor '${name}' is corrupt: CRC-32 ${got}, the file says ${want}`);
  }
}

/**
 * Decode a safetensors file, validating all of it before returning anything: header
 * length and JSON shape, every entry's dtype, shape and offsets, exact coverage of the data
 * section (no overlap, gap or trailing bytes), and the per-tensor checksums when present.
 */
export function decodeSafetensors(file: Uint8Array, what = 'checkpoint'): { tensors: Map<string, DecodedTensor>; metadata: Record<string, string> } {
  if (!(file instanceof Uint8Array)) throw new CheckpointError(`${what}: expected the file's bytes as a Uint8Array, got ${file === null ? 'null' : typeof file}`);
  if (file.length < 8) throw new CheckpointError(`${what}: ${file.length} bytes is too short for a safetensors file (truncated?)`);
  const headerLen = new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER) || 8n + headerLen > BigInt(file.length)) {
    throw new CheckpointError(`${what}: header claims ${headerLen} bytes but the file has ${file.length - 8} after the length (truncated or not safetensors)`);
  }
  const headBytes = file.subarray(8, 8 + Number(headerLen));
  if (headBytes[0] !== 0x7b) throw new CheckpointError(`${what}: the header does not start with '{' (a wrong header length or not safetensors)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headBytes));
  } catch (e) {
    throw new CheckpointError(`${what}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(header)) throw new CheckpointError(`${what}: the header must be a JSON object, got ${JSON.stringify(header)}`);
  const data = file.subarray(8 + Number(headerLen));
  const metadata = metadataOf(what, header.__metadata__);
  const tensors = new Map<string, DecodedTensor>();
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = tensorEntry(what, name, v, data.length);
    spans.push({ name, begin: e.begin, end: e.end });
    tensors.set(name, { name, dtype: e.dtype, shape: e.shape, bytes: data.subarray(e.begin, e.end) });
  }
  checkCoverage(what, spans, data.length);
  verifyChecksums(what, metadata, tensors);
  delete metadata[CHECKSUM_KEY];
  return { tensors, metadata };
}

/** Little-endian bytes → a float32 array, converting F64/F16/BF16 (timm checkpoints are often half). */
export function toFloat32(t: DecodedTensor): Float32Array {
  if (!FLOAT_DTYPES.includes(t.dtype)) {
    throw new CheckpointError(`tensor '${t.name}' is ${t.dtype}, not a floating-point tensor (${FLOAT_DTYPES.join(', ')}): it cannot be loaded as parameter values`);
  }
  const b = t.bytes;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = b.byteLength / BYTES[t.dtype];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    switch (t.dtype) {
      case 'F32': out[i] = view.getFloat32(4 * i, true); break;
      case 'F64': out[i] = view.getFloat64(8 * i, true); break;
      case 'BF16': out[i] = new Float32Array(new Uint32Array([view.getUint16(2 * i, true) << 16]).buffer)[0]!; break;
      case 'F16': out[i] = halfToFloat(view.getUint16(2 * i, true)); break;
    }
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
