/**
 * The trained LoRA as files people can use: kohya format (what the TDD/TCD repositories publish and
 * ComfyUI/A1111 load) and peft/diffusers format, both with metadata saying how they were made.
 */
import { join } from 'node:path';
import { loraModulesFromWeights } from '../nn/lora-weights.js';
import type { UnfusedLora } from '../nn/lora-graph.js';
import { defaultLoraMetadata, writeLora, type LoraModules } from '../weights/lora/export.js';
import type { LoraFormat } from '../weights/lora/types.js';
import { trainingHyperParameters, type DistillConfig } from './config.js';
import { STUDENT_SLOT } from './common/distill-graph.js';

export interface WrittenLora {
  readonly kohya: string;
  readonly peft: string;
}

export const loraFileNames = { kohya: 'lora.safetensors', peft: 'pytorch_lora_weights.safetensors' } as const;

/** Metadata shared by both files: the method, the settings and the optimizer steps taken. */
export function distillMetadata(config: DistillConfig, steps: number): Record<string, string> {
  return {
    tdd_method: config.method,
    tdd_teacher: config.teacher,
    tdd_optimizer_steps: String(steps),
    tdd_hyperparameters: JSON.stringify(trainingHyperParameters(config)),
    ss_training_comment: `${config.method.toUpperCase()} distillation by tdd-diffusion`,
  };
}

export function loraModules(lora: UnfusedLora, values: ReadonlyMap<string, Float32Array>): LoraModules {
  return { unet: loraModulesFromWeights(lora, STUDENT_SLOT, values, 'unet') };
}

/** Writes `lora.safetensors` (kohya) and `pytorch_lora_weights.safetensors` (peft, diffusers' name) into `dir`. */
export function writeDistilledLora(dir: string, modules: LoraModules, metadata: Record<string, string>): WrittenLora {
  const write = (format: LoraFormat, name: string) => {
    const path = join(dir, name);
    writeLora(path, modules, format, { ...defaultLoraMetadata(modules, format), ...metadata });
    return path;
  };
  return { kohya: write('kohya', loraFileNames.kohya), peft: write('peft', loraFileNames.peft) };
}
