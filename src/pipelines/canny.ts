/**
 * Canny edge detection for canny ControlNets, in plain TypeScript, following OpenCV's cv2.Canny as the
 * diffusers docs and the ControlNet annotators call it (`cv2.Canny(image, 100, 200)`): 3×3 Sobel gradients
 * with replicated borders, L1 magnitude |dx| + |dy|, non-maximum suppression along the gradient direction
 * (OpenCV's 22.5°/67.5° sectors and tie rules), double threshold (strong > high, candidate > low) and
 * hysteresis (candidates 8-connected to a strong pixel are kept). For colour input, each pixel takes the
 * gradient of the channel with the largest magnitude, as cv2.Canny does for multi-channel images.
 *
 * cv2.Canny does not blur: the 100/200 thresholds are tuned for unblurred gradients. `sigma` > 0 adds the
 * Gaussian blur of the textbook algorithm (it lowers gradient magnitudes, so thresholds then need lowering).
 */
import { ImageInputError, type RawImage } from './image-input.js';

export interface CannyOptions {
  /** Candidate threshold on |dx| + |dy| (default 100). */
  low?: number;
  /** Strong-edge threshold (default 200). OpenCV swaps the two when low > high; so does this. */
  high?: number;
  /** Gaussian blur σ in pixels before the gradients (default 0: none, as cv2.Canny). */
  sigma?: number;
  /** Detect on luma (BT.601, as cv2.cvtColor RGB→GRAY) instead of per channel. */
  grayscale?: boolean;
}

interface Plane {
  data: Float32Array;
  width: number;
  height: number;
}

/** Separable Gaussian blur, radius ⌈3σ⌉, replicated borders. */
function gaussianBlur(p: Plane, sigma: number): Plane {
  const radius = Math.ceil(3 * sigma);
  const weights = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = weights.reduce((a, b) => a + b, 0);
  const kernel = weights.map((k) => k / total);
  const pass = (src: Float32Array, horizontal: boolean): Float32Array => {
    const { width, height } = p;
    const out = new Float32Array(src.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = horizontal ? Math.min(width - 1, Math.max(0, x + k)) : x;
          const yy = horizontal ? y : Math.min(height - 1, Math.max(0, y + k));
          sum += kernel[k + radius] * src[yy * width + xx];
        }
        out[y * width + x] = sum;
      }
    }
    return out;
  };
  return { ...p, data: pass(pass(p.data, true), false) };
}

interface Gradients {
  dx: Float32Array;
  dy: Float32Array;
  magnitude: Float32Array;
}

/** 3×3 Sobel with replicated borders, keeping per pixel the plane with the largest L1 magnitude. */
function sobel(planes: Plane[]): Gradients {
  const { width, height } = planes[0];
  const n = width * height;
  const g: Gradients = { dx: new Float32Array(n), dy: new Float32Array(n), magnitude: new Float32Array(n) };
  for (const { data } of planes) {
    for (let y = 0; y < height; y++) {
      const [up, down] = [Math.max(0, y - 1) * width, Math.min(height - 1, y + 1) * width];
      const row = y * width;
      for (let x = 0; x < width; x++) {
        const [l, r] = [Math.max(0, x - 1), Math.min(width - 1, x + 1)];
        const dx = data[up + r] + 2 * data[row + r] + data[down + r] - data[up + l] - 2 * data[row + l] - data[down + l];
        const dy = data[down + l] + 2 * data[down + x] + data[down + r] - data[up + l] - 2 * data[up + x] - data[up + r];
        const m = Math.abs(dx) + Math.abs(dy);
        const i = row + x;
        // Strictly greater: ties keep the earlier channel, as OpenCV.
        if (m > g.magnitude[i]) [g.dx[i], g.dy[i], g.magnitude[i]] = [dx, dy, m];
      }
    }
  }
  return g;
}

/** OpenCV's fixed-point tan 22.5° (Q15); tan 67.5° = tan 22.5° + 2. Sector bounds of the suppression. */
const TG22 = 13573;
const TG67 = TG22 + 2 * 32768;

