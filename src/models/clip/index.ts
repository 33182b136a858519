export { parseClipTextConfig, ClipConfigError, CLIP_ACTIVATIONS, type ClipTextConfig, type ClipActivation } from './config.js';
export { clipTextModel, clipTextModelWithProjection, ClipInputError, type ClipTextOutputs, type ClipTextProjectionOutputs, type ClipTextModelOptions } from './text-model.js';
export { clipPoolingIndex, poolingOneHot } from './pooling.js';
export { clipInputIdsTensor } from './inputs.js';
