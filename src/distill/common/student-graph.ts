/**
 * What every distillation graph is built from: the teacher UNet's config, the batch and its latent and text shapes,
 * and the student LoRA (its target weights, rank and alpha). The methods' graph options extend it.
 */
import type { UNetConfig } from '../../models/unet/index.js';

export interface StudentGraphOptions {
  readonly unet: UNetConfig;
  readonly batch: number;
  /** Latent [C, h, w]. */
  readonly latentShape: readonly [number, number, number];
  /** Text states [tokens, width]. */
  readonly textShape: readonly [number, number];
  /** SDXL: pooled text embedding width (adds text_embeds/time_ids inputs). */
  readonly pooledWidth?: number;
  /** Weights the LoRA adapts, with their shapes. */
  readonly loraTargets: ReadonlyMap<string, readonly number[]>;
  readonly rank: number;
  readonly alpha: number;
}
