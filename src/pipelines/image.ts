/**
 * A generated image: 8-bit RGB pixels (row-major HWC) plus the parameters that made it. Conversion from the
 * VAE's [-1, 1] float output is diffusers' postprocess: round(clamp(x/2 + 0.5, 0, 1)·255).
 */
import { writeFileAtomically } from '../util/atomic-write.js';
import { packageVersion } from '../util/package-root.js';
import { encodePng } from '../util/png.js';
import { hashIdentity, type NamedLora, type RunIdentity } from './identity.js';
import { formatA1111Parameters, type ImageMetadata } from './metadata.js';

export class GeneratedImage {
  constructor(
    readonly width: number,
    readonly height: number,
    /** RGB, row-major, height·width·3 bytes. */
    readonly pixels: Uint8Array,
    /** Generation parameters (prompt, seed, steps ...), written into the PNG's `parameters` text. */
    readonly parameters: Record<string, unknown> = {},
  ) {
    if (pixels.length !== width * height * 3) throw new RangeError(`GeneratedImage: ${pixels.length} bytes for ${width}×${height} RGB`);
  }

  /** From one CHW float image in [-1, 1]. */
  static fromNCHW(chw: Float32Array, width: number, height: number, parameters: Record<string, unknown> = {}): GeneratedImage {
    const plane = width * height;
    const pixels = new Uint8Array(plane * 3);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < plane; i++) {
        const v = Math.min(1, Math.max(0, chw[c * plane + i] / 2 + 0.5));
        pixels[i * 3 + c] = Math.round(v * 255);
      }
    }
    return new GeneratedImage(width, height, pixels, parameters);
  }

  /**
   * A1111's `parameters` text for this image, as `tdd generate` writes it: its own prompt and seed (of a list
   * seed), steps, sampler, CFG, size, the model and LoRAs by the names the CLI and server use, and, with
   * `hashed`, their hashes (see identity.ts).
   */
  parametersText(hashed?: RunIdentity): string {
    const p = this.parameters;
    const index = typeof p.index === 'number' ? p.index : 0;
    const perPrompt = typeof p.numImages === 'number' && p.numImages > 0 ? p.numImages : 1;
    const pick = (v: unknown): unknown => (Array.isArray(v) ? (v[Math.floor(index / perPrompt)] ?? v[0]) : v);
    const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
    const model = (hashed?.model ?? p.model) as RunIdentity['model'] | undefined;
    const loras = (hashed?.loras ?? p.loras) as NamedLora[] | undefined;
    const seeds = Array.isArray(p.seeds) ? (p.seeds as string[]) : undefined;
    const metadata: ImageMetadata = {
      prompt: String(pick(p.prompt) ?? ''),
      negativePrompt: String(pick(p.negativePrompt) ?? '') || undefined,
      steps: num(p.steps) ?? 0,
      scheduler: String(p.scheduler ?? ''),
      guidanceScale: num(p.guidanceScale) ?? 1,
      seed: seeds?.[index] ?? String(p.seed ?? 0),
      width: this.width,
      height: this.height,
      model: model && { name: model.name, hash: model.hash },
      loras: loras?.map(({ name, weight, hash }) => ({ name, weight, hash })),
      eta: num(p.eta),
      guidanceRescale: num(p.guidanceRescale),
      strength: num(p.strength),
      version: `tdd-diffusion ${packageVersion()}`,
    };
    return formatA1111Parameters(metadata);
  }

  /** PNG bytes with text chunks (e.g. A1111's `parameters`). */
  toPng(text: Record<string, string> = {}): Promise<Uint8Array> {
    return encodePng(this.pixels, this.width, this.height, text);
  }

  /**
   * Writes a PNG atomically (temp file + rename). Without `text`, it carries the `parameters` text the CLI
   * writes (parametersText, with the model's and LoRAs' hashes, cached in the user's cache folder).
   */
  async save(path: string, text?: Record<string, string>): Promise<void> {
    text ??= { parameters: await this.hashedParametersText() };
    writeFileAtomically(path, await this.toPng(text));
  }

  private async hashedParametersText(): Promise<string> {
    const model = this.parameters.model as RunIdentity['model'] | undefined;
    if (!model) return this.parametersText();
    return this.parametersText(await hashIdentity({ model, loras: (this.parameters.loras as NamedLora[] | undefined) ?? [] }));
  }
}
