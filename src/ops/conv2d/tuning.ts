/**
 * The conv launch configuration: knobs that change speed, never results. Defaults below;
 * the current device holds the active value (`init()` applies a cached
 * `npm run bench -- --tune` choice for the adapter, the autotuner writes it through
 * `setConvTuning`), and one call can override any field through `conv2d`'s `tuning`
 * option. The op resolves it once per call and passes it to every algorithm.
 */
import { ValueError } from '../../runtime/errors.js';
import { backend } from '../../runtime/init.js';
import { defineTunable } from '../../runtime/tuning.js';

/** Winograd output tile m of F(m×m, 3×3). */
export type WinogradTile = 2 | 4;

/** Tiling of the implicit-GEMM forward (as GemmConfig.tiles): 'auto' = shared on a hardware adapter, register on a software one. */
export type ConvTiles = 'auto' | 'register' | 'shared';
const CONV_TILES: readonly ConvTiles[] = ['auto', 'register', 'shared'];

export interface ConvTuning {
  /** Invocations per workgroup of the implicit-GEMM forward / dX / dW kernels and the depthwise kernels (1..256). */
  wg: number;
  /** dW split-K: aim for this many threads (see split-k-dw.ts; the depthwise dW too). */
  dwTargetThreads: number;
  /**
   * Smallest cin/groups and cout/groups for which a 3×3 stride-1 undilated conv takes
   * Winograd (forward, dX and dW); 0 turns Winograd off.
   */
  winogradMinChannels: number;
  /**
   * Winograd output tile: 4 = F(4×4, 3×3) (2.25 multiply-adds per output and channel
   * pair), 2 = F(2×2, 3×3) (4; smaller transform constants).
   */
  winogradTile: WinogradTile;
  /**
   * Which forward kernel the convs the other rows leave take: 'register' (direct.ts, small.ts:
   * register tiles, no workgroup memory: what wins on SwiftShader), 'shared' (shared-tiles.ts:
   * workgroup-shared A and B blocks, the style hardware GPUs need), or 'auto': shared on a
   * hardware adapter, register on a software one. dX's stride phases follow (they run the
   * forward table). The autotuner times both and caches the adapter's choice.
   */
  tiles: ConvTiles;
}

export const DEFAULT_CONV_TUNING: Readonly<ConvTuning> = Object.freeze({
  wg: 64,
  dwTargetThreads: 4096,
  winogradMinChannels: 16,
  winogradTile: 4,
  tiles: 'auto',
});

function merge(base: Readonly<ConvTuning>, patch: Partial<ConvTuning>): ConvTuning {
  const t = { ...base, ...patch };
  const ok =
    Number.isInteger(t.wg) && t.wg >= 1 && t.wg <= 256 &&
    Number.isInteger(t.dwTargetThreads) && t.dwTargetThreads >= 1 &&
    Number.isInteger(t.winogradMinChannels) && t.winogradMinChannels >= 0 &&
    (t.winogradTile === 2 || t.winogradTile === 4) &&
    CONV_TILES.includes(t.tiles);
  if (!ok) {
    throw new ValueError(
      `conv tuning: tiles must be 'auto', 'register' or 'shared', wg an integer in 1..256, dwTargetThreads a positive integer, winogradMinChannels a non-negative integer and winogradTile 2 or 4, got wg=${t.wg}, dwTargetThreads=${t.dwTargetThreads}, winogradMinChannels=${t.winogradMinChannels}, winogradTile=${String(t.winogradTile)}, tiles=${JSON.stringify(t.tiles) ?? String(t.tiles)}`,
    );
  }
  return { wg: t.wg, dwTargetThreads: t.dwTargetThreads, winogradMinChannels: t.winogradMinChannels, winogradTile: t.winogradTile, tiles: t.tiles };
}

/** The tiling t asks for, with 'auto' resolved for the current adapter (as the GEMM's `gemmTiles`). */
export function convTiles(t: Readonly<ConvTuning>): Exclude<ConvTiles, 'auto'> {
  if (t.tiles !== 'auto') return t.tiles;
  return backend().adapter.software ? 'register' : 'shared';
}

/** The tune cache's 'conv' entry. */
export const CONV_TUNABLE = defineTunable<ConvTuning>({ name: 'conv', defaults: DEFAULT_CONV_TUNING, merge });

/** The current device's conv tuning, with `patch` (one call's overrides) on top, validated. */
export function convTuning(patch?: Partial<ConvTuning>): Readonly<ConvTuning> {
  const base = backend().tuning(CONV_TUNABLE);
  return patch ? merge(base, patch) : base;
}

/** Set part of the current device's conv tuning (the autotuner's and init()'s door); returns the previous one. */
export function setConvTuning(patch: Partial<ConvTuning>): Readonly<ConvTuning> {
  return backend().setTuning(CONV_TUNABLE, patch);
}
