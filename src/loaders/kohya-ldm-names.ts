/**
 * kohya LoRAs trained on SDXL (and some SD-1.x tools) name UNet modules after the LDM tree
 * (`lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q`). The single-file key map already relates
 * LDM keys to diffusers keys for a given config, so the resolver is built from it: every diffusers weight
 * key is mapped to its LDM key, underscored, and indexed.
 */
import { keyMapperFor } from './single-file/component-maps.js';
import { matchLora, type LoraAdapter, type LoraComponent, type LoraMatch } from '../weights/lora-formats.js';

export function ldmKohyaResolver(
  unetConfig: Readonly<Record<string, unknown>>,
  weightKeys: Iterable<string>,
): (underscored: string, component: LoraComponent) => string | undefined {
  const mapper = keyMapperFor('ldm-unet', unetConfig, 'UNet config');
  const index = new Map<string, string>();
  for (const key of weightKeys) {
    if (!key.endsWith('.weight')) continue;
    const file = mapper.toFile(key);
    // Only 1:1 renames: a split or fused tensor has no single LoRA module of its own.
    if (!file || file.transform !== 'identity' || file.siblings.length !== 1) continue;
    index.set(file.file.slice(0, -'.weight'.length).replaceAll('.', '_'), key.slice(0, -'.weight'.length));
  }
  return (underscored, component) => (component === 'unet' ? index.get(underscored) : undefined);
}

/** Matches a LoRA against each given component's weight shapes; the UNet also by LDM module names. */
export function matchLoraToModel(
  adapter: LoraAdapter,
  unetConfig: Readonly<Record<string, unknown>>,
  components: readonly [LoraComponent, ReadonlyMap<string, readonly number[]>][],
): LoraMatch[] {
  return components.map(([component, shapes]) => {
    const resolveKohyaModule = component === 'unet' ? ldmKohyaResolver(unetConfig, shapes.keys()) : undefined;
    return matchLora(adapter, component, shapes, { resolveKohyaModule });
  });
}
