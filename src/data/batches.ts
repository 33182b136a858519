/**
 * Which records train next: a fresh shuffle each epoch from one seeded TorchGenerator, the way a PyTorch
 * DataLoader with `shuffle=True, generator=torch.Generator().manual_seed(seed)` draws one
 * `torch.randperm(n, generator)` per epoch. Batches run on across epoch boundaries (no drop_last), and the
 * position ({ epoch, offset }) is all a checkpoint needs to continue with exactly the same stream.
 */
import { TorchGenerator } from '../util/torch-generator.js';

/** Where the sampler stands: the next index is permutation(epoch)[offset]; offset < count. */
export interface SamplerPosition {
  readonly epoch: number;
  readonly offset: number;
}

/** torch's CPU randperm switches algorithm at this size; beyond it our draws would differ. */
const MAX_COUNT = Math.floor(4294967295 / 20);

/**
 * torch.randperm(n, generator) for n < 2^32/20 (torch's CPU kernel): a forward Fisher–Yates swap loop with
 * one 32-bit draw `random() % (n − i)` per step, which `randint(0, n − i)` reproduces.
 */
export function torchRandperm(n: number, generator: TorchGenerator): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n - 1; i++) {
    const z = i + generator.randint(0, n - i, [1])[0];
    const saved = order[i];
    order[i] = order[z];
    order[z] = saved;
  }
  return order;
}

export class EpochSampler {
  private readonly generator: TorchGenerator;
  private order: number[];
  private epoch = 0;
  private offset = 0;

  /** count: dataset size; seed: the shuffle seed (the training seed, typically). */
  constructor(
    readonly count: number,
    readonly seed: number | bigint,
  ) {
    if (!Number.isSafeInteger(count) || count <= 0 || count >= MAX_COUNT) {
      throw new RangeError(`EpochSampler: count must be an integer in [1, ${MAX_COUNT}), got ${count}`);
    }
    this.generator = new TorchGenerator(seed);
    this.order = torchRandperm(count, this.generator);
  }

  /** A sampler at `position` of the stream that `new EpochSampler(count, seed)` produces (replays the epochs' shuffles). */
  static restore(count: number, seed: number | bigint, position: SamplerPosition): EpochSampler {
    const sampler = new EpochSampler(count, seed);
    const { epoch, offset } = position ?? ({} as SamplerPosition);
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw new RangeError(`EpochSampler.restore: position.epoch must be a non-negative integer, got ${String(epoch)}`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= count) {
      throw new RangeError(`EpochSampler.restore: position.offset must be an integer in [0, ${count}), got ${String(offset)}`);
    }
    for (let e = 0; e < epoch; e++) sampler.startNextEpoch();
    sampler.offset = offset;
    return sampler;
  }

  /** Serializable; pass it to restore() to continue. */
  get position(): SamplerPosition {
    return { epoch: this.epoch, offset: this.offset };
  }

  /** The next batchSize dataset indices; a batch that crosses an epoch end continues in the next epoch's order. */
  next(batchSize: number): number[] {
    if (!Number.isSafeInteger(batchSize) || batchSize <= 0)
      throw new RangeError(`EpochSampler.next: batchSize must be a positive integer, got ${batchSize}`);
    const out: number[] = [];
    while (out.length < batchSize) {
      out.push(this.order[this.offset++]);
      if (this.offset === this.count) this.startNextEpoch();
    }
    return out;
  }

  private startNextEpoch(): void {
    this.order = torchRandperm(this.count, this.generator);
    this.epoch++;
    this.offset = 0;
  }
}
