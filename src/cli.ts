/**
 * The `nfnet` command. Subcommands that need no GPU (info) never initialise one.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseSetting } from './cli/settings.js';
import { init, SOFTWARE_ADAPTERS } from './index.js';
import { info } from './models/registry.js';
import { formatInfo } from './models/info.js';
import { modelNames } from './models/registry.js';
import { TRAIN_DEFAULTS } from './nfnet/defaults.js';

const program = new Command();
program.name('nfnet').description('Normalizer-Free networks on WebGPU').showHelpAfterError();

program
  .command('info')
  .description('parameter count, multiply-adds and per-stage table of any model (no GPU needed)')
  .argument('<model>', `a model name: ${modelNames().join(', ')}`)
  .option('--res <pixels>', 'input resolution (default: the variant\'s test resolution)', int)
  .option('--classes <n>', 'number of classes', int)
  .option('--set <key=value>', 'override a field of the model\'s config, repeatable: --set widths=48,96 --set depths=1,2', collectSetting)
  .option('--json', 'print JSON')
  .action((variant: string, opts: { res?: number; classes?: number; set?: Record<string, unknown>; json?: boolean }) => {
    const i = info(variant, { resolution: opts.res, ...opts.set, ...(opts.classes ? { numClasses: opts.classes } : {}) });
    console.log(opts.json ? JSON.stringify(i, null, 2) : formatInfo(i));
  });

/** A whole number, written as one ('3.5', '3x' and '' are refused, not read as 3, 3 and NaN). */
function int(v: string): number {
  if (!/^[+-]?\d+$/.test(v.trim())) throw new InvalidArgumentError(`expected a whole number, got '${v}'`);
  return Number.parseInt(v, 10);
}

/** A finite number ('0.1', '1e-3'; '0.1x', 'NaN' and '' are refused). */
function num(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new InvalidArgumentError(`expected a number, got '${v}'`);
  return x;
}

/** `--set key=value`, repeatable, collected into one overrides object. */
function collectSetting(v: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const setting = parseSetting(v);
  if (!setting) throw new InvalidArgumentError(`expected key=value (e.g. widths=48,96), got '${v}'`);
  return { ...previous, [setting.key]: setting.value };
}

