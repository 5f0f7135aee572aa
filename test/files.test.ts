// Files from disk are validated whole before anything is returned: safetensors structure
// and per-tensor CRC-32s, IDX structure and label ranges, DataLoader options, and typed
// errors for missing files. Atomic saves clean up the temp files of killed saves. No GPU.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileError, NfnetError, data } from '../src/index.js';
import { CHECKSUM_KEY, CheckpointError, crc32, decodeSafetensors, encodeSafetensors, toFloat32 } from '../src/io/safetensors.js';
import { readFileBytes, writeFileAtomic } from '../src/io/files.js';
import { loadCheckpoint } from '../src/nfnet/checkpoint-node.js';

const sample = () => encodeSafetensors({
  'param/w': { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  'param/b': { dtype: 'F32', shape: [3], data: Float32Array.from([-1, 0.5, 2]) },
}, { format: 'test' });

/** A safetensors file from a header object and a data section, as another writer would make it. */
function raw(header: unknown, body: Uint8Array, length?: bigint): Uint8Array {
  const head = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + body.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(head.length), true);
  out.set(head, 8);
  out.set(body, 8 + head.length);
  return out;
}

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

function refused(fn: () => unknown, ...patterns: RegExp[]): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'a typed error').toBeInstanceOf(NfnetError);
  for (const p of patterns) expect((caught as Error).message).toMatch(p);
  return caught as Error;
}

