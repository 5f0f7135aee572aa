/**
 * INTERIM: the model-family seam's types (src/models/model.ts, the lead's, not yet on main),
 * as the contract gives them, so the ViT can be written against them now. Deleted when
 * main's seam is merged (the imports then point at ../models/model.js).
 */
import type { Tensor } from '../tensor/tensor.js';
import type { ModelState, StateLayout } from '../state/model-state.js';

export interface ModelConfig {
  family: string;
  variant: string;
  numClasses: number;
  inChannels: number;
  trainResolution: number;
  testResolution: number;
}

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

export interface Architecture<C extends ModelConfig = ModelConfig> {
  readonly config: C;
  readonly layout: StateLayout;
  plan(resolution: number): LayerPlan[];
  run(state: ModelState, x: Tensor, options: Required<ForwardOptions>): Tensor;
}
