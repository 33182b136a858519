/**
 * Writes LoRA modules (keyed by the weight they modify, as matchLora and trained graphs give them) in the two
 * interchange formats, named as kohya sd-scripts and diffusers/peft write them:
 *  - kohya: `lora_unet_<module with _>.{lora_down.weight, lora_up.weight, alpha}` with a 0-d F32 alpha;
 *    text encoders `lora_te_` (or `lora_te1_`/`lora_te2_` when a second text encoder is present).
 *  - peft: `<component>.<module>.lora_A.weight` / `.lora_B.weight`, alpha/rank folded into lora_B (no alpha
 *    key, so every loader reads scale 1).
 */
import { writeSafetensors, type TensorToWrite } from '../safetensors-writer.js';
import { LoraError, loraFactor, LORA_COMPONENTS, type LoraComponent, type LoraFormat, type LoraTarget } from './types.js';

/** The modules of each component by weight key (`<module>.weight`). */
export type LoraModules = Partial<Record<LoraComponent, ReadonlyMap<string, LoraTarget>>>;

function moduleOf(weightKey: string): string {
  if (!weightKey.endsWith('.weight'))
    throw new LoraError(`LoRA export: ${JSON.stringify(weightKey)} is not a weight key (<module>.weight)`);
  return weightKey.slice(0, -'.weight'.length);
}

function kohyaPrefix(component: LoraComponent, modules: LoraModules): string {
  if (component === 'unet') return 'lora_unet_';
  if (component === 'text_encoder_2') return 'lora_te2_';
  return modules.text_encoder_2?.size ? 'lora_te1_' : 'lora_te_';
}

const f32 = (name: string, shape: readonly number[], data: Float32Array): TensorToWrite => ({
  name,
  dtype: 'F32',
  shape: [...shape],
  data,
});

function kohyaTensors(prefix: string, module: string, t: LoraTarget): TensorToWrite[] {
  const name = prefix + module.replaceAll('.', '_');
  return [
    f32(`${name}.lora_down.weight`, t.down.shape, t.down.data),
    f32(`${name}.lora_up.weight`, t.up.shape, t.up.data),
    f32(`${name}.alpha`, [], Float32Array.of(t.alpha ?? t.rank)),
  ];
}

function peftTensors(component: LoraComponent, module: string, t: LoraTarget): TensorToWrite[] {
  const factor = loraFactor(t);
  const up = factor === 1 ? t.up.data : t.up.data.map((x) => x * factor);
  return [
    f32(`${component}.${module}.lora_A.weight`, t.down.shape, t.down.data),
    f32(`${component}.${module}.lora_B.weight`, t.up.shape, up),
  ];
}

export function loraTensors(modules: LoraModules, format: LoraFormat): TensorToWrite[] {
  const tensors: TensorToWrite[] = [];
  for (const component of LORA_COMPONENTS) {
    for (const [weightKey, target] of modules[component] ?? []) {
      const module = moduleOf(weightKey);
      tensors.push(
        ...(format === 'kohya' ? kohyaTensors(kohyaPrefix(component, modules), module, target) : peftTensors(component, module, target)),
      );
    }
  }
  return tensors;
}

/** Python's str() of a float, as kohya writes ss_network_alpha ("2.0"). */
const pythonFloat = (x: number): string => (Number.isInteger(x) ? x.toFixed(1) : String(x));

/** What kohya sd-scripts (network dim/alpha when uniform) and diffusers (`format: pt`) put in the header. */
export function defaultLoraMetadata(modules: LoraModules, format: LoraFormat): Record<string, string> {
  if (format === 'peft') return { format: 'pt' };
  const targets = LORA_COMPONENTS.flatMap((c) => [...(modules[c]?.values() ?? [])]);
  const ranks = new Set(targets.map((t) => t.rank));
  const alphas = new Set(targets.map((t) => t.alpha ?? t.rank));
  const meta: Record<string, string> = { ss_network_module: 'networks.lora' };
  if (ranks.size === 1) meta.ss_network_dim = String([...ranks][0]);
  if (alphas.size === 1) meta.ss_network_alpha = pythonFloat([...alphas][0]);
  return meta;
}

export function writeLora(path: string, modules: LoraModules, format: LoraFormat, metadata = defaultLoraMetadata(modules, format)): void {
  writeSafetensors(path, loraTensors(modules, format), metadata);
}
