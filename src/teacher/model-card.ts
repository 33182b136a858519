/**
 * README.md of a trained emoji model folder: what it is, how it was trained (settings, parameter counts,
 * final losses), the held-out split, and the training data's licences and attribution (CC-BY 4.0 requires it).
 */
import { join } from 'node:path';
import { EMOJI_ATTRIBUTIONS, formatAttribution } from '../data/emoji/index.js';
import { numel, type Value } from '../ir/index.js';
import type { StepLogEntry } from '../train/training-log.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import type { TeacherConfig } from './config.js';
import type { ReconstructionScore } from './reconstruction.js';

export interface ModelCardFacts {
  readonly config: TeacherConfig;
  readonly trainImages: number;
  readonly vocabularySize: number;
  readonly scalingFactor: number;
  readonly reconstruction: ReconstructionScore;
  readonly params: { vae: readonly Value[]; textEncoder: readonly Value[]; unet: readonly Value[] };
  readonly logs: { vae: readonly StepLogEntry[]; denoiser: readonly StepLogEntry[] };
}

const count = (ps: readonly Value[]) => ps.reduce((n, p) => n + numel(p.shape), 0);
const millions = (n: number) => `${(n / 1e6).toFixed(2)} M`;

/** Mean loss of the last `n` logged steps (the log may be empty when a stage was reused). */
function tailLoss(log: readonly StepLogEntry[], n = 50): string {
  const tail = log.slice(-n);
  return tail.length ? (tail.reduce((s, e) => s + e.loss, 0) / tail.length).toFixed(4) : 'n/a (stage reused)';
}

export function writeModelCard(dir: string, f: ModelCardFacts): void {
  const c = f.config;
  const text = `# Built-in text-to-emoji model

A small Stable-Diffusion-architecture model (AutoencoderKL + CLIP text encoder + UNet2DConditionModel, epsilon
prediction, SD's scaled-linear noise schedule) trained from scratch by \`tdd train-teacher\` on the emoji images
bundled in npm packages. It makes 64×64 emoji-like images from captions such as
"red apple, food and drink, food fruit, twemoji style" ("… noto style" for the Noto look).

| part | parameters | notes |
|---|---|---|
| vae | ${millions(count(f.params.vae))} | 64×64×3 ↔ ${64 / c.latentFactor}×${64 / c.latentFactor}×4, scaling factor ${f.scalingFactor.toFixed(4)} (1 / std of the training latents) |
| text_encoder | ${millions(count(f.params.textEncoder))} | CLIP text model, ${f.vocabularySize}-token vocabulary built from the training captions, ${c.maxTokens} tokens |
| unet | ${millions(count(f.params.unet))} | weights are an EMA (decay ${c.denoiser.emaDecay}) of the trained ones |

## Training

- Data: ${f.trainImages} training images (Twemoji and Noto styles, no skin-tone variants); 10 % of the emoji,
  chosen by a hash of the code points, are held out from all training for evaluation.
- Autoencoder: ${c.vae.steps} steps, batch ${c.vae.batch}, lr ${c.vae.lr}, L1 + ${c.vae.klWeight}·KL; final L1 ${tailLoss(f.logs.vae)};
  on ${f.reconstruction.images} held-out images PSNR ${f.reconstruction.psnr.toFixed(2)} dB, L1 ${f.reconstruction.l1.toFixed(4)}.
- Text encoder + UNet: ${c.denoiser.steps} steps, batch ${c.denoiser.batch}, lr ${c.denoiser.lr}, ${c.denoiser.captionDropout * 100} % captions emptied
  (classifier-free guidance), ${c.denoiser.augmentedCopies} augmented copies per image (shifts ≤ 3 px, scale 0.9–1); final loss ${tailLoss(f.logs.denoiser)}.
- Seed ${c.seed}; weights stored as ${c.exportDtype}.

## Training data and licences

${EMOJI_ATTRIBUTIONS.map(formatAttribution).join('\n\n')}
`;
  writeFileAtomically(join(dir, 'README.md'), Buffer.from(text));
}