program
  .command('train')
  .description('train a model on a dataset, with a progress bar, per-epoch test accuracy, a learning curve and checkpoints')
  .option('--data <name>', 'fashion-mnist | mnist | cifar10 | folder', 'fashion-mnist')
  .option('--data-dir <dir>', 'dataset folder (default for fashion-mnist: Debian\'s /usr/share/datasets/fashion-mnist)')
  .option('--model <name>', 'the model, any family (nano, F0, efficientnet_b0, resnet50, vit_tiny_patch16_224, …: `nfnet info --help` lists them); default nano, with --init read from the file')
  .option('--variant <name>', 'the same as --model (its older name)')
  .option('--set <key=value>', 'override a field of the model\'s config, repeatable: --set widths=48,96 --set depths=1,2 (`nfnet info <model> --set …` shows the result)', collectSetting)
  .option('--init <timm.safetensors>', 'start from timm weights (a timm state dict) with a fresh classifier for the dataset\'s classes (finetuning)')
  .option('--classes <n>', 'with --init: the number of classes of the new head (must be the dataset\'s)', int)
  .option('--epochs <n>', 'epochs', int, 3)
  .option('--batch <n>', 'batch size', int, 32)
  .option('--lr <x>', 'peak learning rate (default 0.4·batch/256)', num)
  .option('--warmup <epochs>', 'linear warm-up, in epochs', num, 0.2)
  .addOption(new Option('--schedule <name>', `the learning rate's decay to 0 after warm-up (default ${TRAIN_DEFAULTS.schedule})`).choices(['cosine', 'linear']))
  .option('--clipping <λ>', `AGC clipping threshold λ (0 turns AGC off; default ${TRAIN_DEFAULTS.clipping}, 0 for batch-normalized models)`, num)
  .option('--no-agc', 'turn adaptive gradient clipping off (the ablation; same as --clipping 0)')
  .option('--agc-skip-gains', 'clip the zero-initialised skip gains too (the reference; freezes them in short runs)')
  .option('--weight-decay <x>', `weight decay of the convs' and the classifier's weights (gains and biases are not decayed; default ${TRAIN_DEFAULTS.weightDecay})`, num)
  .option('--momentum <x>', `Nesterov momentum (default ${TRAIN_DEFAULTS.momentum})`, num)
  .option('--label-smoothing <ε>', `label smoothing of the cross-entropy (0 turns it off; default ${TRAIN_DEFAULTS.labelSmoothing})`, num)
  .option('--sam-rho <ρ>', 'sharpness-aware minimization with radius ρ, e.g. 0.05 (two forward-backward passes per step; default off)', num)
  .option('--seed <n>', 'seed for init, data order and masks', int, 0)
  .option('--subset <n>', 'use only the first n training images', int)
  .option('--test-subset <n>', 'use only the first n test images', int)
  .option('--size <px>', 'image size for --data folder', int)
  .option('--max-steps <n>', 'stop after n steps (the schedule still spans all epochs)', int)
  .option('--dropout <rate>', 'head dropout (default: the variant\'s)', num)
  .option('--stochastic-depth <rate>', 'stochastic-depth / drop-path rate (default: the variant\'s)', num)
  .option('--crop <px>', 'random-crop augmentation: zero-pad by px and crop back (0 = off)', int, 2)
  .option('--alternate-flips', 'flip each training image every other epoch instead of at random (two epochs show every image both ways; datasets that are flipped at all)')
  .option('--train-res <px>', 'train on random px×px crops (below the test resolution, as the NFNet recipe does); evaluation uses full images', int)
  .option('--out <dir>', 'where to write curve.json, curve.png and checkpoint.safetensors', 'runs/latest')
  .option('--resume <checkpoint>', 'continue from a checkpoint written by this command')
  .option('--no-eval-ema', 'skip evaluating the EMA weights')
  .option('--no-eval-live', 'evaluate only the EMA weights each epoch (half the evaluation time)')
  .option('--tta', 'flip test-time augmentation: score each test image by the mean logits of it and its mirror (twice the evaluation time)')
  .option('--eval-every <epochs>', 'evaluate after every n-th epoch and after the last (default: 1)', int)
  .option('--no-fast', 'keep Dawn\'s robustness checks on')
  .option('--no-progress', 'no progress bar')
  .option('--log-every <steps>', 'without a progress bar (no terminal), print a line every n steps', int, 100)
  .action(async (o) => {
    const { train } = await import('./cli/train.js');
    if (o.model !== undefined && o.variant !== undefined && o.model !== o.variant) program.error(`--model ${o.model} and --variant ${o.variant} disagree (they are the same option)`);
    const { model, ...rest } = o;
    await train({ ...rest, variant: model ?? o.variant ?? (o.init ? 'auto' : 'nano'), progress: o.progress && process.stderr.isTTY !== false });
  });

program
  .command('eval')
  .description('test accuracy of a checkpoint (EMA weights by default when saved)')
  .requiredOption('--checkpoint <file>', 'a checkpoint written by nfnet train')
  .option('--data <name>', 'fashion-mnist | mnist | cifar10 | folder', 'fashion-mnist')
  .option('--data-dir <dir>', 'dataset folder')
  .option('--test-subset <n>', 'use only the first n test images', int)
  .option('--size <px>', 'image size for --data folder', int)
  .option('--no-ema', 'evaluate the live weights instead of the EMA')
  .option('--tta', 'flip test-time augmentation: score each image by the mean logits of it and its mirror')
  .option('--json', 'print JSON')
  .action(async (o) => {
    const { evaluateCheckpoint } = await import('./cli/eval.js');
    const r = await evaluateCheckpoint(o);
    console.log(o.json ? JSON.stringify(r, null, 2) : `${r.variant}: test accuracy ${(100 * r.accuracy).toFixed(2)}% on ${r.count} images (${r.weights} weights${r.tta ? ', flip TTA' : ''}), loss ${r.loss.toFixed(4)}`);
  });

program
  .command('predict')
  .description("classify PNG images with timm weights (timm's eval preprocessing) or a checkpoint of nfnet train: top-5 per image")
  .argument('<images...>', 'PNG files')
  .requiredOption('--checkpoint <file>', 'a timm state dict (.safetensors, e.g. dm_nfnet_f0) or a checkpoint written by nfnet train')
  .option('--variant <name>', 'timm name of a timm file (default: read from its keys)')
  .option('--labels <file>', 'class names, one per line')
  .option('--top <k>', 'classes to list per image', int, 5)
  .option('--res <px>', "input resolution for timm weights (default: timm's test size for the model)", int)
  .option('--no-ema', 'for checkpoints: the live weights instead of the EMA')
  .option('--no-progress', 'no progress bar while the weights load')
  .option('--json', 'print JSON')
  .action(async (images: string[], o) => {
    const { predict, formatPredictions } = await import('./cli/predict.js');
    const r = await predict({ ...o, images, progress: o.progress && !o.json && process.stderr.isTTY === true });
    console.log(o.json ? JSON.stringify(r, null, 2) : formatPredictions(r));
  });

