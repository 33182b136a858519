export {
  StableDiffusionPipeline,
  loadPipeline,
  type LoadPipelineOptions,
  type PipelineOptions,
  type UNetConditioning,
} from './pipeline.js';
export { txt2img, type GenerationResult, type Txt2ImgRequest } from './txt2img.js';
export {
  ControlNet,
  loadControlNet,
  prepareControl,
  residualInputs,
  residualFeeds,
  type ControlNetRequest,
  type LoadControlNetOptions,
  type PreparedControl,
  type UNetResiduals,
} from './controlnet.js';
export { cannyEdges, type CannyOptions } from './canny.js';
export { img2img, strengthSchedule, encodeImageLatents, type Img2ImgRequest, type Img2ImgResult } from './img2img.js';
export { inpaint, maskedImage, inpaintingUNetInput, type InpaintRequest, type InpaintResult } from './inpaint.js';
export {
  loadImageTensor,
  loadMaskTensor,
  resizeMaskNearest,
  ImageInputError,
  type ImageInput,
  type RawImage,
  type ImageTensor,
} from './image-input.js';
export { GenerationError, type GenerationRequest } from './generation.js';
export { GeneratedImage } from './image.js';
export { batchSeeds, seedToJson, type Seed } from './seeds.js';
export {
  presets,
  presetNames,
  presetFor,
  resolveSampling,
  isPresetName,
  PresetError,
  DEFAULT_PRESET,
  UNDISTILLED_DEFAULTS,
  type Preset,
  type PresetName,
  type SamplingChoices,
  type ResolvedSampling,
} from './presets.js';
export {
  formatA1111Parameters,
  parseA1111Parameters,
  a1111Fields,
  promptWithLoras,
  quoteA1111,
  samplerLabel,
  MODEL_HASH_LENGTH,
  LORA_HASH_LENGTH,
  type ImageMetadata,
  type LoraUse,
  type ParsedA1111Parameters,
} from './metadata.js';
export { CompiledModel, type CompiledModelOptions, type GraphBuilder } from './compiled-model.js';
export {
  loadComponents,
  loadFolderComponents,
  loadSingleFileComponents,
  type PipelineComponents,
  type LoadComponentsOptions,
  type ModelFamily,
} from './components.js';
export { PromptEncoder, type PromptEmbeddings, type LongPromptMode, type PromptEncodeOptions } from './prompt-encoding.js';
export { emphasizeChunk, emphasizeBatch } from './prompt-weights.js';
export { LoraManager, type LoadLoraOptions, type LoadedLora } from './lora-manager.js';
export { guide, rescaleGuided, usesGuidance } from './guidance.js';
export { denoise, type StepInfo, type DenoiseOptions, type UNetCall } from './denoise.js';
export { ModelMemoryError, usableMemoryBytes } from './memory.js';
export { chooseOffload, OFFLOAD_MODES, type OffloadMode, type ResolvedOffload, type ComponentBytes } from './offload.js';
export type { Precision, WeightPatch } from './compiled-model.js';
