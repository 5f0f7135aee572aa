// timm interop against timm itself: small timm NormFreeNets of each family (made and run in
// float64 by scripts/timm-fixtures.py, timm commit in test/fixtures/timm/manifest.json) give
// the same logits and activations here, built from the timm name + overrides or from the
// state dict's keys; import → export is byte-identical; the project's own weights exported
// are what timm loaded (strict) and checked.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nfnet, noGrad, tensor, ValueError, type Tensor } from '../src/index.js';
import { NFNet } from '../src/nfnet/model.js';
import { maxRelErr, relErr } from './harness.js';
import { useGpu } from './setup.js';
import { exportRecipeModel, fixtureIO, manifest, stateDictBytes } from './timm-fixtures.js';

useGpu();
const M = manifest();
const TOL = 1e-4;

/** Logits and the activations after the stem and each stage's last block. */
async function run(model: NFNet, x: { shape: number[]; data: Float32Array }): Promise<{ logits: Float32Array; acts: Map<string, Float32Array> }> {
  const traced = new Map<string, Tensor>();
  const y = noGrad(() => model.forward(tensor(x.data, x.shape), { trace: (name, t) => traced.set(name, t) }));
  const acts = new Map<string, Float32Array>();
  for (const [name, t] of traced) {
    const stage = /^stages\.(\d+)\./.exec(name)?.[1];
    acts.set(stage === undefined ? name : `stages.${stage}`, Float32Array.from(await t.data())); // the last block of a stage wins
  }
  return { logits: Float32Array.from(await y.data()), acts };
}

