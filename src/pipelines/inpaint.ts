/**
 * Inpainting as diffusers' StableDiffusionInpaintPipeline. The mask (white = repaint) is binarised at full
 * size and shrunk to the latents with nearest sampling. A standard 4-channel UNet repaints by latent
 * blending: after each step the kept region is replaced by the image's latents noised to the next timestep
 * (the clean latents after the last step). A 9-channel inpainting UNet instead sees
 * cat([latents, mask, masked-image latents]) at every step and nothing is blended.
 * Generator draws follow diffusers: image latents (4-channel UNets, or strength < 1), the noise, then the
 * masked image's latent sample (also for 4-channel UNets, where diffusers encodes it without using it).
 */
import { GenerationError } from './generation-error.js';
import { GeneratedImage } from './image.js';
import { loadMaskTensor, resizeMaskNearest, type ImageInput, type ImageTensor, type MaskTensor } from './image-input.js';
import {
  denoiseFrom,
  encodeImageLatents,
  finishImageGeneration,
  prepareImageGeneration,
  type ImageDenoiseHooks,
  type ImageGeneration,
  type Img2ImgRequest,
} from './img2img.js';
import type { StableDiffusionPipeline } from './pipeline.js';
import type { GenerationResult } from './txt2img.js';

export interface InpaintRequest extends Img2ImgRequest {
  /** White (≥ 0.5 after grayscale) = repaint, black = keep; resized to the image size. */
  mask: ImageInput;
  /** Gaussian blur σ in pixels applied to the mask before it is binarised (diffusers' mask_processor.blur). */
  maskBlur?: number;
  /**
   * Paste the original pixels back where the mask is black, blended by the (blurred) gray mask, as diffusers'
   * apply_overlay / A1111 do (default false: the VAE decode everywhere, as the diffusers pipeline returns it).
   */
  overlay?: boolean;
  // strength defaults to 1 here (diffusers' inpainting default): the masked region starts from pure noise.
}

export interface InpaintResult extends GenerationResult {
  /** The image's latents (absent for 9-channel UNets at strength 1, which never encode the unmasked image). */
  initLatents?: Float32Array;
  /** The mask at latent size [h, w] (1 = repaint). */
  latentMask: Float32Array;
  /** Plan index of the first step that ran. */
  startIndex: number;
}

export async function inpaint(pipe: StableDiffusionPipeline, request: InpaintRequest): Promise<InpaintResult> {
  const unetChannels = pipe.components.unet.config.in_channels;
  if (unetChannels !== 4 && unetChannels !== 9) {
    throw new GenerationError(`inpainting needs a UNet with 4 or 9 input channels (unet config in_channels is ${unetChannels})`);
  }
  const g = await prepareImageGeneration(pipe, request, 1);
  const mask = await loadMaskTensor(request.mask, {
    width: g.width,
    height: g.height,
    factor: pipe.vaeScaleFactor,
    blur: request.maskBlur,
  });
  const latentMask = resizeMaskNearest(mask.data, g.height, g.width, g.h, g.w);
  const initLatents = unetChannels === 4 || g.strength < 1 ? await encodeImageLatents(pipe, g.image, g.generator, g.batch) : undefined;
  // No step at strength 0 (diffusers refuses it): the image's own latents.
  const latents =
    g.timesteps.length === 0
      ? initLatents!
      : await repaint(pipe, g, request, { mask, latentMask, initLatents, inpaintingUNet: unetChannels === 9 });
  const result = await finishImageGeneration(pipe, g, request, latents, 'inpaint');
  return { ...result, images: withOverlay(request, result.images, g.image, mask), initLatents, latentMask, startIndex: g.startIndex };
}

interface RepaintInputs {
  mask: MaskTensor;
  latentMask: Float32Array;
  initLatents?: Float32Array;
  inpaintingUNet: boolean;
}

/** Start latents (pure noise at strength 1, else the noised image latents), then the loop with the mask. */
async function repaint(
  pipe: StableDiffusionPipeline,
  g: ImageGeneration,
  request: InpaintRequest,
  r: RepaintInputs,
): Promise<Float32Array> {
  const noise = g.generator.randn([g.batch, pipe.latentChannels, g.h, g.w]);
  const start = g.strength === 1 ? scaled(noise, g.scheduler.initNoiseSigma) : g.scheduler.addNoise(r.initLatents!, noise, g.timesteps[0]);
  let hooks: ImageDenoiseHooks;
  if (r.inpaintingUNet) {
    const maskedLatents = await encodeImageLatents(pipe, maskedImage(g.image, r.mask), g.generator, 1);
    hooks = { unetInput: (x, n) => inpaintingUNetInput(x, n, r.latentMask, maskedLatents) };
  } else {
    g.generator.randn([1, pipe.latentChannels, g.h, g.w]); // the masked image's latent sample, unused here
    hooks = { afterStep: (latents, index) => blendKnownRegion(g, latents, index, r.initLatents!, noise, r.latentMask) };
  }
  return denoiseFrom(pipe, g, request, start, hooks);
}

/** original·(1 − m) + generated·m per pixel, m the soft gray mask (PIL's alpha_composite, rounded). */
function withOverlay(request: InpaintRequest, images: GeneratedImage[], image: ImageTensor, mask: MaskTensor): GeneratedImage[] {
  if (!request.overlay) return images;
  const original = GeneratedImage.fromNCHW(image.data, image.width, image.height).pixels;
  return images.map((generated) => {
    const pixels = generated.pixels.map((v, i) => {
      const m = mask.soft[Math.floor(i / 3)];
      return Math.round(original[i] * (1 - m) + v * m);
    });
    return new GeneratedImage(generated.width, generated.height, pixels, { ...generated.parameters, overlay: true });
  });
}

function scaled(x: Float32Array, factor: number): Float32Array {
  return factor === 1 ? x : x.map((v) => v * factor);
}

/** image · (mask < 0.5): the kept pixels, the rest zero (mid-gray in [-1, 1]). */
export function maskedImage(image: ImageTensor, mask: ImageTensor): ImageTensor {
  const plane = image.width * image.height;
  const data = image.data.map((v, i) => (mask.data[i % plane] < 0.5 ? v : 0));
  return { ...image, data };
}

/** (1 − m)·(image latents noised to the next timestep, or clean after the last step) + m·latents. */
function blendKnownRegion(
  g: ImageGeneration,
  latents: Float32Array,
  index: number,
  init: Float32Array,
  noise: Float32Array,
  mask: Float32Array,
): Float32Array {
  const next = index + 1 < g.planTimesteps.length ? g.planTimesteps[index + 1] : undefined;
  const known = next === undefined ? init : g.scheduler.addNoise(init, noise, next);
  const plane = mask.length;
  return latents.map((x, i) => {
    const m = mask[i % plane];
    return (1 - m) * known[i] + m * x;
  });
}

/** cat([latents, mask, masked-image latents], channels) for each of the n batch rows (CFG halves alike). */
export function inpaintingUNetInput(latents: Float32Array, n: number, mask: Float32Array, maskedLatents: Float32Array): Float32Array {
  const plane = mask.length;
  const rowIn = latents.length / n;
  const rowOut = rowIn + plane + maskedLatents.length;
  const out = new Float32Array(n * rowOut);
  for (let b = 0; b < n; b++) {
    out.set(latents.subarray(b * rowIn, (b + 1) * rowIn), b * rowOut);
    out.set(mask, b * rowOut + rowIn);
    out.set(maskedLatents, b * rowOut + rowIn + plane);
  }
  return out;
}
