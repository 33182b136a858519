/**
 * LoRA files: parsing (kohya and peft/diffusers key formats), matching to a model's weight keys with a report,
 * and export. Applying them (fused or as graph inputs) is in src/nn/lora.ts and src/nn/lora-graph.ts.
 */
export {
  LoraError,
  LORA_COMPONENTS,
  loraFactor,
  type LoraAdapter,
  type LoraComponent,
  type LoraFormat,
  type LoraTarget,
  type LoraTensor,
  type UnrecognizedKey,
} from './lora/types.js';
export { parseLora, type ParseLoraOptions } from './lora/parse.js';
export { matchLora, describeLora, checkLoraShapes, type LoraMatch, type MatchLoraOptions, type ParamShapes } from './lora/match.js';
export { loraTensors, writeLora, defaultLoraMetadata, type LoraModules } from './lora/export.js';
