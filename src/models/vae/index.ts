export { VaeConfigError } from './config-fields.js';
export { parseAutoencoderKLConfig, type AutoencoderKLConfig, type VaeDownBlockType, type VaeUpBlockType } from './config.js';
export { vaeAttention, vaeMidBlock, downEncoderBlock, upDecoderBlock, type VaeBlockOptions } from './blocks.js';
export { vaeEncoder } from './encoder.js';
export { vaeDecoder } from './decoder.js';
export { vaeEncode, vaeDecode, scaleLatents, unscaleLatents, type LatentMoments, type LatentScaling } from './autoencoder-kl.js';
export { parseAutoencoderTinyConfig, type AutoencoderTinyConfig } from './taesd-config.js';
export { taesdEncode, taesdDecode, autoencoderTinyBlock, taesdLatentsToUnitRange, taesdLatentsFromUnitRange } from './taesd.js';
