/**
 * A1111's `<lora:name:weight>` prompt tags: found, removed from the prompt (as A1111's extra-networks
 * parser does, so they are not encoded as text), and resolved against the server's LoRAs by name or id.
 * `<lora:name>` has weight 1; `<lora:name:w:te>` (a separate text-encoder weight) uses the first weight.
 */
import { fieldError } from './errors.js';
import type { LoraEntry, ModelRegistry } from './model-registry.js';

export interface LoraTag {
  name: string;
  weight: number;
}

const TAG = /<lora:([^:>]+)(?::([^:>]*))?(?::[^>]*)?>/gi;

/** The prompt without its LoRA tags (spaces tidied), and the tags in order. */
export function extractLoraTags(prompt: string, field = 'prompt'): { prompt: string; tags: LoraTag[] } {
  const tags: LoraTag[] = [];
  const stripped = prompt.replace(TAG, (_, name: string, weight: string | undefined) => {
    const w = weight === undefined || weight.trim() === '' ? 1 : Number(weight);
    if (!Number.isFinite(w)) throw fieldError(field, `<lora:${name}:${weight}>: the weight must be a number`);
    tags.push({ name: name.trim(), weight: w });
    return '';
  });
  const clean = stripped
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/\s+([,.])/g, '$1')
    .replace(/(^[\s,]+|[\s,]+$)/g, '');
  return { prompt: clean, tags };
}

/** A LoRA by id, by name, or by name ignoring case (file names as A1111 users type them). */
export function findLora(registry: ModelRegistry, name: string): LoraEntry | undefined {
  const byId = registry.lora(name);
  if (byId) return byId;
  const stem = name.replace(/\.safetensors$/i, '');
  const loras = registry.view().loras;
  const match = loras.find((l) => l.name === stem) ?? loras.find((l) => l.name.toLowerCase() === stem.toLowerCase());
  return match && registry.lora(match.id);
}

/** Tags → `loras` entries of a native request (a LoRA tagged twice: the last weight wins); 400 for an unknown name. */
export function resolveLoraTags(registry: ModelRegistry, tags: readonly LoraTag[], field = 'prompt'): { id: string; weight: number }[] {
  const byId = new Map<string, number>();
  for (const tag of tags) {
    const entry = findLora(registry, tag.name);
    if (!entry) throw fieldError(field, `<lora:${tag.name}>: no LoRA of that name (see GET /sdapi/v1/loras)`);
    byId.set(entry.id, tag.weight);
  }
  return [...byId].map(([id, weight]) => ({ id, weight }));
}
