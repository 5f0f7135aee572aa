/**
 * `info` for any family: the totals and the per-stage table of a network's own layer plan
 * (Architecture.plan), and its text rendering (the CLI prints this; tests read it).
 */
import type { LayerPlan, ModelConfig } from './model.js';

export interface StageSummary {
  stage: string;
  blocks: number;
  channels: number;
  resolution: string;
  params: number;
  macs: number;
}

export interface NetworkInfo<C extends ModelConfig = ModelConfig> {
  variant: string;
  /** The family's title (NFNet, EfficientNet, …). */
  family: string;
  /** The family's one-line summary of the config (activation, widths, …). */
  summary: string;
  resolution: number;
  params: number;
  macs: number;
  stages: StageSummary[];
  config: C;
}

/** The stage-table row of a layer: its own `stage`, else `stages.S` / `blocks.S` / `layerS`-style prefixes, else its first name segment. */
function stageOf(l: LayerPlan): string {
  if (l.stage) return l.stage;
  const parts = l.name.split('.');
  return parts.length >= 3 && /^\d+$/.test(parts[1]!) ? parts.slice(0, 2).join('.') : parts[0]!;
}

/** The per-stage table and totals of a network's layers. */
export function summarize<C extends ModelConfig>(c: C, resolution: number, layers: readonly LayerPlan[], family: { title: string; summary: string }): NetworkInfo<C> {
  const groups = new Map<string, LayerPlan[]>();
  for (const l of layers) {
    const key = stageOf(l);
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(l);
  }
  const stages = [...groups.entries()].map(([stage, ls]) => {
    const last = ls[ls.length - 1]!;
    const shaped = [...ls].reverse().find((l) => l.out.length === 3 && l.kind !== 'linear') ?? last;
    // A block is the name segment after the stage's own (stages.2.block0.conv1 → block0).
    const depth = stage.split('.').length;
    return {
      stage,
      blocks: new Set(ls.map((l) => l.name.split('.')).filter((p) => p.length > depth + 1).map((p) => p[depth])).size,
      channels: shaped.out[shaped.out.length - 1]!,
      resolution: shaped.out.length === 3 ? `${shaped.out[0]}×${shaped.out[1]}` : shaped.out.length === 2 ? `${shaped.out[0]} tokens` : '1×1',
      params: ls.reduce((s, l) => s + l.params, 0),
      macs: ls.reduce((s, l) => s + l.macs, 0),
    };
  });
  return {
    variant: c.variant, family: family.title, summary: family.summary, resolution,
    params: layers.reduce((s, l) => s + l.params, 0),
    macs: layers.reduce((s, l) => s + l.macs, 0),
    stages, config: c,
  };
}

const human = (n: number, unit = '') =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)} G${unit}` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M${unit}` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} K${unit}` : `${n}${unit ? ` ${unit}` : ''}`;

/** `info` as text: the header, the family's summary lines, and the stage table. */
export function formatInfo(i: NetworkInfo): string {
  const head = [
    `${i.variant}  (${i.family}${i.summary ? `, ${i.summary.split('\n')[0]}` : ''})`,
    `parameters       ${i.params.toLocaleString('en-US')}  (${human(i.params)})`,
    `multiply-adds    ${i.macs.toLocaleString('en-US')}  (${human(i.macs)}) at ${i.resolution}×${i.resolution}`,
    ...i.summary.split('\n').slice(1),
    '',
  ];
  const rows = [['stage', 'blocks', 'channels', 'output', 'params', 'MACs'], ...i.stages.map((s) => [s.stage, s.blocks ? String(s.blocks) : '', String(s.channels), s.resolution, human(s.params), human(s.macs)])];
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => r[k]!.length)));
  const table = rows.map((r, n) => {
    const line = r.map((cell, k) => (k === 0 ? cell.padEnd(widths[k]!) : cell.padStart(widths[k]!))).join('  ');
    return n === 0 ? `${line}\n${widths.map((w) => '─'.repeat(w)).join('  ')}` : line;
  });
  return [...head, ...table].join('\n');
}
