export { parseUNetConfig, UNetConfigError, type UNetConfig, type DownBlockType, type UpBlockType, type MidBlockType, type TransformerDepth } from './config.js';
export { resolveUNetLayout, type UNetLayout, type DownBlockPlan, type MidBlockPlan, type UpBlockPlan, type AttentionPlan, type BlockCommon } from './layout.js';
export { ACTIVATIONS, activation, sinusoidalTimestepEmbedding, timestepFrequencies, timestepMlp, type ActivationName, type TimestepsOptions, type TimestepMlpOptions } from './embeddings.js';
export { resnetBlock2D, type ResnetOptions } from './resnet.js';
export { transformer2D, basicTransformerBlock, attentionLayer, gegluFeedForward, type Transformer2DOptions } from './transformer-2d.js';
export { downBlock, midBlock, upBlock, downsample2D, upsample2D, type BlockInputs, type DownBlockResult } from './blocks.js';
export { unet2DConditionModel, unetTimeEmbedding, type UNetInputs, type UNetBuildOptions } from './unet-2d-condition.js';
export { randomUNetWeights } from './init.js';
