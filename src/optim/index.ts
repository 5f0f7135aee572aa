/** Optimizers: `optim.sgdAgc` (AGC + weight decay + Nesterov SGD, multi-tensor) and `optim.ema`. */
export { sgdAgc, SgdAgc, type SgdAgcOptions, type NamePattern } from './sgd-agc.js';
export { ema, Ema, emaDecay } from './ema.js';
export type { ParamSpec, ParamLike } from './params.js';
