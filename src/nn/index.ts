export { Scope, type ParamHook } from './scope.js';
export { fuseLora, fusedWeight, LoraAdapterSet, type FusedLora, type LoraContribution } from './lora.js';
export {
  UnfusedLora,
  loraSlotFromMatch,
  loraTrainingSlot,
  loraParamName,
  loraScaleName,
  isLoraParamName,
  type LoraSlot,
  type LoraSlotSpec,
  type LoraSlotTarget,
  type LoraSlotParams,
} from './lora-graph.js';
export { loraSlotWeights, loraScaleFeeds, splitLoraParams, initLoraWeights, loraModulesFromWeights } from './lora-weights.js';
export { linear, conv, groupNormLayer, layerNormLayer, embedding, type ConvLayerOptions } from './layers.js';
