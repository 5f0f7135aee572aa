// Dataset formats and the batch loader, on fixtures the test writes itself, and on the
// real Fashion-MNIST from Debian's dataset-fashion-mnist package.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { data, ShapeError, ValueError } from '../src/index.js';
import { readCifar10, readFashionMnist, readImageFolder } from '../src/data/node-files.js';

function idx(dims: number[], values: Uint8Array): Uint8Array {
  const head = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  head.setUint8(2, 0x08);
  head.setUint8(3, dims.length);
  dims.forEach((d, i) => head.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(head.byteLength + values.length);
  out.set(new Uint8Array(head.buffer));
  out.set(values, head.byteLength);
  return out;
}

describe('formats', () => {
  it('parses IDX image + label files (gzipped) into NHWC uint8', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'idx-'));
    const px = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 10);
    writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx([3, 2, 2], px)));
    writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3], Uint8Array.of(2, 0, 9))));
    const set = readFashionMnist('train', dir);
    expect([set.count, set.height, set.width, set.channels]).toEqual([3, 2, 2, 1]);
    expect(Array.from(set.images)).toEqual(Array.from(px));
    expect(Array.from(set.labels)).toEqual([2, 0, 9]);
    expect(set.classNames![9]).toBe('Ankle boot');
  });

  it('rejects a truncated IDX file naming both sizes', () => {
    const bytes = idx([3, 2, 2], new Uint8Array(12)).subarray(0, 20);
    expect(() => data.parseIdx(bytes, 'images')).toThrow(ShapeError);
    expect(() => data.parseIdx(bytes, 'images')).toThrow(/3×2×2 = 12 bytes.*has 4/);
  });

  it('parses CIFAR-10 binary records, planar RGB → interleaved', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cifar-'));
    const rec = new Uint8Array(2 * 3073);
    for (let r = 0; r < 2; r++) {
      rec[r * 3073] = 7 - r;
      for (let c = 0; c < 3; c++) rec.fill(10 * (c + 1) + r, r * 3073 + 1 + c * 1024, r * 3073 + 1 + (c + 1) * 1024);
    }
    writeFileSync(path.join(dir, 'test_batch.bin'), rec);
    const set = readCifar10('test', dir);
    expect(set.count).toBe(2);
    expect(Array.from(set.labels)).toEqual([7, 6]);
    expect(Array.from(set.images.subarray(0, 6))).toEqual([10, 20, 30, 10, 20, 30]);
    expect(Array.from(set.images.subarray(3072, 3075))).toEqual([11, 21, 31]);
    expect(() => data.parseCifar10(rec.subarray(0, 100))).toThrow(/not a whole number of 3073-byte records/);
  });

  it('reads an image folder, classes sorted, resized to size×size', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'folder-'));
    const colors = { cat: [255, 0, 0], dog: [0, 0, 255] } as const;
    for (const [name, rgb] of Object.entries(colors)) {
      mkdirSync(path.join(dir, name));
      for (let i = 0; i < 2; i++) {
        const png = new PNG({ width: 6, height: 4 });
        for (let p = 0; p < 24; p++) png.data.set([...rgb, 255], p * 4);
        writeFileSync(path.join(dir, name, `${i}.png`), PNG.sync.write(png));
      }
    }
    const set = readImageFolder(dir, { size: 3, channels: 3 });
    expect(set.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(set.labels)).toEqual([0, 0, 1, 1]);
    expect(Array.from(set.images.subarray(0, 3))).toEqual([255, 0, 0]);
    expect(Array.from(set.images.subarray(3 * 27, 3 * 27 + 3))).toEqual([0, 0, 255]);
    const gray = readImageFolder(dir, { size: 2, channels: 1 });
    expect(gray.images[0]).toBe(Math.round(0.299 * 255));
    expect(() => readImageFolder(path.join(dir, 'nope'), { size: 2 })).toThrow(ValueError);
  });
});

