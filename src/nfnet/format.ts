/** Text rendering of `nfnet info` (the CLI prints this; tests read it). */
import type { NetworkInfo } from './plan.js';

const human = (n: number, unit = '') =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)} G${unit}` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M${unit}` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} K${unit}` : `${n}${unit ? ` ${unit}` : ''}`;

export function formatInfo(i: NetworkInfo): string {
  const c = i.config;
  const head = [
    `${i.variant}  (${c.family === 'nfnet' ? 'NFNet' : 'NF-ResNet'}, ${c.activation}, α=${c.alpha}, SE ratio ${c.seRatio}, group width ${c.groupWidth ?? '—'})`,
    `parameters       ${i.params.toLocaleString('en-US')}  (${human(i.params)})`,
    `multiply-adds    ${i.macs.toLocaleString('en-US')}  (${human(i.macs)}) at ${i.resolution}×${i.resolution}`,
    `train/test px    ${c.trainResolution}/${c.testResolution}   dropout ${c.dropout}   stochastic depth ${c.stochDepthRate}`,
    `numerics         ${c.wsForm} WS (ε ${c.wsEps}), ${c.padding} padding, γ in ${c.gammaPlacement === 'conv' ? 'convs' : 'activations'}, ${c.skipGain ? 'skip gains' : 'no skip gains'}, ${c.transitionShortcut} shortcuts (docs/timm.md)`,
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
