// Bad options to the Trainer, the optimizers, fit and checkpoint metadata: a typed error
// that names the option, before any GPU work.
import { describe, expect, it } from 'vitest';
import { data, nfnet, optim, tensor, ValueError, NfnetError } from '../src/index.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { useGpu } from './setup.js';

const { gpu } = useGpu();

/** `fn` throws `cls` matching `re`, and records no dispatch. */
function refused(fn: () => unknown, re: RegExp, cls: new (...a: never[]) => Error = ValueError): void {
  const before = gpu().counters().dispatches;
  expect(fn).toThrow(cls);
  expect(fn).toThrow(re);
  expect(gpu().counters().dispatches).toBe(before);
}

const tinySet = (n = 8): data.ImageSet => ({
  images: Uint8Array.from({ length: n * 28 * 28 }, (_, i) => i % 251), labels: Int32Array.from({ length: n }, (_, i) => i % 4),
  count: n, height: 28, width: 28, channels: 1, classes: 4,
});

describe('Trainer options', () => {
  it('unknown names get a did-you-mean; every value is checked for type and range', () => {
    const model = nfnet.create('pico', { numClasses: 4 });
    const t = (o: unknown) => () => new nfnet.Trainer(model, o as nfnet.TrainOptions);
    refused(t({ totalSteps: 5, lrr: 0.1 }), /unknown option 'lrr' \(did you mean 'lr'\?\)/);
    refused(t({ totalSteps: 5, clipping: NaN }), /clipping must be a finite number/);
    refused(t({ totalSteps: 5, warmupSteps: Infinity }), /warmupSteps must be a finite integer/);
    refused(t({ totalSteps: 5, ema: 'no' }), /ema must be true or false, got "no"/);
    refused(t({ totalSteps: 5, labelSmoothing: 2 }), /labelSmoothing must be a finite number in \[0, 1\]/);
    refused(t({ totalSteps: 5, labelSmoothing: 1 }), /labelSmoothing must be below 1/);
    refused(t({ totalSteps: 5, momentum: -0.1 }), /momentum/);
    refused(t({ totalSteps: 5, seed: 1.5 }), /seed must be a finite integer/);
    refused(t({ totalSteps: 5, batchSize: 0 }), /batchSize/);
    refused(t({ totalSteps: 10, warmupSteps: 11 }), /warmupSteps \(11\) must not exceed totalSteps \(10\)/);
    refused(t({}), /totalSteps must be a positive integer, got undefined/);
    refused(t(undefined), /options are required/);
    refused(t(null), /options must be an object/);
    refused(() => new nfnet.Trainer({} as nfnet.NFNet, { totalSteps: 5 }), /model must be a model \(nfnet.create/);
    model.dispose();
  });

  it('fit checks its loader, options and hooks before the first step', async () => {
    const model = nfnet.create('pico', { numClasses: 4 });
    const trainer = new nfnet.Trainer(model, { totalSteps: 5 });
    const loader = new data.DataLoader(tinySet(), { batchSize: 4 });
    const before = gpu().counters().dispatches;
    await expect(trainer.fit({} as data.DataLoader)).rejects.toThrow(/loader must be a DataLoader/);
    await expect(trainer.fit(loader, { epoch: 1 } as never)).rejects.toThrow(/unknown option 'epoch' \(did you mean 'epochs'\?\)/);
    await expect(trainer.fit(loader, { epochs: 0 })).rejects.toThrow(/epochs must be an integer >= 1/);
    await expect(trainer.fit(loader, { pipeline: 'yes' } as never)).rejects.toThrow(/pipeline must be true or false/);
    await expect(trainer.fit(loader, {}, { onstep: () => {} } as never)).rejects.toThrow(/unknown option 'onstep' \(did you mean 'onStep'\?\)/);
    await expect(trainer.fit(loader, {}, { onStep: 5 } as never)).rejects.toThrow(/hooks.onStep must be a function/);
    await expect(trainer.evaluate(loader, { useEMA: true } as never)).rejects.toThrow(/did you mean 'useEma'/);
    expect(gpu().counters().dispatches).toBe(before);
    trainer.dispose();
    model.dispose();
  });
});

describe('optimizer options', () => {
  it('sgdAgc and ema refuse unknown names, wrong types and bad step arguments', () => {
    const w = tensor(Float32Array.of(1, 2, 3, 4), [2, 2]);
    refused(() => optim.sgdAgc([w], { lr: 0.1, nesterow: true } as never), /unknown option 'nesterow' \(did you mean 'nesterov'\?\)/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, nesterov: 'yes' } as never), /nesterov must be true or false/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, excludeFromAgc: 5 } as never), /excludeFromAgc must be a name, a RegExp or a list of them/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, clipping: null } as never), /clipping must be a finite number >= 0, got null/);
    refused(() => optim.sgdAgc([w], undefined as never), /options are required/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, momentum: 2 }), /momentum must be in \[0, 1\], got 2/);
    refused(() => optim.sgdAgc([w], { lr: 0.1, maxSegmentBytes: -1 }), /maxSegmentBytes must be a finite integer in \[16/);
    const opt = optim.sgdAgc([w], { lr: 0.1 });
    refused(() => opt.step([tensor(Float32Array.of(1, 1, 1, 1), [2, 2])], { lr: 0.1, los: 1 } as never), /did you mean 'loss'/);
    refused(() => opt.step(null as never), /grads must be an array of tensors or a record by name, got null/);
    refused(() => opt.step([tensor(Float32Array.of(1, 1, 1, 1), [2, 2])], { loss: 'x' } as never), /loss must be a Tensor/);
    opt.dispose();
    const e = optim.ema([w]);
    refused(() => e.update([w], 0.5, { gaurd: 1 } as never), /did you mean 'guard'/);
    refused(() => e.update([w], NaN), /decay must be in \[0, 1\]/);
    e.dispose();
    w.dispose();
  });
});

