/**
 * The model shipped inside the package: the small text-to-emoji model in models/emoji with its TDD LoRA
 * (docs/embedded-model.md). An installation without that folder gets undefined, and callers ask for a model.
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
