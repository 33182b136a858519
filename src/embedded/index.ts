/**
 * The model shipped inside the package (issue 7: a tiny text-to-emoji model with its TDD LoRA). Until it is
 * trained, `embeddedModel()` returns undefined and callers ask for an explicit model.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';

export interface EmbeddedModel {
  /** The diffusers folder of the teacher. */
  readonly dir: string;
  /** The TDD LoRA applied by default (kohya safetensors), when shipped. */
  readonly lora?: string;
}

export function embeddedModel(): EmbeddedModel | undefined {
  const root = join(packageRoot(), 'models', 'emoji');
  if (!existsSync(join(root, 'model_index.json'))) return undefined;
  const lora = join(root, 'tdd-lora.safetensors');
  return { dir: root, lora: existsSync(lora) ? lora : undefined };
}
