/**
 * The `nfnet` command. Subcommands that need no GPU (info) never initialise one.
 */
import { Command } from 'commander';
import { init } from './index.js';
import { info } from './nfnet/index.js';
import { formatInfo } from './nfnet/format.js';

const program = new Command();
program.name('nfnet').description('Normalizer-Free networks on WebGPU').showHelpAfterError();

program
  .command('info')
  .description('parameter count, multiply-adds and per-stage table of a variant (no GPU needed)')
  .argument('<variant>', 'F0…F7, F0+…F7+, nf-resnet-26/50/101, pico, nano, micro')
  .option('--res <pixels>', 'input resolution (default: the variant\'s test resolution)', (v) => Number.parseInt(v, 10))
  .option('--classes <n>', 'number of classes', (v) => Number.parseInt(v, 10))
  .option('--json', 'print JSON')
  .action((variant: string, opts: { res?: number; classes?: number; json?: boolean }) => {
    const i = info(variant, { resolution: opts.res, ...(opts.classes ? { numClasses: opts.classes } : {}) });
    console.log(opts.json ? JSON.stringify(i, null, 2) : formatInfo(i));
  });

program
  .command('adapter')
  .description('show the WebGPU adapter this machine gives, its features and limits')
  .option('--json', 'print JSON')
  .option('--fast', 'enable the Dawn fast-mode toggles')
  .action(async (opts: { json?: boolean; fast?: boolean }) => {
    const gpu = await init({ fast: Boolean(opts.fast) });
    const out = { adapter: gpu.adapter, features: gpu.features, limits: gpu.limits, fast: gpu.fast };
    if (opts.json) console.log(JSON.stringify(out, null, 2));
    else {
      console.log(`${gpu.adapter.description || gpu.adapter.vendor} (${gpu.adapter.platform}${gpu.adapter.software ? ', software' : ''})`);
      console.log(`features: ${gpu.features.join(', ')}`);
      for (const [k, v] of Object.entries(gpu.limits)) console.log(`${k.padEnd(36)} ${v}`);
    }
    await gpu.dispose();
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Typed errors carry a message meant for people: print it without a stack.
  if (e instanceof Error && e.name.endsWith('Error') && 'name' in e && e.constructor !== Error) {
    console.error(`nfnet: ${e.name}: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
