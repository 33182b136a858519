/**
 * The key map of each component layout, with its index plan computed from the component's diffusers
 * config: the one place both directions (reading a single file, writing one) get their mappers from.
 */
import { parseUNetConfig, resolveUNetLayout, UNetConfigError } from '../../models/unet/index.js';
import { SingleFileError } from './errors.js';
import { vaeShapeFromConfig } from './infer-vae.js';
import { KeyMapper } from './key-mapper.js';
import type { ComponentLayout } from './keymaps/checkpoint.js';
import { CLIP_MODULES, OPEN_CLIP_MODULES } from './keymaps/text-encoders.js';
import { UNET_MODULES } from './keymaps/unet.js';
import { VAE_MODULES } from './keymaps/vae.js';
import { openClipIndexPlan, unetIndexPlan, vaeIndexPlan } from './plans.js';

/** parseUNetConfig with the file or component named in the message. */
export function parseUNetConfigAt(config: Readonly<Record<string, unknown>>, where: string) {
  try {
    return parseUNetConfig(config);
  } catch (err) {
    if (err instanceof UNetConfigError) throw new SingleFileError(`${where}: ${err.message}`, { cause: err });
    throw err;
  }
}

function openClipLayers(config: Readonly<Record<string, unknown>>, where: string): number {
  const layers = config.num_hidden_layers;
  if (!Number.isInteger(layers) || (layers as number) < 0) {
    throw new SingleFileError(`${where}: text encoder config \`num_hidden_layers\` must be an integer >= 0, got ${JSON.stringify(layers)}`);
  }
  return layers as number;
}

/**
 * The mapper for one component. `config` is its diffusers config (only the fields that decide the module
 * numbering are read: the UNet's blocks, the VAE's levels and layers, OpenCLIP's `num_hidden_layers`).
 */
export function keyMapperFor(layout: ComponentLayout, config: Readonly<Record<string, unknown>>, where: string): KeyMapper {
  switch (layout) {
    case 'ldm-unet':
      return new KeyMapper(UNET_MODULES, unetIndexPlan(resolveUNetLayout(parseUNetConfigAt(config, where))));
    case 'ldm-vae':
      return new KeyMapper(VAE_MODULES, vaeIndexPlan(vaeShapeFromConfig(config, where)));
    case 'clip':
      return new KeyMapper(CLIP_MODULES, {});
    case 'open-clip':
      return new KeyMapper(OPEN_CLIP_MODULES, openClipIndexPlan(openClipLayers(config, where)));
  }
}
