/**
 * Field readers shared by the AutoencoderKL and AutoencoderTiny config parsers: each reads one key of a
 * diffusers config.json object, falls back to diffusers' default when the key is absent (or null where
 * diffusers treats null as "use the default"), and throws a VaeConfigError naming the field otherwise.
 */
import { UserFileError } from '../../util/user-error.js';
import { ACTIVATIONS, type ActivationName } from '../unet/embeddings.js';

export class VaeConfigError extends UserFileError {
  override name = 'VaeConfigError';
  constructor(
    /** The model whose config is at fault: "AutoencoderKL" or "AutoencoderTiny". */
    readonly model: string,
    readonly field: string,
    message: string,
  ) {
    super(`${model} config: \`${field}\` ${message}`);
  }
}

export type RawConfig = Readonly<Record<string, unknown>>;

const show = (v: unknown): string => JSON.stringify(v);

const isPosInt = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 1;

/** Reads fields of one model's config, so each error carries the model name. */
export class FieldReader {
  readonly raw: RawConfig;

  constructor(
    readonly model: string,
    json: unknown,
  ) {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new VaeConfigError(model, '(root)', 'must be a JSON object');
    this.raw = json as RawConfig;
  }

  error(field: string, message: string): VaeConfigError {
    return new VaeConfigError(this.model, field, message);
  }

  positiveInt(field: string, fallback: number): number {
    const v = this.raw[field] ?? fallback;
    if (!isPosInt(v)) throw this.error(field, `must be an integer >= 1, got ${show(v)}`);
    return v;
  }

  finite(field: string, fallback: number, { positive = false } = {}): number {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) {
      throw this.error(field, `must be a ${positive ? 'positive ' : ''}finite number, got ${show(v)}`);
    }
    return v;
  }

  /** A number where null (or absence) means "not used", as AutoencoderKL's shift_factor. */
  optionalFinite(field: string): number | null {
    return this.raw[field] === undefined || this.raw[field] === null ? null : this.finite(field, 0);
  }

  flag(field: string, fallback: boolean): boolean {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'boolean') throw this.error(field, `must be a boolean, got ${show(v)}`);
    return v;
  }

  /** A non-empty list of integers >= `min`. */
  intList(field: string, fallback: readonly number[], min = 1): number[] {
    const v = this.raw[field] ?? fallback;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x >= min)) {
      throw this.error(field, `must be a non-empty list of integers >= ${min}, got ${show(v)}`);
    }
    return [...v] as number[];
  }

  /** A list of finite numbers or null (latents_mean / latents_std). */
  optionalNumberList(field: string): number[] | null {
    const v = this.raw[field] ?? null;
    if (v === null) return null;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw this.error(field, `must be null or a list of finite numbers, got ${show(v)}`);
    }
    return [...v] as number[];
  }

  activation(field: string, fallback: ActivationName): ActivationName {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'string' || !(ACTIVATIONS as readonly string[]).includes(v)) {
      throw this.error(field, `activation ${show(v)} is not supported (supported: ${ACTIVATIONS.join(', ')})`);
    }
    return v as ActivationName;
  }

  /** One value of a closed set of strings. */
  oneOf<T extends string>(field: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw[field] ?? fallback;
    if (!allowed.includes(v as T)) throw this.error(field, `${show(v)} is not supported (supported: ${allowed.map(show).join(', ')})`);
    return v as T;
  }

  /** An int or [height, width] (diffusers allows both for sample_size). */
  sampleSize(field: string, fallback: number): number | number[] {
    const v = this.raw[field] ?? fallback;
    if (isPosInt(v) || (Array.isArray(v) && v.length === 2 && v.every(isPosInt))) return Array.isArray(v) ? [...v] : v;
    throw this.error(field, `must be an integer or [height, width], got ${show(v)}`);
  }
}
