/** Every network family behind one door: create, info and timm interop by name (src/models/registry.ts). */
export { Model, type Architecture, type ModelConfig, type ForwardOptions, type LayerPlan } from './model.js';
export { create, info, configOf, modelFromConfig, modelNames, families, familyOfVariant, familyOfConfig, type ModelFamily, type TimmInterop, type CreateOptions } from './registry.js';
export { summarize, formatInfo, type NetworkInfo, type StageSummary } from './info.js';
export { importTimm, exportTimm, type ImportOptions, type ImportReport } from './timm.js';