/**
 * Non-maximum suppression and the double threshold: 2 = strong, 1 = candidate, 0 = neither. Magnitudes
 * outside the image count as 0; the `>` / `>=` pairs are OpenCV's tie rules.
 */
function classify({ dx, dy, magnitude }: Gradients, width: number, height: number, low: number, high: number): Uint8Array {
  const at = (x: number, y: number): number => (x < 0 || y < 0 || x >= width || y >= height ? 0 : magnitude[y * width + x]);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const m = magnitude[i];
      if (!(m > low)) continue;
      const [xs, ys] = [Math.abs(dx[i]), Math.abs(dy[i])];
      let isMax: boolean;
      if (ys * 32768 < xs * TG22) isMax = m > at(x - 1, y) && m >= at(x + 1, y);
      else if (ys * 32768 > xs * TG67) isMax = m > at(x, y - 1) && m >= at(x, y + 1);
      else {
        const s = dx[i] * dy[i] < 0 ? -1 : 1;
        isMax = m > at(x - s, y - 1) && m > at(x + s, y + 1);
      }
      if (isMax) out[i] = m > high ? 2 : 1;
    }
  }
  return out;
}

/** Keeps strong pixels and the candidates 8-connected to them; returns 255 for edges. */
function hysteresis(classes: Uint8Array, width: number, height: number): Uint8Array {
  const edges = new Uint8Array(classes.length);
  const stack: number[] = [];
  classes.forEach((c, i) => {
    if (c === 2) {
      edges[i] = 255;
      stack.push(i);
    }
  });
  while (stack.length > 0) {
    const i = stack.pop()!;
    const [x, y] = [i % width, Math.floor(i / width)];
    for (let yy = Math.max(0, y - 1); yy <= Math.min(height - 1, y + 1); yy++) {
      for (let xx = Math.max(0, x - 1); xx <= Math.min(width - 1, x + 1); xx++) {
        const j = yy * width + xx;
        if (classes[j] === 1 && edges[j] === 0) {
          edges[j] = 255;
          stack.push(j);
        }
      }
    }
  }
  return edges;
}

/** The planes edges are detected on: each colour channel (alpha ignored), or luma. */
function planesOf(image: RawImage, grayscale: boolean): Plane[] {
  const { width, height, pixels } = image;
  const channels = image.channels ?? 3;
  if (pixels.length !== width * height * channels)
    throw new ImageInputError(`canny: ${pixels.length} bytes for ${width}×${height} with ${channels} channels`);
  const colours = channels === 4 ? 3 : channels;
  const plane = (value: (i: number) => number): Plane => ({
    width,
    height,
    data: Float32Array.from({ length: width * height }, (_, i) => value(i * channels)),
  });
  if (grayscale && colours === 3) return [plane((i) => 0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2])];
  return Array.from({ length: colours }, (_, c) => plane((i) => pixels[i + c]));
}

/** Canny edges of an image as a white-on-black RGB image of the same size (what canny ControlNets take). */
export function cannyEdges(image: RawImage, options: CannyOptions = {}): RawImage & { channels: 3 } {
  let [low, high] = [options.low ?? 100, options.high ?? 200];
  if (low > high) [low, high] = [high, low];
  const sigma = options.sigma ?? 0;
  if (!(Number.isFinite(low) && Number.isFinite(high) && sigma >= 0 && Number.isFinite(sigma))) {
    throw new ImageInputError(`canny: thresholds must be finite and sigma ≥ 0 (got low ${low}, high ${high}, sigma ${sigma})`);
  }
  const { width, height } = image;
  const planes = planesOf(image, options.grayscale ?? false).map((p) => (sigma > 0 ? gaussianBlur(p, sigma) : p));
  const edges = hysteresis(classify(sobel(planes), width, height, low, high), width, height);
  const pixels = new Uint8Array(width * height * 3);
  edges.forEach((v, i) => pixels.fill(v, 3 * i, 3 * i + 3));
  return { width, height, channels: 3, pixels };
}
