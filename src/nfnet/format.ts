/** The NFNet family's summary lines in `info` (the header and stage table are src/models/info.ts). */
import type { NFNetConfig } from './variants.js';

export { formatInfo } from '../models/info.js';

/** First line: the kind of network; the rest: the numerics and training fields. */
export function describeNFNet(c: NFNetConfig): string {
  return [
    `${c.activation}, α=${c.alpha}, SE ratio ${c.seRatio}, group width ${c.groupWidth ?? '—'}`,
    `train/test px    ${c.trainResolution}/${c.testResolution}   dropout ${c.dropout}   stochastic depth ${c.stochDepthRate}`,
    `numerics         ${c.wsForm} WS (ε ${c.wsEps}), ${c.padding} padding, γ in ${c.gammaPlacement === 'conv' ? 'convs' : 'activations'}, ${c.skipGain ? 'skip gains' : 'no skip gains'}, ${c.transitionShortcut} shortcuts (docs/timm.md)`,
  ].join('\n');
}

export const nfnetTitle = (c: NFNetConfig) => (c.family === 'nfnet' ? 'NFNet' : 'NF-ResNet');