describe('DataLoader', () => {
  const set: data.ImageSet = {
    images: Uint8Array.from({ length: 10 * 4 * 4 }, (_, i) => i % 256), labels: Int32Array.from({ length: 10 }, (_, i) => i),
    count: 10, height: 4, width: 4, channels: 1, classes: 10,
  };

  it('shuffles deterministically by seed and covers every example once per epoch', () => {
    const labelsOf = (seed: number) => [...new data.DataLoader(set, { batchSize: 5, shuffle: true, seed }).epoch()].flatMap((b) => Array.from(b.labels));
    expect(labelsOf(1)).toEqual(labelsOf(1));
    expect(labelsOf(1)).not.toEqual(labelsOf(2));
    expect([...labelsOf(1)].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('normalises to the given mean/std and drops the partial batch only when asked', () => {
    const l = new data.DataLoader(set, { batchSize: 4, mean: [0], std: [1 / 255] });
    const batches = [...l.epoch()];
    expect(batches.length).toBe(2);
    expect(batches[0]!.shape).toEqual([4, 4, 4, 1]);
    expect(batches[0]!.images[5]).toBeCloseTo(5, 4);
    expect([...new data.DataLoader(set, { batchSize: 4, keepLast: true }).epoch()].length).toBe(3);
  });

  it("flip 'alternate': each image its own coin in the first epoch, then the other way each epoch after", () => {
    const n = 64;
    const pattern: data.ImageSet = { ...set, images: Uint8Array.from({ length: n * 16 }, (_, i) => i % 16), labels: Int32Array.from({ length: n }, (_, i) => i), count: n, classes: n };
    // Which images (by their label, the index) came out mirrored in each of four epochs.
    const flipsPerEpoch = (seed: number) => {
      const loader = new data.DataLoader(pattern, { batchSize: 16, shuffle: true, flip: 'alternate', seed, mean: [0], std: [1 / 255] });
      return Array.from({ length: 4 }, () => {
        const mirrored = new Array<boolean>(n).fill(false);
        for (const b of loader.epoch())
          b.labels.forEach((label, k) => {
            const first = Math.round(b.images[k * 16]!);
            expect([0, 3]).toContain(first);
            mirrored[label] = first === 3;
          });
        return mirrored;
      });
    };
    const [e1, e2, e3, e4] = flipsPerEpoch(5);
    const count = e1!.filter(Boolean).length;
    expect(count).toBeGreaterThan(n / 4);
    expect(count).toBeLessThan((3 * n) / 4);
    for (let i = 0; i < n; i++) expect([e2![i], e3![i], e4![i]]).toEqual([!e1![i], e1![i], !e1![i]]);
    // The coins follow the seed: another seed flips another set first.
    expect(flipsPerEpoch(6)[0]).not.toEqual(e1);
  });

  it('flip mirrors rows; crop padding shifts with zero (black) fill', () => {
    const one: data.ImageSet = { ...set, images: Uint8Array.from({ length: 16 }, (_, i) => i), labels: Int32Array.of(0), count: 1 };
    let flipped = 0;
    for (let seed = 0; seed < 20; seed++) {
      const [b] = [...new data.DataLoader(one, { batchSize: 1, flip: true, seed, mean: [0], std: [1 / 255] }).epoch()];
      const row = Array.from(b!.images.subarray(0, 4), Math.round);
      expect([[0, 1, 2, 3], [3, 2, 1, 0]]).toContainEqual(row);
      if (row[0] === 3) flipped++;
    }
    expect(flipped).toBeGreaterThan(3);
    expect(flipped).toBeLessThan(17);
    // Crop: every output is the input shifted by some (dy, dx) in [-2, 2]², zero outside.
    const lit: data.ImageSet = { ...one, images: Uint8Array.from({ length: 16 }, (_, i) => i + 1) };
    let moved = 0;
    for (let seed = 0; seed < 20; seed++) {
      const out = Array.from([...new data.DataLoader(lit, { batchSize: 1, cropPadding: 2, seed, mean: [0], std: [1 / 255] }).epoch()][0]!.images, Math.round);
      const shifts: [number, number][] = [];
      for (let dy = -2; dy <= 2; dy++)
        for (let dx = -2; dx <= 2; dx++) {
          const want = Array.from({ length: 16 }, (_, p) => {
            const y = Math.floor(p / 4) + dy;
            const x = (p % 4) + dx;
            return y >= 0 && y < 4 && x >= 0 && x < 4 ? y * 4 + x + 1 : 0;
          });
          if (want.every((v, p) => v === out[p])) shifts.push([dy, dx]);
        }
      expect(shifts.length, `seed ${seed}: output is a shifted copy`).toBe(1);
      if (shifts[0]![0] !== 0 || shifts[0]![1] !== 0) moved++;
    }
    expect(moved).toBeGreaterThan(10);
  });

  it('cropSize takes random in-frame windows of that size (every offset occurs), and rejects bad sizes', () => {
    const lit: data.ImageSet = { ...set, images: Uint8Array.from({ length: 16 }, (_, i) => i + 1), labels: Int32Array.of(0), count: 1 };
    const seen = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const [b] = [...new data.DataLoader(lit, { batchSize: 1, cropSize: 3, seed, mean: [0], std: [1 / 255] }).epoch()];
      expect(b!.shape).toEqual([1, 3, 3, 1]);
      const out = Array.from(b!.images, Math.round);
      // Top-left pixel (oy·4 + ox + 1) gives the offset; the rest must follow from it.
      const oy = Math.floor((out[0]! - 1) / 4);
      const ox = (out[0]! - 1) % 4;
      expect(oy >= 0 && oy <= 1 && ox >= 0 && ox <= 1).toBe(true);
      expect(out).toEqual(Array.from({ length: 9 }, (_, p) => (oy + Math.floor(p / 3)) * 4 + ox + (p % 3) + 1));
      seen.add(`${oy},${ox}`);
    }
    expect(seen.size).toBe(4);
    expect(() => new data.DataLoader(lit, { batchSize: 1, cropSize: 5 })).toThrow(/cropSize must be an integer in 1..4/);
    expect(() => new data.DataLoader(lit, { batchSize: 1, cropSize: 0 })).toThrow(/cropSize/);
  });

  it('rejects a bad batch size', () => {
    expect(() => new data.DataLoader(set, { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
  });
});

describe('Fashion-MNIST from Debian', () => {
  it('has 60000 training and 10000 test images of 28×28, 10 balanced classes', () => {
    const train = readFashionMnist('train');
    const test = readFashionMnist('test');
    expect([train.count, train.height, train.width]).toEqual([60000, 28, 28]);
    expect(test.count).toBe(10000);
    const counts = new Array(10).fill(0);
    for (const l of test.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    const { mean } = data.channelStats(train);
    expect(mean[0]).toBeCloseTo(0.286, 2); // the dataset's well-known pixel mean
  });
});
