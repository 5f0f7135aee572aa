/**
 * `nfnet study <name>`: run one of the papers' claims, small, with one progress bar over
 * the whole study. Ctrl-C stops after the step in flight; finished runs are kept, and the
 * same command resumes from them.
 */
import cliProgress from 'cli-progress';
import { init } from '../runtime/init.js';
import { planStudy, runStudy, type PlanSummary, type StudyOptions, type StudyOutcome } from '../study/runner.js';
import { getStudy } from '../study/studies.js';
import { BUDGETS, type Budget } from '../study/types.js';
import { checkOneOf } from '../runtime/validate.js';

export interface StudyArgs {
  budget: Budget;
  out: string;
  data: string;
  dataDir?: string;
  only?: string;
  /** role=name pairs, comma-separated: replace rows of the study's MODELS table. */
  model?: string[];
  fast: boolean;
  progress: boolean;
}

/** "bn=resnet26" → { bn: 'resnet26' } */
function parseModels(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  return Object.fromEntries(pairs.map((p) => {
    const [role, name] = p.split('=');
    return [role!.trim(), (name ?? '').trim()];
  }));
}

/** `--plan`: the runs, steps and images a study would train, without a GPU. */
export function studyPlan(name: string, a: Pick<StudyArgs, 'budget' | 'only' | 'model'>): PlanSummary {
  return planStudy(name, {
    budget: a.budget, ...(a.only ? { only: a.only.split(',').map((s) => s.trim()) } : {}), ...(parseModels(a.model) ? { models: parseModels(a.model) } : {}),
  });
}

export async function study(name: string, a: StudyArgs): Promise<StudyOutcome> {
  // The name and budget are checked before a GPU is asked for (runStudy checks the rest).
  getStudy(name);
  checkOneOf('study', '--budget', a.budget, BUDGETS);
  const gpu = await init({ fast: a.fast, verbose: false });
  const controller = new AbortController();
  const onSigint = () => {
    console.error('\nstopping after the step in flight; finished runs are kept (rerun the same command to resume)');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  const bar = a.progress
    ? new cliProgress.SingleBar({ format: `${name} |{bar}| {value}/{total} steps | run {index}/{runs} {run} loss {loss} | ETA {eta_formatted}`, hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
    : null;
  let started = false;
  let lastRun = '';
  const options: StudyOptions = {
    budget: a.budget, out: a.out, data: a.data, dataDir: a.dataDir, signal: controller.signal,
    ...(a.only ? { only: a.only.split(',').map((s) => s.trim()) } : {}),
    ...(parseModels(a.model) ? { models: parseModels(a.model) } : {}),
    command: ['npm run nfnet -- study', name, ...process.argv.slice(3).filter((x) => x !== name)].join(' '),
    onProgress: (p) => {
      const shown = { run: p.run, index: p.runIndex + 1, runs: p.runs, loss: Number.isFinite(p.loss) ? p.loss.toFixed(3) : String(p.loss) };
      if (bar) {
        if (!started) bar.start(p.total, p.done, shown);
        started = true;
        bar.setTotal(p.total);
        bar.update(p.done, shown);
      } else if (p.run !== lastRun) console.error(`run ${p.runIndex + 1}/${p.runs}: ${p.run}`);
      lastRun = p.run;
    },
  };
  try {
    const outcome = await runStudy(name, options);
    bar?.stop();
    if (outcome.reused.length) console.error(`${outcome.reused.length} finished run(s) read back from ${outcome.dir}/runs`);
    if (!outcome.complete) console.error(`stopped: ${outcome.results.length} run(s) done; rerun the same command to resume`);
    for (const f of outcome.files) console.error(`wrote ${f}`);
    return outcome;
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
    await gpu.dispose();
  }
}
