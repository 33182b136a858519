/** The keys of one component inside a single-file checkpoint, read with the component prefix stripped. */
import type { TensorSource } from '../../weights/tensor-source.js';
import { SingleFileError } from './errors.js';

export class ComponentKeys {
  private readonly set: ReadonlySet<string>;

  constructor(
    readonly file: TensorSource,
    readonly prefix: string,
    /** Keys without the prefix. */
    readonly keys: readonly string[],
    /** The component as messages name it ("UNet", "VAE", ...). */
    readonly label: string,
  ) {
    this.set = new Set(keys);
  }

  has(key: string): boolean {
    return this.set.has(key);
  }

  /** The shape of a key the inference cannot do without; its absence is an error naming the file and key. */
  need(key: string, what: string): readonly number[] {
    if (!this.set.has(key)) throw this.error(`has no ${JSON.stringify(this.prefix + key)} (needed for ${what})`);
    return this.file.shape(this.prefix + key);
  }

  /** Distinct values of the first capture group of `pattern` (an integer) over all keys, ascending. */
  indices(pattern: RegExp): number[] {
    const found = new Set<number>();
    for (const key of this.keys) {
      const m = pattern.exec(key);
      if (m) found.add(Number(m[1]));
    }
    return [...found].sort((a, b) => a - b);
  }

  /** Like indices(), also checking they run 0..n-1 without gaps; returns n. */
  count(pattern: RegExp, what: string): number {
    const found = this.indices(pattern);
    found.forEach((n, i) => {
      if (n !== i) throw this.error(`numbers its ${what} ${found.join(', ')}: ${i} is missing`);
    });
    return found.length;
  }

  error(message: string): SingleFileError {
    return new SingleFileError(`${this.file.origin}: the ${this.label}${this.prefix ? ` (${this.prefix}*)` : ''} ${message}`);
  }
}