describe('checkpoint metadata', () => {
  it('a config, training options or loader state that could not be built is refused at decode, naming the key', async () => {
    const model = nfnet.create('pico', { numClasses: 4 });
    const trainer = new nfnet.Trainer(model, { totalSteps: 5 });
    const good = await nfnet.encodeCheckpoint(model, trainer, { loader: { epochStartRng: 1, epochs: 1, batchInEpoch: 0 } });
    expect(nfnet.decodeCheckpoint(good).step).toBe(0);
    const { tensors, metadata } = decodeSafetensors(good);
    const host = Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, data: new Float32Array(t.bytes.slice().buffer) }]));
    const withMeta = (patch: Record<string, string>) => encodeSafetensors(host, { ...metadata, ...patch });
    const config = JSON.parse(metadata.config!);
    const bad: [Record<string, string>, RegExp][] = [
      [{ step: 'abc' }, /metadata 'step' must be a non-negative integer, got "abc"/],
      [{ config: JSON.stringify({ ...config, numClasses: 0 }) }, /metadata 'config' is not valid: .*numClasses/],
      [{ config: JSON.stringify({ ...config, padding: 'x' }) }, /metadata 'config' is not valid: .*padding/],
      [{ config: '"pico"' }, /no model config/],
      [{ trainOptions: JSON.stringify({ ...trainer.options, clipping: 'x' }) }, /metadata 'trainOptions' is not valid: Trainer: clipping/],
      [{ loader: JSON.stringify({ epochStartRng: -1, epochs: 1, batchInEpoch: 0 }) }, /metadata 'loader' is not valid/],
      [{ extra: '5' }, /metadata 'extra' must be an object/],
    ];
    for (const [patch, re] of bad) {
      expect(() => nfnet.decodeCheckpoint(withMeta(patch)), JSON.stringify(patch)).toThrow(CheckpointError);
      expect(() => nfnet.decodeCheckpoint(withMeta(patch))).toThrow(re);
    }
    expect(() => nfnet.restore({} as nfnet.NFNet, nfnet.decodeCheckpoint(good))).toThrow(NfnetError);
    trainer.dispose();
    model.dispose();
  });
});
