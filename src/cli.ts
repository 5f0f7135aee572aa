/**
 * The `nfnet` command. Subcommands that need no GPU (info) never initialise one.
 */
import { Command } from 'commander';
import { init } from './index.js';

const program = new Command();
program.name('nfnet').description('Normalizer-Free networks on WebGPU').showHelpAfterError();

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

await program.parseAsync(process.argv);
