export { parseControlNetConfig, controlNetConfigFromUNet, controlNetImageFactor, ControlNetConfigError, type ControlNetConfig, type ChannelOrder, type FromUNetOptions } from './config.js';
export { controlNetConditioningEmbedding, type ConditioningEmbeddingOptions } from './conditioning-embedding.js';
export { controlNetModel, isZeroInitialisedKey, type ControlNetInputs, type ControlNetOutputs } from './controlnet-model.js';
