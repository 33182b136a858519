// The coarse-grid timestep plan shared by LCM and TCD: the model was distilled on
// `original_inference_steps` points k·i − 1; inference picks n of them (or custom ones), and
// img2img strength shortens the grid.
import { SchedulerOptionError } from './config.js';
import {
  baseDefaults,
  baseRules,
  resolveConfig,
  sdNoiseDefaults,
  SchedulerConfigError,
  type BaseSchedulerConfig,
  type ConfigRules,
} from './config.js';
import { skippingGrid } from './spacing.js';
import type { SchedulerPlan, SetTimestepsOptions } from './scheduler.js';

export interface ConsistencyConfig extends BaseSchedulerConfig {
  original_inference_steps: number;
  set_alpha_to_one: boolean;
  steps_offset: number;
  timestep_spacing: 'leading' | 'trailing' | 'linspace';
  timestep_scaling: number;
}

const rules: ConfigRules<ConsistencyConfig> = {
  ...baseRules,
  original_inference_steps: { kind: 'number', integer: true, min: 1 },
  set_alpha_to_one: { kind: 'boolean' },
  steps_offset: { kind: 'number', integer: true, min: 0 },
  timestep_spacing: { kind: 'enum', values: ['leading', 'trailing', 'linspace'] },
  timestep_scaling: { kind: 'number', min: 0 },
};

const defaults: ConsistencyConfig = {
  ...sdNoiseDefaults,
  ...baseDefaults,
  original_inference_steps: 50,
  set_alpha_to_one: true,
  steps_offset: 0,
  timestep_spacing: 'leading',
  timestep_scaling: 10,
};

export function resolveConsistencyConfig(name: string, input?: Record<string, unknown>) {
  const resolved = resolveConfig(name, rules, defaults, input);
  if (resolved.config.original_inference_steps > resolved.config.num_train_timesteps) {
    throw new SchedulerConfigError(
      name,
      'original_inference_steps',
      `cannot exceed num_train_timesteps (${resolved.config.num_train_timesteps})`,
    );
  }
  return resolved;
}

export function consistencyPlan(name: string, c: ConsistencyConfig, n: number, options: SetTimestepsOptions): SchedulerPlan {
  const strength = options.strength ?? 1;
  const original = options.originalInferenceSteps ?? c.original_inference_steps;
  if (!Number.isInteger(original) || original < 1 || original > c.num_train_timesteps) {
    throw new SchedulerOptionError(`${name}: originalInferenceSteps must be an integer in [1, ${c.num_train_timesteps}] (got ${original})`);
  }
  if (options.timesteps) return customPlan(name, c, options.timesteps, strength);
  const k = Math.floor(c.num_train_timesteps / original);
  const gridSize = Math.floor(original * strength);
  if (n > original) {
    throw new SchedulerOptionError(`${name}: steps (${n}) cannot exceed original_inference_steps (${original})`);
  }
  if (Math.floor(gridSize / n) < 1) {
    throw new SchedulerOptionError(`${name}: strength ${strength} leaves ${gridSize} grid points, fewer than the ${n} steps asked for`);
  }
  return { numInferenceSteps: n, timesteps: skippingGrid(gridSize, k, n), initNoiseSigma: 1 };
}

function customPlan(name: string, c: ConsistencyConfig, timesteps: readonly number[], strength: number): SchedulerPlan {
  timesteps.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= c.num_train_timesteps) {
      throw new SchedulerOptionError(`${name}: timesteps[${i}] = ${t} is not an integer in [0, ${c.num_train_timesteps - 1}]`);
    }
    if (i > 0 && t >= timesteps[i - 1]) throw new SchedulerOptionError(`${name}: timesteps must be strictly descending`);
  });
  if (timesteps.length === 0) throw new SchedulerOptionError(`${name}: timesteps must not be empty`);
  const n = timesteps.length;
  const start = Math.max(n - Math.min(Math.floor(n * strength), n), 0);
  const kept = timesteps.slice(start);
  return { numInferenceSteps: kept.length, timesteps: kept, initNoiseSigma: 1 };
}