describe('safetensors', () => {
  it('round-trips with a CRC-32 per tensor in the metadata (zlib-compatible CRC)', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe('cbf43926'); // the standard check value
    const bytes = sample();
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    const sums = JSON.parse(header.__metadata__[CHECKSUM_KEY]);
    expect(sums['param/w']).toBe(crc32(f32(1, 2, 3, 4, 5, 6)));
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ format: 'test' }); // the checksum table is the decoder's business
    expect(Array.from(toFloat32(tensors.get('param/b')!))).toEqual([-1, 0.5, 2]);
    expect(tensors.get('param/w')!.shape).toEqual([2, 3]);
  });

  it('a flipped bit anywhere in a tensor is caught, naming the tensor', () => {
    const bytes = sample();
    const dataStart = bytes.length - 36;
    for (let at = dataStart; at < bytes.length; at += 5) {
      const bad = bytes.slice();
      bad[at] ^= 0x10;
      const name = at < dataStart + 12 ? 'param/b' : 'param/w'; // names sort: b, then w
      refused(() => decodeSafetensors(bad, 'ck.safetensors'), new RegExp(`tensor '${name}' is corrupt: CRC-32 [0-9a-f]{8}, the file says [0-9a-f]{8}`));
    }
  });

  it('files without checksums (timm, other writers) decode unchecked', () => {
    const file = raw({ w: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, new Uint8Array([0x00, 0x3c, 0x00, 0xc0]));
    expect(Array.from(toFloat32(decodeSafetensors(file).tensors.get('w')!))).toEqual([1, -2]);
  });

  it('refuses every structural defect before returning anything', () => {
    const body = f32(1, 2, 3, 4);
    const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } };
    expect(decodeSafetensors(raw(ok, body)).tensors.size).toBe(2);
    const good = raw(ok, body);
    const withLength = (delta: bigint) => {
      const g = good.slice();
      const v = new DataView(g.buffer);
      v.setBigUint64(0, v.getBigUint64(0, true) + delta, true);
      return g;
    };
    refused(() => decodeSafetensors(withLength(-1n)), /trailing bytes|does not start|not valid JSON/);
    refused(() => decodeSafetensors(withLength(1n)), /trailing bytes|not valid JSON|belong to no tensor|ends at byte/);
    const minusOne = good.slice();
    new DataView(minusOne.buffer).setBigInt64(0, -1n, true);
    refused(() => decodeSafetensors(minusOne), /header claims 18446744073709551615 bytes/);
    expect(refused(() => decodeSafetensors(raw('null', body)), /does not start with '\{'/)).toBeInstanceOf(CheckpointError);
    refused(() => decodeSafetensors(raw('[1]', body)), /does not start with '\{'/);
    refused(() => decodeSafetensors(raw({ ...ok, b: null }, body)), /tensor 'b' must be an object/);
    refused(() => decodeSafetensors(raw({ ...ok, b: { ...ok.b, dtype: 'F8' } }, body)), /tensor 'b' has unsupported dtype "F8"/);
    refused(() => decodeSafetensors(raw({ ...ok, b: { ...ok.b, dtype: 'constructor' } }, body)), /unsupported dtype/);
    refused(() => decodeSafetensors(raw({ ...ok, b: { ...ok.b, shape: [-2] } }, body)), /invalid shape/);
    refused(() => decodeSafetensors(raw({ ...ok, b: { ...ok.b, data_offsets: [4, 12] } }, body)), /tensors 'a' and 'b' overlap/);
    refused(() => decodeSafetensors(raw({ ...ok, b: { ...ok.b, data_offsets: [16, 8] } }, body)), /invalid data_offsets/);
    refused(() => decodeSafetensors(raw({ ...ok, b: { ...ok.b, data_offsets: [8, 24] } }, body)), /needs 8 bytes, its offsets say 16/);
    refused(() => decodeSafetensors(raw({ ...ok, b: { dtype: 'F32', shape: [2] } }, body)), /invalid data_offsets undefined|invalid data_offsets/);
    refused(() => decodeSafetensors(raw({ a: ok.a }, body)), /8 trailing bytes after the last tensor/);
    refused(() => decodeSafetensors(raw({ b: ok.b }, body)), /bytes 0…8 of the data section belong to no tensor/);
    refused(() => decodeSafetensors(raw({ ...ok, __metadata__: { step: 5 } }, body)), /__metadata__ 'step' must be a string/);
    refused(() => decodeSafetensors(raw({ ...ok, __metadata__: null }, body)), /__metadata__ must be an object/);
    refused(() => decodeSafetensors(raw({ ...ok, __metadata__: { [CHECKSUM_KEY]: '{"a":"00000000"}' } }, body)), /tensor 'a' is corrupt|tensor 'b' has no checksum/);
    refused(() => decodeSafetensors(good.slice(0, 5)), /too short/);
    refused(() => decodeSafetensors(null as never), /Uint8Array/);
  });

  it('reports dtypes exactly; integer tensors are refused as parameter values', () => {
    const file = raw({ n: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(new Int32Array([3, 4]).buffer));
    const t = decodeSafetensors(file).tensors.get('n')!;
    expect(t.dtype).toBe('I32');
    refused(() => toFloat32(t), /tensor 'n' is I32, not a floating-point tensor/);
    refused(() => encodeSafetensors({ x: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) } }, { [CHECKSUM_KEY]: 'x' }), /reserved/);
    refused(() => encodeSafetensors({ x: { dtype: 'I32', shape: [1], data: Float32Array.from([1]) as never } }), /says dtype I32 but holds a Float32Array/);
  });

  it("writes int64 tensors (timm's num_batches_tracked) in the safetensors library's order: by descending dtype, then by name", () => {
    const file = encodeSafetensors({
      'a.weight': { dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) },
      'b.num_batches_tracked': { dtype: 'I64', shape: [], data: BigInt64Array.from([5n]) },
      'c.count': { dtype: 'I32', shape: [1], data: Int32Array.from([-3]) },
    }, {}, { checksums: false });
    const headerLength = Number(new DataView(file.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLength)));
    expect(Object.keys(header)).toEqual(['b.num_batches_tracked', 'a.weight', 'c.count']);
    expect(header['b.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], data_offsets: [0, 8] });
    const t = decodeSafetensors(file).tensors.get('b.num_batches_tracked')!;
    expect(new DataView(t.bytes.buffer, t.bytes.byteOffset, 8).getBigInt64(0, true)).toBe(5n);
    expect(Array.from(toFloat32(decodeSafetensors(file).tensors.get('a.weight')!))).toEqual([1, 2]);
    refused(() => encodeSafetensors({ x: { dtype: 'I64', shape: [1], data: Int32Array.from([1]) as never } }), /says dtype I64 but holds a Int32Array/);
  });
});

