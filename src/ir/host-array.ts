import { isDType, type DType } from './dtype.js';
import { formatShape, isValidShape, numel, type Shape } from './shape.js';

/**
 * Host tensor used by constants and by the reference evaluator.
 *
 * `data` is ALWAYS a Float64Array, whatever the dtype; the dtype is metadata saying how the values are
 * to be read and stored at the runtime boundary:
 * - float32/float16: values are float64 (the reference evaluator does not round to the narrower type);
 * - int32/int64: exact integers; int64 is exact only within ±2^53 (conversion to BigInt64Array happens
 *   when tensors are handed to ONNX Runtime), which is ample for shapes, indices and timesteps;
 * - bool: 0 or 1.
 * One storage type keeps every reference kernel a single loop over numbers.
 */
export interface HostArray {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly data: Float64Array;
}

export function hostArray(shape: Shape, dtype: DType, data: ArrayLike<number> | Float64Array = new Float64Array(numel(shape))): HostArray {
  if (!isValidShape(shape)) throw new Error(`hostArray: invalid shape ${formatShape(shape)}`);
  if (!isDType(dtype)) throw new Error(`hostArray: unknown dtype ${String(dtype)}`);
  if (data.length !== numel(shape)) {
    throw new Error(`hostArray: ${data.length} values for shape ${formatShape(shape)} (${numel(shape)} elements)`);
  }
  const f64 = data instanceof Float64Array ? data : Float64Array.from(data);
  return { shape: [...shape], dtype, data: f64 };
}

export function scalarArray(value: number, dtype: DType): HostArray {
  return hostArray([], dtype, [value]);
}
