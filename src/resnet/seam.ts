/**
 * Stand-in for the model-family seam's types (contract of issue #18, src/models/model.ts,
 * on main soon): removed when main is merged, the imports then point at src/models/.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { ModelState, StateLayout } from '../state/model-state.js';

export interface ForwardOptions {
  training?: boolean;
  seed?: number;
  trace?: (name: string, activations: Tensor) => void;
  state?: ModelState;
}

export interface LayerPlan {
  name: string;
  kind: string;
  params: number;
  macs: number;
  out: number[];
  detail: string;
  stage?: string;
}

export interface Architecture<C> {
  readonly config: C;
  readonly layout: StateLayout;
  plan(resolution: number): LayerPlan[];
  run(state: ModelState, x: Tensor, options: Required<ForwardOptions>): Tensor;
}