describe('files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nfnet-files-'));

  it('missing files and folders are FileErrors naming the path, not raw ENOENT/EISDIR', () => {
    const missing = path.join(dir, 'nope.safetensors');
    const e = refused(() => loadCheckpoint(missing), /checkpoint .*nope\.safetensors does not exist/);
    expect(e).toBeInstanceOf(FileError);
    expect(refused(() => loadCheckpoint(dir), /is a folder, not a file/)).toBeInstanceOf(FileError);
    refused(() => readFileBytes('' as string), /non-empty string/);
    writeFileSync(path.join(dir, 'junk.safetensors'), 'not a checkpoint at all');
    expect(refused(() => loadCheckpoint(path.join(dir, 'junk.safetensors')), /header claims/)).toBeInstanceOf(CheckpointError);
  });

  it('an atomic save removes temp files left by killed saves, and keeps those of live writers', () => {
    const file = path.join(dir, 'ck.safetensors');
    // A pid that surely exited: a child process that has finished.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = [`.ck.safetensors.${dead}.1700000000000.tmp`, `.ck.safetensors.${dead}.1700000000001.tmp`];
    const live = `.ck.safetensors.${process.ppid}.1700000000002.tmp`; // our parent is running
    const other = `.other.safetensors.${dead}.1700000000003.tmp`; // another file's temp: not ours to remove
    for (const n of [...stale, live, other]) writeFileSync(path.join(dir, n), 'partial');
    writeFileAtomic(file, sample());
    const left = readdirSync(dir);
    for (const n of stale) expect(left, n).not.toContain(n);
    expect(left).toContain(live);
    expect(left).toContain(other);
    expect(decodeSafetensors(readFileBytes(file)).tensors.size).toBe(2);
    expect(left.filter((n) => n.startsWith('.ck.safetensors.') && n.includes(`.${process.pid}.`))).toEqual([]);
  });

  it('a save into a missing folder is a FileError', () => {
    expect(refused(() => writeFileAtomic(path.join(dir, 'no', 'such', 'ck.safetensors'), sample()), /does not exist|cannot write/)).toBeInstanceOf(FileError);
    expect(existsSync(path.join(dir, 'no'))).toBe(false);
    mkdirSync(path.join(dir, 'sub'));
  });
});

describe('data files and loader options', () => {
  const idx = (type: number, dims: number[], body: number[]) => {
    const head = [0, 0, type, dims.length, ...dims.flatMap((d) => [(d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255])];
    return new Uint8Array([...head, ...body]);
  };
  const images = idx(8, [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]);

  it('IDX labels outside the classes, bad magic, ranks and lengths are refused', () => {
    expect(data.idxImageSet(images, idx(8, [2], [3, 9]), data.FASHION_MNIST_CLASSES).classes).toBe(10);
    refused(() => data.idxImageSet(images, idx(8, [2], [3, 200]), data.FASHION_MNIST_CLASSES), /label 200 of example 1 is outside 0…9 \(10 classes\)/);
    refused(() => data.parseIdx(idx(0x0d, [2], [1, 2])), /not an unsigned-byte IDX file/);
    refused(() => data.parseIdx(idx(8, [2], [1, 2]).slice(0, 6)), /too short for an IDX header of rank 1/);
    refused(() => data.parseIdx(new Uint8Array([0, 0, 8, 0])), /rank 0/);
    refused(() => data.parseIdx(idx(8, [3], [1, 2])), /3 bytes of data, file has 2/);
    refused(() => data.idxImageSet(images, idx(8, [3], [1, 2, 3]), data.FASHION_MNIST_CLASSES), /do not pair up/);
  });

  it('DataLoader refuses options that would give non-finite pixels or make no sense', () => {
    const set = data.idxImageSet(images, idx(8, [2], [3, 9]), data.FASHION_MNIST_CLASSES);
    expect(new data.DataLoader(set, { batchSize: 1, mean: [0.5], std: [0.25] }).std).toEqual([0.25]);
    refused(() => new data.DataLoader(set, { batchSize: 1, mean: [0.5], std: [0] }), /std\[0\] must be a finite number in \(0, Infinity\], got 0/);
    refused(() => new data.DataLoader(set, { batchSize: 1, std: [0.3] }), /give both mean and std/);
    refused(() => new data.DataLoader(set, { batchSize: 1, mean: [0.5, 0.5], std: [1, 1] }), /mean must be an array of 1 numbers/);
    refused(() => new data.DataLoader(set, { batchSize: 1, cropPadding: 1.5 }), /cropPadding must be a finite integer/);
    refused(() => new data.DataLoader(set, { batchSize: 1, shufle: true } as never), /unknown option 'shufle' \(did you mean 'shuffle'\?\)/);
    refused(() => new data.DataLoader(set, { batchSize: 1, flip: 'yes' } as never), /flip must be true, false or 'alternate', got "yes"/);
    refused(() => new data.DataLoader(set, { batchSize: 1, seed: NaN }), /seed must be a finite integer/);
    refused(() => new data.DataLoader({ ...set, labels: Int32Array.from([0, 10]) }, { batchSize: 1 }), /label 10 of example 1 is outside 0…9/);
    refused(() => new data.DataLoader(set, null as never), /options must be an object/);
  });
});
