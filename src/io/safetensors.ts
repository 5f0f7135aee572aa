/**
 * The safetensors format: 8-byte little-endian header length, a JSON header mapping each
 * tensor name to {dtype, shape, data_offsets} (plus optional "__metadata__" of strings),
 * then the raw little-endian data. Decoding validates everything before returning, so a
 * truncated or corrupt file never yields half a state.
 */
import { ShapeError, ValueError } from '../runtime/errors.js';

export type StDType = 'F32' | 'I32' | 'U32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'U8';
const BYTES: Record<StDType, number> = { F32: 4, I32: 4, U32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, U8: 1 };

export interface HostTensor {
  dtype: 'F32' | 'I32' | 'U32';
  shape: number[];
  data: Float32Array | Int32Array | Uint32Array;
}

export class CheckpointError extends ValueError {}

const MAX_HEADER = 100 * 1024 * 1024;

export function encodeSafetensors(tensors: Record<string, HostTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new ShapeError(`checkpoint tensor '${name}': shape [${t.shape}] needs ${n} values, data has ${t.data.length}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // align the data section to 8 bytes
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

export interface DecodedTensor {
  dtype: StDType;
  shape: number[];
  /** Raw bytes (little-endian). */
  bytes: Uint8Array;
}

export function decodeSafetensors(file: Uint8Array, what = 'checkpoint'): { tensors: Map<string, DecodedTensor>; metadata: Record<string, string> } {
  if (file.length < 8) throw new CheckpointError(`${what}: ${file.length} bytes is too short for a safetensors file (truncated?)`);
  const headerLen = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > MAX_HEADER || 8 + headerLen > file.length) {
    throw new CheckpointError(`${what}: header claims ${headerLen} bytes but the file has ${file.length - 8} after the length (truncated or not safetensors)`);
  }
  let header: Record<string, any>;
  try {
    header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new CheckpointError(`${what}: header is not valid JSON (${(e as Error).message})`);
  }
  const data = file.subarray(8 + headerLen);
  const tensors = new Map<string, DecodedTensor>();
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const dtype = v?.dtype as StDType;
    if (!(dtype in BYTES)) throw new CheckpointError(`${what}: tensor '${name}' has unsupported dtype ${JSON.stringify(v?.dtype)}`);
    const shape = v.shape as number[];
    const [begin, end] = v.data_offsets as [number, number];
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new CheckpointError(`${what}: tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    const expected = shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (!Number.isInteger(begin) || !Number.isInteger(end) || end - begin !== expected || begin < 0) {
      throw new CheckpointError(`${what}: tensor '${name}' [${shape}] ${dtype} needs ${expected} bytes, its offsets say ${end - begin}`);
    }
    if (end > data.length) {
      throw new CheckpointError(`${what}: tensor '${name}' ends at byte ${end} but the data section has ${data.length} bytes (truncated)`);
    }
    tensors.set(name, { dtype, shape, bytes: data.subarray(begin, end) });
  }
  return { tensors, metadata: (header.__metadata__ as Record<string, string>) ?? {} };
}

/** Little-endian bytes → a float32 array, converting F64/F16/BF16 (timm checkpoints are often half). */
export function toFloat32(t: DecodedTensor): Float32Array {
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
      case 'I32': out[i] = view.getInt32(4 * i, true); break;
      case 'U32': out[i] = view.getUint32(4 * i, true); break;
      case 'I64': out[i] = Number(view.getBigInt64(8 * i, true)); break;
      case 'U8': out[i] = view.getUint8(i); break;
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
