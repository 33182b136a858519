/**
 * Which components a pipeline lets go of between the stages of a generation, as diffusers' model offload does:
 * `text-encoders` releases the text encoders once the prompts are encoded; `sequential` also releases the UNet
 * (and ControlNet) before the VAE decodes, and the VAE after it, so only one component is in memory at a time.
 * Released components are compiled again when next needed (seconds for SD1.5, tens of seconds for SDXL), so
 * `auto` releases only what the machine's memory requires.
 */
import { gib, usableMemoryBytes } from './memory.js';

export const OFFLOAD_MODES = ['auto', 'none', 'text-encoders', 'sequential'] as const;
export type OffloadMode = (typeof OFFLOAD_MODES)[number];
export type ResolvedOffload = Exclude<OffloadMode, 'auto'>;
export type GenerationStage = 'encoded' | 'denoised' | 'decoded';

/** Float32 bytes of each kind of component (from the weight files' headers). */
export interface ComponentBytes {
  unet: number;
  vae: number;
  textEncoders: number;
}

/** Share of usable memory the weights may take: ORT's activations and the process need the rest. */
const WEIGHT_SHARE = 0.5;

/** auto: keep everything when it fits in half the memory, else drop what must go, text encoders first. */
export function chooseOffload(bytes: ComponentBytes, usable = usableMemoryBytes()): { mode: ResolvedOffload; why: string } {
  const budget = usable * WEIGHT_SHARE;
  const total = bytes.unet + bytes.vae + bytes.textEncoders;
  const at = `${gib(budget)} GiB (half of ${gib(usable)} GiB)`;
  if (total <= budget) return { mode: 'none', why: `all weights, ${gib(total)} GiB, fit in ${at}` };
  if (bytes.unet + bytes.vae <= budget)
    return { mode: 'text-encoders', why: `all weights, ${gib(total)} GiB, exceed ${at}; UNet + VAE fit` };
  return { mode: 'sequential', why: `UNet + VAE, ${gib(bytes.unet + bytes.vae)} GiB, exceed ${at}` };
}

/** What each mode releases once a stage is over. */
export const RELEASED_AFTER: Readonly<
  Record<ResolvedOffload, Readonly<Record<GenerationStage, readonly ('textEncoders' | 'unet' | 'vae')[]>>>
> = {
  none: { encoded: [], denoised: [], decoded: [] },
  'text-encoders': { encoded: ['textEncoders'], denoised: [], decoded: [] },
  sequential: { encoded: ['textEncoders'], denoised: ['unet'], decoded: ['vae'] },
};
