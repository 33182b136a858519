/**
 * The final config of a component: inferred fields, replaced by those of a diffusers config.json the caller
 * names, replaced by the caller's explicit overrides. Fields the rules could not set must come from one of
 * the two.
 */
import { readJsonFile } from '../diffusers-folder.js';
import { SingleFileError } from './errors.js';
import type { InferredConfig } from './infer-unet.js';
import type { ComponentName } from './keymaps/checkpoint.js';

export interface ConfigOptions {
  /** Fields that replace inferred ones, per component (e.g. `{ unet: { attention_head_dim: [5, 10, 20] } }`). */
  configOverrides?: Partial<Record<ComponentName, Record<string, unknown>>>;
  /** A diffusers config.json per component whose fields replace the inferred ones (overrides still win). */
  configFiles?: Partial<Record<ComponentName, string>>;
}

export function finalConfig(
  component: ComponentName,
  inferred: InferredConfig,
  options: ConfigOptions,
  where: string,
): { config: Record<string, unknown>; assumed: string[] } {
  const path = options.configFiles?.[component];
  const fromFile = path ? readJsonFile(path) : {};
  const overrides = options.configOverrides?.[component] ?? {};
  const given = (field: string): boolean => field in fromFile || field in overrides;
  for (const [field, reason] of Object.entries(inferred.unresolved)) {
    if (!given(field)) {
      throw new SingleFileError(
        `${where}: the ${component} config field \`${field}\` cannot be inferred (${reason}); ` +
          `pass it in options.configOverrides.${component} or a config.json in options.configFiles.${component}`,
      );
    }
  }
  return { config: { ...inferred.config, ...fromFile, ...overrides }, assumed: inferred.assumed.filter((f) => !given(f)) };
}
