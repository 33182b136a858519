export {
  openSingleFile,
  readSingleFile,
  type OpenSingleFileOptions,
  type SingleFileCheckpoint,
  type SingleFileComponent,
  type IgnoredKey,
} from './open.js';
export { toSingleFile, writeSingleFile, type DiffusersComponent, type SingleFileExport, type WriteSingleFileOptions } from './export.js';
export { keyMapperFor } from './component-maps.js';
export { KeyMapper, type FileKeyMapping, type DiffusersKeyMapping } from './key-mapper.js';
export { SingleFileError } from './errors.js';
export type { ConfigOptions } from './config-merge.js';
export {
  ARCHITECTURE_LAYOUTS,
  ARCHITECTURE_SIGNATURES,
  FAMILY_RULES,
  IGNORED_KEYS,
  TEXT_ENCODER_RULES,
  type Architecture,
  type ComponentName,
  type ComponentLayout,
  type ComponentPlacement,
  type FamilyRules,
} from './keymaps/checkpoint.js';
export { UNET_MODULES } from './keymaps/unet.js';
export { VAE_MODULES } from './keymaps/vae.js';
export { CLIP_MODULES, OPEN_CLIP_MODULES } from './keymaps/text-encoders.js';
export type { ModuleRule, PartRule, PartTable, TransformName, IndexPlan, Binding } from './keymaps/types.js';
