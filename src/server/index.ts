export { startServer, type ServeOptions, type RunningServer } from './server.js';
export { createApp, type AppDeps } from './app.js';
export {
  ModelRegistry,
  classifyTensorKeys,
  opaqueId,
  slug,
  EMBEDDED_MODEL_ID,
  EMBEDDED_LORA_ID,
  ID_PATTERN,
  type ModelEntry,
  type LoraEntry,
  type LoraChoice,
  type RegistryView,
  type SkippedPath,
} from './model-registry.js';
export {
  generateRequestSchema,
  parseGenerateBody,
  resolveJobSpec,
  MAX_STEPS,
  MAX_SIZE,
  TEACHER_PRESET,
  type GenerateRequestBody,
  type JobSpec,
} from './request-schema.js';
export { JobQueue, type JobQueueOptions, type JobRunner, type QueueStats } from './job-queue.js';
export { Job, JobStopped, type JobEvent, type JobEventType, type JobStatus, type ImageRef } from './job.js';
export { PipelinePool, estimatePipelineBytes, type PipelinePoolOptions, type PipelineLease } from './pipeline-pool.js';
export { PreviewMaker, poolLatents, type PreviewOptions } from './preview.js';
export { ImageStore, type StoredImage } from './image-store.js';
export { ApiError, ServeError, type ErrorBody, type FieldError } from './errors.js';
