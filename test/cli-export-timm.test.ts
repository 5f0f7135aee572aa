// `nfnet export-timm` end to end: a timm state dict imported, saved as a project checkpoint
// and exported again is the same file byte for byte; a checkpoint timm cannot build is
// refused before any GPU work.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { init, nfnet, ValueError } from '../src/index.js';
import { saveCheckpoint } from '../src/nfnet/checkpoint-node.js';
import { exportTimmFile } from '../src/cli/export-timm.js';
import { stateDictBytes } from './timm-fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nfnet-export-timm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nfnet export-timm', () => {
  it('timm file → importTimm → checkpoint → export-timm gives back the same bytes', async () => {
    const gpu = await init({ verbose: false });
    const { model } = nfnet.importTimm(stateDictBytes('nf_seresnet_tiny'));
    await saveCheckpoint(path.join(dir, 'ck.safetensors'), model);
    const pico = nfnet.create('pico');
    await saveCheckpoint(path.join(dir, 'pico.safetensors'), pico);
    model.dispose();
    pico.dispose();
    await gpu.dispose();

    const out = path.join(dir, 'timm.safetensors');
    const r = await exportTimmFile({ checkpoint: path.join(dir, 'ck.safetensors'), out, ema: true });
    expect(r.weights).toBe('live'); // no EMA in this checkpoint
    expect(r.timmKwargs).toMatchObject({ stem_type: '7x7_pool', attn_layer: 'se', same_padding: false, gamma_in_act: false, skipinit: false });
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(stateDictBytes('nf_seresnet_tiny')))).toBe(true);

    await expect(exportTimmFile({ checkpoint: path.join(dir, 'pico.safetensors'), out: path.join(dir, 'no.safetensors'), ema: true })).rejects.toThrow(ValueError);
  }, 60_000);
});
