/**
 * dX as sh·sw forward convolutions of dy, one per stride phase (for stride 1: one, with
 * the flipped weights), each with that phase's flipped, in/out-swapped sub-kernel; the
 * phases are then interleaved into dX, so no work is spent on stride holes. Each phase's
 * conv runs through the forward algorithm table (direct, pointwise or Winograd), except
 * that Winograd F(4×4) reads the flipped filters from w in place instead of a copy.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { empty, zeros } from '../../tensor/creation.js';
import { defineKernel } from '../../runtime/kernel.js';
import { backend } from '../util.js';
import type { ConvAlgorithmRun } from './algorithms.js';
import type { ConvGeometry } from './geometry.js';
import { HELPER_WG, params } from './shared.js';
import type { ConvTuning } from './tuning.js';
import { usesWinograd, winogradForward } from './winograd.js';
import convWgsl from '../../../shaders/conv2d.wgsl';

const PHASE_WEIGHTS = defineKernel('conv2d', convWgsl, 'phase_weights');
const SCATTER_PHASE = defineKernel('conv2d', convWgsl, 'scatter_phase');

/**
 * The taps of one axis that reach input positions ≡ `phase` (mod s) in the transposed
 * conv: ky with (phase + p − ky·d) divisible by s, an arithmetic progression. Listed in
 * flipped order (descending ky = ascending dy offset c = (phase + p − ky·d)/s), so the
 * phase is a stride-1 correlation of dy with `count` taps spaced `dil` apart, starting at
 * dy offset `c0` (≤ 0 means top padding −c0).
 */
interface PhaseTaps {
  first: number;
  step: number;
  count: number;
  dil: number;
  c0: number;
}

function phaseTaps(k: number, s: number, d: number, p: number, phase: number): PhaseTaps {
  const taps = [...Array(k).keys()].filter((ky) => (((phase + p - ky * d) % s) + s) % s === 0).reverse();
  const gap = taps.length > 1 ? taps[0]! - taps[1]! : 1;
  return { first: taps[0] ?? 0, step: -gap, count: taps.length, dil: (gap * d) / s, c0: (phase + p - (taps[0] ?? 0) * d) / s };
}

interface Phase {
  py: number;
  px: number;
  ty: PhaseTaps;
  tx: PhaseTaps;
  /** The phase's own conv: dy as input, dX's rows/cols of this phase as output. */
  tg: ConvGeometry;
}

/**
 * The phases of dX, each a stride-1 forward conv of dy. A phase whose first tap starts
 * below dy's first row (padding wider than the kernel's reach) gets a negative padding:
 * pad_input crops.
 */
function dxPhases(g: ConvGeometry): Phase[] {
  const phases: Phase[] = [];
  for (let py = 0; py < Math.min(g.sh, g.h); py++) {
    for (let px = 0; px < Math.min(g.sw, g.w); px++) {
      const ty = phaseTaps(g.kh, g.sh, g.dh, g.pt, py);
      const tx = phaseTaps(g.kw, g.sw, g.dw, g.pl, px);
      const tg: ConvGeometry = {
        ...g, h: g.ho, w: g.wo, cin: g.cout, cout: g.cin, cig: g.cog, cog: g.cig,
        ho: Math.ceil((g.h - py) / g.sh), wo: Math.ceil((g.w - px) / g.sw),
        kh: ty.count, kw: tx.count, sh: 1, sw: 1, dh: ty.dil, dw: tx.dil, pt: -ty.c0, pl: -tx.c0,
      };
      phases.push({ py, px, ty, tx, tg });
    }
  }
  return phases;
}

function phaseWeights(w: Tensor, g: ConvGeometry, ph: Phase): Tensor {
  const out = empty([ph.ty.count, ph.tx.count, g.cog, g.cin]);
  backend().dispatch({
    kernel: PHASE_WEIGHTS,
    bindings: { wt: w, out },
    params: params(g, { tiles_n: 0, tap: [ph.ty.first, ph.ty.step, ph.tx.first, ph.tx.step], phase: [ph.ty.count, ph.tx.count, 0, 0] }),
    workgroups: Math.ceil(out.size / HELPER_WG),
  });
  return out;
}

function scatterPhase(part: Tensor, dx: Tensor, g: ConvGeometry, ph: Phase): void {
  backend().dispatch({
    kernel: SCATTER_PHASE,
    bindings: { part, out: dx },
    params: params(g, { tiles_n: 0, phase: [ph.py, ph.px, ph.tg.ho, ph.tg.wo] }),
    overrides: { VEC_K: g.cin % 4 === 0 ? 1 : 0 },
    workgroups: Math.ceil(part.size / (g.cin % 4 === 0 ? 4 : 1) / HELPER_WG),
  });
}

/** One phase's dX values ([n, hq, wq, cin]); zeros where no tap reaches the phase. */
function phaseDx(dy: Tensor, w: Tensor, g: ConvGeometry, ph: Phase, t: Readonly<ConvTuning>, forward: ConvAlgorithmRun): Tensor {
  if (!ph.ty.count || !ph.tx.count) return zeros([g.n, ph.tg.ho, ph.tg.wo, g.cin]);
  // A Winograd phase has all 3×3 taps, undilated, so the conv is stride 1 and the phase's
  // filters are w rotated 180°: the F(4×4) filter transform reads them from w in place.
  if (usesWinograd(ph.tg, t) && t.winogradTile === 4) return winogradForward(dy, w, ph.tg, t, true);
  const wp = phaseWeights(w, g, ph);
  const part = forward(dy, wp, ph.tg, t);
  wp.dispose();
  return part;
}

/** dX of the conv of geometry g; `forward` runs each phase's conv (the forward algorithm table). */
export function stridePhaseDx(dy: Tensor, w: Tensor, g: ConvGeometry, t: Readonly<ConvTuning>, forward: ConvAlgorithmRun): Tensor {
  const phases = dxPhases(g);
  if (phases.length === 1) return phaseDx(dy, w, g, phases[0]!, t, forward);
  const dx = empty([g.n, g.h, g.w, g.cin]);
  for (const ph of phases) {
    const part = phaseDx(dy, w, g, ph, t, forward);
    scatterPhase(part, dx, g, ph);
    part.dispose();
  }
  return dx;
}
