// Choosing the software Vulkan driver (init's softwareAdapter, NFNET_SOFTWARE_ADAPTER, the
// CLI's --software-adapter): bad names are refused by name before any GPU work; lavapipe
// either gives an llvmpipe adapter the kernels treat as software, or a DeviceError that says
// how to install one Dawn accepts. Each case runs `nfnet adapter` in a fresh process, since
// the driver is chosen once per process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { init, ValueError } from '../src/index.js';

const emptyCache = mkdtempSync(path.join(tmpdir(), 'nfnet-no-lavapipe-'));
afterAll(() => rmSync(emptyCache, { recursive: true, force: true }));

function adapterCli(args: string[], env: Record<string, string> = {}) {
  const { VK_ICD_FILENAMES: _icd, NFNET_SOFTWARE_ADAPTER: _sw, ...base } = process.env;
  return spawnSync(process.execPath, ['scripts/run-ts.mjs', 'src/cli.ts', 'adapter', '--json', ...args], {
    encoding: 'utf8',
    env: { ...base, ...env },
    timeout: 120_000,
  });
}

describe('software adapter choice', () => {
  it('init refuses an unknown driver name before requesting an adapter', async () => {
    await expect(init({ softwareAdapter: 'mesa' as never })).rejects.toThrow(ValueError);
    await expect(init({ softwareAdapter: 'mesa' as never })).rejects.toThrow(/softwareAdapter must be one of 'swiftshader', 'lavapipe', got "mesa"/);
  });

  it('the environment variable and the CLI flag are checked by name', () => {
    const env = adapterCli([], { NFNET_SOFTWARE_ADAPTER: 'llvm' });
    expect(env.status).not.toBe(0);
    expect(env.stderr).toMatch(/ValueError.*NFNET_SOFTWARE_ADAPTER must be one of 'swiftshader', 'lavapipe', got "llvm"/);
    const flag = adapterCli(['--software-adapter', 'llvm']);
    expect(flag.status).not.toBe(0);
    expect(flag.stderr).toMatch(/--software-adapter <name>' argument 'llvm' is invalid\. Allowed choices are swiftshader, lavapipe/);
  });

  it('SwiftShader stays the default software adapter', () => {
    const run = adapterCli([]);
    expect(run.status, run.stderr).toBe(0);
    const { adapter } = JSON.parse(run.stdout);
    if (!/swiftshader/i.test(`${adapter.vendor} ${adapter.description}`)) return; // a machine with a GPU keeps it
    expect(adapter.software).toBe(true);
  });

  it("lavapipe without the setup script's copy: an llvmpipe adapter from a new enough system Mesa, or a DeviceError naming the fix", () => {
    const run = adapterCli(['--software-adapter', 'lavapipe'], { XDG_CACHE_HOME: emptyCache });
    if (run.status === 0) {
      const { adapter } = JSON.parse(run.stdout);
      expect(adapter.description).toMatch(/llvmpipe/);
      expect(adapter.software).toBe(true);
    } else {
      expect(run.stderr).toMatch(/DeviceError/);
      expect(run.stderr).toMatch(/npm run setup:lavapipe/);
    }
  });
});