program
  .command('export-timm')
  .description("write a checkpoint's weights as a timm state dict (safetensors) that timm loads with strict=True, any family (docs/timm.md, docs/models.md)")
  .requiredOption('--checkpoint <file>', 'a checkpoint written by nfnet train (a model timm can build: dm_nfnet_f0, nf_resnet50, efficientnet_b0, resnet50, vit_tiny_patch16_224, …)')
  .requiredOption('--out <file>', 'the .safetensors file to write')
  .option('--no-ema', 'export the live weights instead of the EMA')
  .option('--json', 'print JSON')
  .action(async (o) => {
    const { exportTimmFile } = await import('./cli/export-timm.js');
    const r = await exportTimmFile(o);
    if (o.json) console.log(JSON.stringify(r, null, 2));
    else {
      console.log(`${r.variant}: ${r.params} parameters (${r.weights} weights) → ${r.out} (${r.bytes} bytes)`);
      console.log(`timm: ${r.timm}`);
    }
  });

program
  .command('signal')
  .description('signal-propagation report of a freshly initialised model on unit-Gaussian input: JSON + PNG plot')
  .argument('<variant>', 'model variant')
  .option('--res <pixels>', 'input resolution (default: the variant\'s train resolution)', int)
  .option('--batch <n>', 'batch of Gaussian images', int, 4)
  .option('--seed <n>', 'init and input seed', int, 0)
  .option('--out <dir>', 'where to write signal-<variant>.json and .png', 'runs/signal')
  .action(async (variant: string, o: { res?: number; batch: number; seed: number; out: string }) => {
    const { signalReport } = await import('./cli/signal.js');
    await signalReport(variant, o);
  });

program
  .command('study')
  .description("replay one of the papers' claims small (docs/results/claims.md): resumable runs, JSON, PNG figures and a claims fragment")
  .argument('<name>', 'normalization | batch-size | speed | sam | scaling')
  .option('--budget <budget>', 'quick (seconds: ~100 images at 12 px, what the tests run), full (the committed replay: 28 px, about two hours for all five studies here) or long (10–40× the images and a wider grid: hours to days here)', 'quick')
  .option('--out <dir>', 'results go to <dir>/<name>/ (runs/, summary, figures); finished runs there are not redone', 'runs/study')
  .option('--data <name>', 'fashion-mnist | mnist | cifar10 | folder', 'fashion-mnist')
  .option('--data-dir <dir>', 'dataset folder (default for fashion-mnist: Debian\'s /usr/share/datasets/fashion-mnist)')
  .option('--only <parts>', "comma-separated parts of the study (e.g. batch-size: nf,bn; scaling: nfnet,vit)")
  .option('--model <role=name...>', "replace a row of the study's model table, e.g. --model bn=resnet26")
  .option('--no-fast', 'keep Dawn\'s robustness checks on')
  .option('--no-progress', 'no progress bar')
  .option('--plan', 'print the runs, steps and training images the study would take, and stop (no GPU)')
  .action(async (name: string, o) => {
    const { study, studyPlan } = await import('./cli/study.js');
    if (o.plan) {
      const p = studyPlan(name, o);
      console.log(`${p.study} (${p.budget}, parts ${p.parts.join(', ')}): ${p.runs} runs, ${p.steps.toLocaleString('en-US')} steps, ${p.examples.toLocaleString('en-US')} training images; data ${p.data.train} train / ${p.data.test} test at ${p.data.resolution} px`);
      return;
    }
    await study(name, { ...o, progress: o.progress && process.stderr.isTTY === true });
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

// Every command that opens the GPU takes the software driver to use when there is none.
for (const cmd of program.commands.filter((c) => c.name() !== 'info')) {
  cmd.addOption(
    new Option('--software-adapter <name>', "software Vulkan driver when there is no GPU: swiftshader (default), or lavapipe (about 2x faster; npm run setup:lavapipe)").choices(
      SOFTWARE_ADAPTERS,
    ),
  );
}
program.hook('preAction', (_program, command) => {
  const choice = command.opts<{ softwareAdapter?: string }>().softwareAdapter;
  if (choice) process.env.NFNET_SOFTWARE_ADAPTER = choice;
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
