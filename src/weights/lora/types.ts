/**
 * A LoRA adapter as read from a file, independent of its key format: per target module a down (A) and an
 * up (B) matrix and an optional alpha. The update it stands for is ΔW = (alpha/rank)·reshape(up·down).
 */
import { SafetensorsError } from '../errors.js';

/** The pipeline part a LoRA module belongs to (the `unet.` / `lora_te2_` … prefix of its keys). */
export type LoraComponent = 'unet' | 'text_encoder' | 'text_encoder_2';

export const LORA_COMPONENTS: readonly LoraComponent[] = ['unet', 'text_encoder', 'text_encoder_2'];

export type LoraFormat = 'kohya' | 'peft';

export interface LoraTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface LoraTarget {
  readonly component: LoraComponent;
  /** The module as named in the file: kohya underscored (`down_blocks_1_..._to_q`) or peft dotted. */
  readonly module: string;
  readonly format: LoraFormat;
  /** [rank, in] for Linear, [rank, in, kh, kw] for Conv2d (LoCon). */
  readonly down: LoraTensor;
  /** [out, rank] for Linear, [out, rank, 1, 1] for Conv2d. */
  readonly up: LoraTensor;
  /** null: no alpha stored, which means alpha = rank (scale 1), as peft and diffusers read it. */
  readonly alpha: number | null;
  readonly rank: number;
  /** The file keys this target was read from (for reports). */
  readonly keys: readonly string[];
}

export interface UnrecognizedKey {
  readonly key: string;
  readonly reason: string;
}

export interface LoraAdapter {
  readonly origin: string;
  readonly targets: readonly LoraTarget[];
  /** Keys that are not (complete, supported) LoRA modules: reported, never silently dropped. */
  readonly unrecognized: readonly UnrecognizedKey[];
}

/** Problems with a LoRA file or with applying it to a model; messages name the file key at fault. */
export class LoraError extends SafetensorsError {
  override name = 'LoraError';
}

/** The multiplier alpha/rank of a target (1 when the file stores no alpha). */
export function loraFactor(target: Pick<LoraTarget, 'alpha' | 'rank'>): number {
  return target.alpha === null ? 1 : target.alpha / target.rank;
}
