/**
 * Which UNet weights the distilled LoRA adapts. The TDD and LCM-LoRA reference scripts give peft these module
 * names; peft adapts a module when its path equals a name or ends with "." + name. Only the weights (not
 * biases) of Linear/Conv modules get an adapter.
 */
import { DistillConfigError } from '../errors.js';
export const REFERENCE_LORA_MODULES: readonly string[] = Object.freeze([
  'to_q',
  'to_k',
  'to_v',
  'to_out.0',
  'proj_in',
  'proj_out',
  'ff.net.0.proj',
  'ff.net.2',
  'conv1',
  'conv2',
  'conv_shortcut',
  'downsamplers.0.conv',
  'upsamplers.0.conv',
  'time_emb_proj',
]);

/** Weight keys (`<module>.weight`) of ≥ 2-d parameters whose module matches one of `modules`, sorted, with their shapes. */
export function loraTargets(
  shapes: ReadonlyMap<string, readonly number[]>,
  modules: readonly string[] = REFERENCE_LORA_MODULES,
): Map<string, readonly number[]> {
  const keys: string[] = [];
  for (const [key, shape] of shapes) {
    if (!key.endsWith('.weight') || shape.length < 2) continue;
    const module = key.slice(0, -'.weight'.length);
    if (modules.some((m) => module === m || module.endsWith(`.${m}`))) keys.push(key);
  }
  if (keys.length === 0) throw new DistillConfigError(`LoRA target modules ${modules.join(', ')} match no weight of the model`);
  return new Map(keys.sort().map((k) => [k, shapes.get(k)!]));
}
