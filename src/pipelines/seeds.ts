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
