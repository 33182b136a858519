// Public API of tdd-diffusion (Node entry).
// Every failure caused by the caller's input, files or machine is a UserError (a bug is anything else).
export { UserError, UserFileError, isUserError } from './util/user-error.js';
export { LoaderError } from './loaders/errors.js';
export { PickleRefusedError } from './weights/errors.js';
export * from './schedulers/index.js';
export { TorchGenerator, type TorchGeneratorState, type Shape } from './util/torch-generator.js';

// Engine: graphs, ops, autodiff, ONNX emission, ONNX Runtime sessions, training.
export { Graph, Value, GraphError, type DType, type HostArray } from './ir/index.js';
export {
  createGraph,
  conv2d,
  convTranspose2d,
  upsampleNearest2d,
  groupNorm,
  layerNorm,
  softmax,
  attention,
  concat,
  randomNormal,
} from './ops/index.js';
export { grad, vjp, checkpoint, type GradOptions } from './autodiff/index.js';
export { evaluate } from './interp/index.js';
export { emitModel, type EmitOptions } from './onnx/emit.js';
export { encodeModel } from './onnx/encode.js';
export { saveModel, type SaveModelOptions } from './onnx/save.js';
export { createSession, SessionError, type Session, type SessionOptions, type ExecutionProvider } from './runtime/session.js';
export { checkDevice, deviceProblem, sessionOptionsFor, DEVICES, type RuntimeOptions } from './runtime/device.js';
export { DeviceUnavailableError } from './runtime/errors.js';
export { defaultIntraOpThreads } from './runtime/session.js';
export { createCachedSession, defaultCacheDir, type CachedSessionOptions } from './runtime/session-cache.js';
export type { HostTensor } from './runtime/tensors.js';
export * from './train/index.js';
export { Scope, linear, conv, groupNormLayer, layerNormLayer, embedding } from './nn/index.js';
export { unet2DConditionModel, parseUNetConfig, UNetConfigError, type UNetConfig } from './models/unet/index.js';
export {
  controlNetModel,
  parseControlNetConfig,
  controlNetConfigFromUNet,
  ControlNetConfigError,
  type ControlNetConfig,
  type ControlNetInputs,
  type ControlNetOutputs,
} from './models/controlnet/index.js';
export {
  parseAutoencoderKLConfig,
  parseAutoencoderTinyConfig,
  VaeConfigError,
  vaeEncode,
  vaeDecode,
  scaleLatents,
  unscaleLatents,
  taesdEncode,
  taesdDecode,
  taesdLatentsToUnitRange,
  taesdLatentsFromUnitRange,
  type AutoencoderKLConfig,
  type AutoencoderTinyConfig,
  type LatentMoments,
  type LatentScaling,
} from './models/vae/index.js';
export { SafetensorsFile, SafetensorsError, writeSafetensors, refusePickle } from './weights/index.js';
export {
  parseLora,
  matchLora,
  describeLora,
  writeLora,
  loraTensors,
  LoraError,
  type LoraAdapter,
  type LoraTarget,
  type LoraComponent,
  type LoraMatch,
  type LoraModules,
} from './weights/index.js';
export {
  fuseLora,
  LoraAdapterSet,
  UnfusedLora,
  loraSlotFromMatch,
  loraTrainingSlot,
  loraSlotWeights,
  loraScaleFeeds,
  splitLoraParams,
  initLoraWeights,
  loraModulesFromWeights,
  type FusedLora,
  type LoraSlotSpec,
} from './nn/index.js';
export {
  ClipTokenizer,
  TokenizerError,
  type ClipTokenizerData,
  type EncodeForModelOptions,
  type ModelInput,
  type ModelInputBatch,
  parsePromptAttention,
  type WeightedText,
} from './tokenizer/index.js';
export {
  parseClipTextConfig,
  ClipConfigError,
  ClipInputError,
  clipTextModel,
  clipTextModelWithProjection,
  clipPoolingIndex,
  clipInputIdsTensor,
  type ClipTextConfig,
  type ClipActivation,
  type ClipTextOutputs,
  type ClipTextProjectionOutputs,
  type ClipTextModelOptions,
} from './models/clip/index.js';
export type { AttentionOptions } from './ops/attention.js';
export {
  openSingleFile,
  readSingleFile,
  toSingleFile,
  writeSingleFile,
  SingleFileError,
  type OpenSingleFileOptions,
  type SingleFileCheckpoint,
  type SingleFileComponent,
  type IgnoredKey,
  type DiffusersComponent,
  type SingleFileExport,
  type WriteSingleFileOptions,
  type Architecture as SingleFileArchitecture,
  type ComponentName as SingleFileComponentName,
} from './loaders/single-file/index.js';
export * from './pipelines/index.js';
