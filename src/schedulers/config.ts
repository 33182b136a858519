// Scheduler configuration: diffusers' scheduler_config.json fields, spelled as diffusers writes them.
// Each scheduler declares its own defaults (they differ between diffusers classes, e.g. DDIM's
// clip_sample=true vs LCM's false); a model folder's config overrides them; unknown keys (such as
// `_class_name` or PNDM's `skip_prk_steps`) are ignored, as diffusers' from_config does.
import { UserError } from '../util/user-error.js';

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

/** Fields every scheduler understands (the noise schedule and how the model output is read). */
export interface BaseSchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  trained_betas: number[] | null;
  rescale_betas_zero_snr: boolean;
  prediction_type: PredictionType;
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  clip_sample: boolean;
  clip_sample_range: number;
}

/** A bad argument to a scheduler (steps, strength, eta, custom timesteps, an unknown name): the caller's input. */
export class SchedulerOptionError extends UserError {
  override name = 'SchedulerOptionError';
}

export class SchedulerConfigError extends UserError {
  constructor(
    readonly scheduler: string,
    readonly field: string,
    message: string,
  ) {
    super(`${scheduler} scheduler config: \`${field}\` ${message}`);
    this.name = 'SchedulerConfigError';
  }
}

type FieldRule =
  | { kind: 'number'; min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean; allowInfinite?: boolean }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'numberList'; nullable: true };

export type ConfigRules<C> = { [K in keyof C]: FieldRule };

export const baseRules: ConfigRules<BaseSchedulerConfig> = {
  // Bounded so a corrupt config cannot ask for a gigantic schedule (diffusers models use 1000).
  num_train_timesteps: { kind: 'number', integer: true, min: 2, max: 1_000_000 },
  beta_start: { kind: 'number', min: 0, max: 1 },
  beta_end: { kind: 'number', min: 0, max: 1 },
  beta_schedule: { kind: 'enum', values: ['linear', 'scaled_linear', 'squaredcos_cap_v2'] },
  trained_betas: { kind: 'numberList', nullable: true },
  rescale_betas_zero_snr: { kind: 'boolean' },
  prediction_type: { kind: 'enum', values: ['epsilon', 'v_prediction', 'sample'] },
  thresholding: { kind: 'boolean' },
  dynamic_thresholding_ratio: { kind: 'number', min: 0, max: 1, exclusiveMin: true },
  sample_max_value: { kind: 'number', min: 0, exclusiveMin: true },
  clip_sample: { kind: 'boolean' },
  clip_sample_range: { kind: 'number', min: 0, exclusiveMin: true },
};

export const sdNoiseDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
} as const;

export const ddpmNoiseDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
} as const;

export const baseDefaults: Omit<BaseSchedulerConfig, keyof typeof ddpmNoiseDefaults> = {
  trained_betas: null,
  rescale_betas_zero_snr: false,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  clip_sample: false,
  clip_sample_range: 1.0,
};

function checkField(scheduler: string, field: string, rule: FieldRule, value: unknown): void {
  const fail = (msg: string): never => {
    throw new SchedulerConfigError(scheduler, field, `${msg} (got ${JSON.stringify(value)})`);
  };
  switch (rule.kind) {
    case 'boolean':
      if (typeof value !== 'boolean') fail('must be true or false');
      return;
    case 'enum':
      if (typeof value !== 'string' || !rule.values.includes(value)) {
        fail(`must be one of ${rule.values.map((v) => `"${v}"`).join(', ')}`);
      }
      return;
    case 'numberList':
      if (value === null) return;
      if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        fail('must be null or a non-empty list of finite numbers');
      }
      return;
    case 'number': {
      if (typeof value !== 'number' || Number.isNaN(value) || (!rule.allowInfinite && !Number.isFinite(value))) {
        fail(rule.allowInfinite ? 'must be a number' : 'must be a finite number');
      }
      const n = value as number;
      if (rule.integer && !Number.isInteger(n)) fail('must be an integer');
      if (rule.min !== undefined && (rule.exclusiveMin ? n <= rule.min : n < rule.min)) {
        fail(`must be ${rule.exclusiveMin ? '>' : '>='} ${rule.min}`);
      }
      if (rule.max !== undefined && n > rule.max) fail(`must be <= ${rule.max}`);
      return;
    }
  }
}

/**
 * diffusers options we do not implement, with the values that mean "off". A config that turns one on
 * is rejected by name instead of silently sampling a different schedule.
 */
const unsupportedOptions: Record<string, readonly unknown[]> = {
  use_karras_sigmas: [false],
  use_exponential_sigmas: [false],
  use_beta_sigmas: [false],
  use_lu_lambdas: [false],
  use_flow_sigmas: [false],
  use_dynamic_shifting: [false],
  timestep_type: ['discrete'],
  variance_type: [null, 'fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log'],
};

/**
 * Merges `input` over `defaults`, keeping only the fields in `rules`, and validates each one.
 * Returns a frozen config; unknown input keys are listed in `ignored` for callers who want to report them.
 */
export function resolveConfig<C extends object>(
  scheduler: string,
  rules: ConfigRules<C>,
  defaults: C,
  input: Record<string, unknown> = {},
): { config: Readonly<C>; ignored: string[] } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new SchedulerConfigError(scheduler, '(config)', 'must be an object of scheduler_config.json fields');
  }
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    const allowed = unsupportedOptions[key];
    if (allowed && value !== undefined && !allowed.includes(value)) {
      throw new SchedulerConfigError(scheduler, key, `= ${JSON.stringify(value)} is not supported yet`);
    }
    if (!(key in rules)) {
      ignored.push(key);
      continue;
    }
    if (value === undefined) continue;
    out[key] = value;
  }
  for (const [field, rule] of Object.entries(rules) as [string, FieldRule][]) {
    checkField(scheduler, field, rule, out[field]);
  }
  return { config: Object.freeze(out) as Readonly<C>, ignored };
}
