/**
 * What training reads: image+caption records, whatever the storage (an image folder, webdataset shards, the
 * emoji packages). Images stay encoded until used, so a dataset of thousands costs a list of names.
 */
export interface ImageCaptionRecord {
  /** Stable and unique within the dataset (relative path, tar key, emoji id): logs and the data position use it. */
  readonly id: string;
  readonly caption: string;
  /** The encoded image (PNG/JPEG/WebP), read when needed. */
  readBytes(): Promise<Buffer>;
}

export interface ImageCaptionDataset {
  /** For messages: the path or name the dataset came from. */
  readonly source: string;
  readonly records: readonly ImageCaptionRecord[];
}

/** Encodes training images into latent distributions (the pipeline's VAE encoder provides this). */
export interface LatentEncoder {
  /** Changes whenever the encoder's weights or config change (cache entries of another identity are not reused). */
  readonly identity: string;
  /** pixels: [n, 3, height, width] in [−1, 1] → the latent distribution's mean and std, each [n, C, h, w]. */
  encodeImages(pixels: Float32Array, n: number, height: number, width: number): Promise<{ mean: Float32Array; std: Float32Array }>;
}
