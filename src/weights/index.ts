export { SafetensorsFile, SafetensorsError, type SafetensorsDType, type TensorInfo } from './safetensors.js';
export { writeSafetensors, writeSafetensorsStreamed, type TensorSpec, type TensorToWrite } from './safetensors-writer.js';
export { refusePickle, pickleContent, PICKLE_EXTENSIONS } from './pickle-refusal.js';
export { PickleRefusedError } from './errors.js';
export { MAX_HEADER_BYTES } from './header.js';
export {
  DTYPE_BYTE_SIZE,
  isSafetensorsDType,
  isFloatDType,
  isIntDType,
  type FloatDType,
  type IntDType,
  bfloat16BitsToFloat32,
  float32ToBfloat16Bits,
  bfloat16ToFloat32,
  float32ToBfloat16,
  float64ToFloat16Bits,
  bytesToFloat32,
  bytesToFloat16Bits,
  bytesToInt64,
  float32ToDType,
} from './dtype-convert.js';
export {
  FileTensorSource,
  ShardedTensorSource,
  MemoryTensorSource,
  missingKeyError,
  sourceShapes,
  type TensorSource,
  type MemoryTensor,
} from './tensor-source.js';
export { loadParams, type LoadedParams } from './load-params.js';
export * from './lora-formats.js';
