/** The training data layer: datasets of image+caption records, image preparation, cached latents, batch order. */
export type { ImageCaptionDataset, ImageCaptionRecord, LatentEncoder } from './types.js';
export { DatasetError, ImagePrepError, LatentCacheError, TarError, type DatasetOpenOptions } from './errors.js';
export { IMAGE_EXTENSIONS } from './files.js';
export { openImageFolder, type ImageFolderOptions } from './image-folder.js';
export { indexTar, readTarMember, type TarMember } from './tar.js';
export { openWebDataset } from './webdataset.js';
export { openDataset } from './open-dataset.js';
export { coverCrop, prepareTrainingImage, targetSize, WHITE, type CoverCrop, type ImagePrepOptions, type RgbColor } from './image-prep.js';
export { LatentCache, sampleLatents, type LatentCacheOptions, type LatentEntry } from './latent-cache.js';
export { EpochSampler, torchRandperm, type SamplerPosition } from './batches.js';
export * from './emoji/index.js';
