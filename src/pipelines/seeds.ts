/**
 * Seeds → the noise source of a run. One seed is one TorchGenerator for the whole batch (diffusers with a
 * single CPU generator). A list of seeds, one per image, behaves as diffusers' list of generators: every
 * draw is split across the batch, item i drawn from generator i — so each image equals the image its seed
 * gives alone at batch 1.
 */
import { numel } from '../ir/shape.js';
import type { NoiseSource } from '../schedulers/scheduler.js';
import { TorchGenerator } from '../util/torch-generator.js';
import { GenerationError } from './generation-error.js';

export type Seed = number | bigint;

class PerImageGenerators implements NoiseSource {
  constructor(private readonly generators: TorchGenerator[]) {}

  randn(shape: readonly number[]): Float32Array {
    const total = numel(shape);
    const n = this.generators.length;
    if (total % n !== 0) throw new GenerationError(`a draw of ${total} values cannot be split over ${n} per-image seeds`);
    const out = new Float32Array(total);
    const per = total / n;
    this.generators.forEach((g, i) => out.set(g.randn([per]), i * per));
    return out;
  }
}

export function noiseSourceFor(seed: Seed | readonly Seed[] | undefined, batch: number): NoiseSource {
  if (!Array.isArray(seed)) return new TorchGenerator((seed as Seed | undefined) ?? 0);
  if (seed.length !== batch) throw new GenerationError(`seed lists need one seed per image: got ${seed.length} for ${batch} images`);
  return new PerImageGenerators(seed.map((s) => new TorchGenerator(s)));
}

const TWO_POW_64 = 1n << 64n;

/**
 * AUTOMATIC1111's batch rule: image i of a batch seeded `seed` gets seed + i (wrapping past torch's 2^64 − 1),
 * so every image can be remade alone from the seed written in its PNG. Pass the list as a request's `seed`.
 */
export function batchSeeds(seed: Seed, count: number): bigint[] {
  return Array.from({ length: count }, (_, i) => {
    const s = BigInt(seed) + BigInt(i);
    return s >= TWO_POW_64 ? s - TWO_POW_64 : s;
  });
}

/**
 * A seed in JSON: a number while it is a safe integer (every seed the CLI or server draws at random is below
 * 2^32), else its decimal string, since JSON readers (JavaScript's JSON.parse among them) round integers past
 * 2^53 and would silently change the seed.
 */
export function seedToJson(seed: Seed): number | string {
  const s = BigInt(seed);
  return s >= -BigInt(Number.MAX_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s.toString();
}
