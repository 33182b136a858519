export { Scope } from './scope.js';
export { linear, conv, groupNormLayer, layerNormLayer, embedding, type ConvLayerOptions } from './layers.js';
