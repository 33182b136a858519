/**
 * A TensorSource whose tensors are computed from another source's: renamed (the usual case), reshaped,
 * transposed, split or fused, as a key map says. Nothing is read until a tensor is asked for, and shapes
 * come from the underlying source's header.
 */
import type { SafetensorsDType } from '../../weights/dtype-convert.js';
import { SafetensorsError } from '../../weights/errors.js';
import { missingKeyError, type TensorSource } from '../../weights/tensor-source.js';
import { SingleFileError } from './errors.js';
import type { Derivation, Shape } from './transforms.js';

export interface DerivedTensor {
  /** Keys of the underlying source, in the order the derivation takes them. */
  inputs: string[];
  derivation: Derivation;
}

export class DerivedTensorSource implements TensorSource {
  private closed = false;

  constructor(
    readonly origin: string,
    private readonly base: TensorSource,
    private readonly tensors: ReadonlyMap<string, DerivedTensor>,
    /** Called once by close(): views of one file share it and release it when the last one closes. */
    private readonly release: () => void = () => base.close(),
  ) {}

  keys(): string[] {
    return [...this.tensors.keys()];
  }

  has(key: string): boolean {
    return this.tensors.has(key);
  }

  shape(key: string): readonly number[] {
    const t = this.get(key);
    return this.derive(key, t, () => t.derivation.shape(this.inputShapes(t)));
  }

  /** Transforms keep the element type: the (first) input's. */
  dtype(key: string): SafetensorsDType {
    return this.base.dtype(this.get(key).inputs[0]);
  }

  float32(key: string): Float32Array {
    const t = this.get(key);
    return this.derive(key, t, () => {
      const shapes = this.inputShapes(t);
      t.derivation.shape(shapes); // rejects unusable shapes before any data is read
      return t.derivation.data(
        t.inputs.map((k) => this.base.float32(k)),
        shapes,
      );
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  private inputShapes(t: DerivedTensor): Shape[] {
    return t.inputs.map((k) => this.base.shape(k));
  }

  private get(key: string): DerivedTensor {
    if (this.closed) throw new SingleFileError(`${this.origin}: tensor ${JSON.stringify(key)}: the source is closed`);
    const t = this.tensors.get(key);
    if (!t) throw missingKeyError(this, key);
    return t;
  }

  /** Runs a derivation step, naming the tensor and its inputs when the shapes do not fit the transform. */
  private derive<T>(key: string, t: DerivedTensor, step: () => T): T {
    try {
      return step();
    } catch (err) {
      if (err instanceof SingleFileError || err instanceof SafetensorsError) throw err;
      const from = t.inputs.map((k) => JSON.stringify(k)).join(' + ');
      throw new SingleFileError(`${this.origin}: tensor ${JSON.stringify(key)} (from ${from}): ${(err as Error).message}`, { cause: err });
    }
  }
}
