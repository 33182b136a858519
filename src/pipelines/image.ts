/**
 * A generated image: 8-bit RGB pixels (row-major HWC) plus the parameters that made it. Conversion from the
 * VAE's [-1, 1] float output is diffusers' postprocess: round(clamp(x/2 + 0.5, 0, 1)·255).
 */
import { writeFileAtomically } from '../util/atomic-write.js';
import { encodePng } from '../util/png.js';

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

  /** PNG bytes with text chunks (e.g. A1111's `parameters`). */
  toPng(text: Record<string, string> = {}): Promise<Uint8Array> {
    return encodePng(this.pixels, this.width, this.height, text);
  }

  /** Writes a PNG atomically (temp file + rename). */
  async save(path: string, text: Record<string, string> = {}): Promise<void> {
    writeFileAtomically(path, await this.toPng(text));
  }
}