describe('timm fixtures: timm weights give timm outputs', () => {
  it(`come from timm ${M.timm.commit.slice(0, 12)} and cover all four families`, () => {
    expect(M.timm.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(Object.keys(M.fixtures).sort()).toEqual(['dm_nfnet_tiny', 'nf_resnet_tiny', 'nf_seresnet_tiny', 'nfnet_tiny']);
  });

  for (const [name, fx] of Object.entries(M.fixtures)) {
    const { variant, overrides } = fx.project;

    it(`${name}: ${variant} + overrides is timm's network: parameter count and timm's NfCfg`, () => {
      const cfg = nfnet.variantConfig(variant, overrides);
      expect(nfnet.networkInfo(cfg).params).toBe(fx.params);
      const ours = nfnet.timmNfCfg(cfg);
      for (const [k, v] of Object.entries(ours)) expect(v, `NfCfg.${k}`).toEqual(fx.timmConfig[k]);
    });

    it(`${name}: logits (odd and even inputs) and stem/stage activations within ${TOL} of timm's float64; import → export byte-identical`, async () => {
      const io = fixtureIO(name);
      const bytes = stateDictBytes(name);
      const model = nfnet.create(variant, overrides);
      const report = nfnet.importTimm(model, bytes);
      expect(report.ignored).toEqual([]);
      expect(report.loaded).toBe(model.state.params.length);
      const firstLogits: Float32Array[] = [];
      for (const kind of ['odd', 'even']) {
        const { logits, acts } = await run(model, io.get(`input.${kind}`)!);
        const want = io.get(`logits.${kind}`)!;
        expect(relErr(logits, want.data), `${kind} logits`).toBeLessThanOrEqual(TOL);
        firstLogits.push(logits);
        if (kind !== 'odd') continue;
        for (const [key, act] of io) {
          if (!key.startsWith('act.')) continue;
          const got = acts.get(key.slice(4))!;
          expect(got.length, key).toBe(act.data.length);
          expect(relErr(got, act.data), key).toBeLessThanOrEqual(TOL);
        }
      }
      // The same network read from the state dict's keys alone.
      const fromKeys = nfnet.importTimm(bytes).model;
      const strip = (c: nfnet.NFNetConfig) => ({ ...c, variant: '', dropout: 0, stochDepthRate: 0, trainResolution: 0, testResolution: 0 });
      expect(strip(fromKeys.config)).toEqual(strip(model.config));
      expect(fromKeys.config.variant).toMatch(/-custom$/);
      const again = await run(fromKeys, io.get('input.odd')!);
      expect(maxRelErr(again.logits, firstLogits[0]!)).toBe(0);
      // Export of an import: the very bytes timm wrote out.
      expect(Buffer.from(await nfnet.exportTimm(fromKeys)).equals(Buffer.from(bytes))).toBe(true);
      model.dispose();
      fromKeys.dispose();
    });

    it(`${name}: every numerics option is exercised: flipping any one breaks the ${TOL} agreement`, async () => {
      const io = fixtureIO(name);
      const base = nfnet.variantConfig(variant, overrides);
      const flips: Partial<nfnet.NFNetConfig>[] = [
        base.wsForm === 'timm' ? { wsForm: 'reference', wsEps: 1e-4 } : { wsForm: 'timm', wsEps: 1e-5 },
        { wsEps: base.wsEps * 10 },
        { padding: base.padding === 'same' ? 'symmetric' : 'same' },
        { gammaPlacement: base.gammaPlacement === 'conv' ? 'activation' : 'conv' },
        { transitionShortcut: base.transitionShortcut === 'avgpool' ? 'strided' : 'avgpool' },
        ...(base.activation === 'gelu_erf' ? [{ activation: 'gelu' } as const] : []),
      ];
      for (const flip of flips) {
        const model = new NFNet({ ...base, ...flip });
        nfnet.importTimm(model, stateDictBytes(name));
        // The smallest effect measured (tanh GELU, reference WS) is 2.6e-4: at least 2.6× the tolerance.
        const worst = Math.max(...(await Promise.all(['odd', 'even'].map(async (kind) => relErr((await run(model, io.get(`input.${kind}`)!)).logits, io.get(`logits.${kind}`)!.data)))));
        expect(worst, JSON.stringify(flip)).toBeGreaterThan(TOL);
        model.dispose();
      }
    });

    it(`${name}: the project's own weights, exported, are the file timm loaded with strict=True and matched to ${TOL}`, async () => {
      const checked = M.exports?.[name];
      expect(checked, 'scripts/timm-fixtures.py check-exports has run').toBeDefined();
      const model = exportRecipeModel(name, checked!.seed);
      const bytes = await nfnet.exportTimm(model);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(checked!.sha256);
      for (const kind of ['odd', 'even']) expect(checked!.relErr[kind], kind).toBeLessThanOrEqual(TOL);
      model.dispose();
    });
  }

  it('full-size timm models: parameter counts equal timm\'s, exactly', () => {
    expect(Object.keys(M.fullSizeParams)).toContain('nf_resnet50');
    for (const [name, count] of Object.entries(M.fullSizeParams)) expect(nfnet.info(name).params, name).toBe(count);
    // The reference NF-ResNet-50 has 16 skip gains more than timm's.
    expect(nfnet.info('nf-resnet-50').params - M.fullSizeParams.nf_resnet50!).toBe(16);
  });
});

describe('timm names and the DeepMind reference', () => {
  it('timm names select timm numerics; the reference variants keep theirs', () => {
    const dm = nfnet.variantConfig('dm_nfnet_f0');
    const f0 = nfnet.variantConfig('F0');
    expect(dm).toMatchObject({ wsForm: 'timm', wsEps: 1e-5, activation: 'gelu_erf', padding: 'same', skipGain: true, gammaPlacement: 'activation' });
    expect(f0).toMatchObject({ wsForm: 'reference', wsEps: 1e-4, activation: 'gelu', padding: 'same', skipGain: true, gammaPlacement: 'activation', transitionShortcut: 'avgpool' });
    const { variant: _a, activation: _b, wsForm: _c, wsEps: _d, ...dmRest } = dm;
    const { variant: _e, activation: _f, wsForm: _g, wsEps: _h, ...f0Rest } = f0;
    expect(dmRest).toEqual(f0Rest); // otherwise the same network
    expect(nfnet.variantConfig('nf_resnet50')).toMatchObject({ padding: 'symmetric', skipGain: false, transitionShortcut: 'avgpool', gammaPlacement: 'conv', wsForm: 'timm' });
    expect(nfnet.variantConfig('nf-resnet-50')).toMatchObject({ padding: 'same', skipGain: true, transitionShortcut: 'strided', gammaPlacement: 'activation', wsForm: 'reference' });
  });

  it('exportTimm and timmNfCfg refuse what timm cannot build, naming each reason', async () => {
    const pico = nfnet.create('pico');
    await expect(nfnet.exportTimm(pico)).rejects.toThrow(ValueError);
    expect(() => nfnet.timmNfCfg(pico.config)).toThrow(/wsForm is 'reference'.*activation 'gelu'/);
    expect(() => nfnet.timmNfCfg(nfnet.variantConfig('nf-resnet-50'))).toThrow(/transitionShortcut 'strided'/);
    expect(nfnet.timmNfCfg(nfnet.variantConfig('dm_nfnet_f0'))).toMatchObject({ stem_type: 'deep_quad', stem_chs: 128, group_size: 128, same_padding: true, gamma_in_act: true, skipinit: true, act_layer: 'gelu' });
    pico.dispose();
  });

  it('importTimm reports progress per tensor: rising element counts that end at the parameter count', () => {
    const calls: [number, number][] = [];
    const { model, loaded } = nfnet.importTimm(stateDictBytes('dm_nfnet_tiny'), { onProgress: (done, total) => calls.push([done, total]) });
    expect(calls).toHaveLength(loaded); // one call per tensor placed
    expect(calls.every(([, total]) => total === model.parameterCount())).toBe(true);
    expect(calls.every(([done], i) => i === 0 || done > calls[i - 1]![0])).toBe(true);
    expect(calls[calls.length - 1]![0]).toBe(model.parameterCount());
    model.dispose();
  });

  it('importTimm with freshHead keeps every weight but the classifier, which the model\'s init draws for the new classes', async () => {
    const name = 'dm_nfnet_tiny';
    const { model: full } = nfnet.importTimm(stateDictBytes(name));
    const { model, ignored } = nfnet.importTimm(stateDictBytes(name), { freshHead: true, overrides: { numClasses: 3 }, seed: 7 });
    expect(ignored.sort()).toEqual(['head.fc.bias', 'head.fc.weight']);
    expect(model.config.numClasses).toBe(3);
    const [a, b] = [await full.state.read(), await model.state.read()];
    for (const [k, v] of b) {
      if (k.startsWith('head.fc.')) continue;
      expect(maxRelErr(v, a.get(k)!), k).toBe(0);
    }
    // The fresh head is what a model of this config and seed is initialised with.
    const own = nfnet.create(M.fixtures[name]!.project.variant, { ...M.fixtures[name]!.project.overrides, numClasses: 3, seed: 7 });
    const ownHead = await own.state.read();
    expect(b.get('head.fc.weight')!.length).toBe(64 * 3);
    expect(Array.from(b.get('head.fc.weight')!)).toEqual(Array.from(ownHead.get('head.fc.weight')!));
    expect(Array.from(b.get('head.fc.bias')!)).toEqual([0, 0, 0]);
    expect(() => nfnet.importTimm(stateDictBytes(name), { freshHead: true })).toThrow(/numClasses/);
    for (const m of [full, model, own]) m.dispose();
  });

  it('importTimm by timm name takes classes from the file and rejects a name whose shapes do not match', () => {
    const bytes = stateDictBytes('nf_resnet_tiny');
    const { numClasses: _, ...overrides } = M.fixtures.nf_resnet_tiny!.project.overrides;
    const { model } = nfnet.importTimm(bytes, { variant: 'nf_resnet50', overrides });
    expect(model.config.variant).toBe('nf_resnet50');
    expect(model.config.numClasses).toBe(M.numClasses);
    model.dispose();
    expect(() => nfnet.importTimm(bytes, { variant: 'nf_resnet50', overrides: { ...overrides, widths: [16, 32, 40] } })).toThrow(/expected shape/);
  });
});
