/**
 * Recommended sampling settings per distilled model family, as their authors publish them, and the rule
 * that combines a preset with explicitly given values (explicit always wins):
 *   tdd  — TDD scheduler, 4 steps (tuned for 4–8), guidance 1.7, η 0.2 (RedAIGC/Target-Driven-Distillation)
 *   tcd  — TCD scheduler, 4 steps, no guidance, γ (eta) 0.3 (jabir-zheng/TCD)
 *   lcm  — LCM scheduler, 4 steps, guidance 1 = no CFG (LCM / LCM-LoRA)
 *   dmd2 — DMD scheduler, 4 steps at 999/749/499/249 or 1 step at 399, no guidance (tianweiy/DMD2)
 *   pcm  — TCD scheduler with γ 0 (deterministic), as many steps as the LoRA has phases, landing exactly on the
 *          phase ends of `tdd distill`'s grid, no CFG (G-U-N/Phased-Consistency-Model's demo)
 * Without a preset, naming one of those schedulers picks its family's preset; naming no scheduler at all
 * picks `tdd` (this project's main method); any other scheduler gets diffusers' SD defaults (50 steps, 7.5).
 */
import { UserError } from '../util/user-error.js';
import type { SchedulerName } from '../schedulers/index.js';
import { ddimGridTimesteps, phaseSamplingTimesteps } from '../schedulers/phase-grid.js';

export type PresetName = 'tdd' | 'tcd' | 'lcm' | 'dmd2' | 'pcm';

export interface Preset {
  readonly name: PresetName;
  readonly scheduler: SchedulerName;
  readonly steps: number;
  readonly guidanceScale: number;
  readonly eta?: number;
  /** Step counts the family was distilled for; others work but are off the tested path (a warning). */
  readonly recommendedSteps: readonly number[];
  /** The timesteps to sample `steps` steps at, when the family needs its own (else the scheduler's plan). */
  readonly timesteps?: (steps: number) => number[];
  readonly summary: string;
}

/**
 * The grid PCM LoRAs are distilled on: `tdd distill`'s default --num-ddim-timesteps over SD's 1000 training
 * timesteps. A LoRA distilled on another grid samples at its own phase ends given as explicit timesteps.
 */
export const PCM_SAMPLING_GRID = Object.freeze({ numTrainTimesteps: 1000, count: 250 });

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export const presets: Readonly<Record<PresetName, Preset>> = Object.freeze({
  tdd: {
    name: 'tdd',
    scheduler: 'tdd',
    steps: 4,
    guidanceScale: 1.7,
    eta: 0.2,
    recommendedSteps: range(4, 8),
    summary: 'TDD: 4–8 steps, guidance 1.7, eta 0.2',
  },
  tcd: {
    name: 'tcd',
    scheduler: 'tcd',
    steps: 4,
    guidanceScale: 0,
    eta: 0.3,
    recommendedSteps: range(2, 8),
    summary: 'TCD: 4 steps, guidance 0, eta (gamma) 0.3',
  },
  lcm: {
    name: 'lcm',
    scheduler: 'lcm',
    steps: 4,
    guidanceScale: 1,
    recommendedSteps: range(2, 8),
    summary: 'LCM: 4 steps, guidance 1 (no CFG)',
  },
  // The DMD scheduler's own plan for 4 steps is 999, 749, 499, 249 and for 1 step its one_step_timestep 399.
  dmd2: {
    name: 'dmd2',
    scheduler: 'dmd',
    steps: 4,
    guidanceScale: 0,
    recommendedSteps: [1, 4],
    summary: 'DMD2: 4 steps (999/749/499/249) or 1 step (399), guidance 0',
  },
  // After tcd: naming the TCD scheduler keeps implying the tcd preset.
  pcm: {
    name: 'pcm',
    scheduler: 'tcd',
    steps: 4,
    guidanceScale: 1,
    eta: 0,
    recommendedSteps: [1, 2, 4, 8, 16],
    // TCD's own plan (multiples of 20 minus 1) misses the phase ends (4 phases: 999/759/499/259 against 999/747/499/247).
    timesteps: (steps) => phaseSamplingTimesteps(ddimGridTimesteps(PCM_SAMPLING_GRID.numTrainTimesteps, PCM_SAMPLING_GRID.count), steps),
    summary: 'PCM: 1, 2, 4, 8 or 16 steps (its phases), guidance 1 (no CFG), deterministic (eta 0)',
  },
});

export const presetNames = Object.freeze(Object.keys(presets) as PresetName[]);

/** The preset used when neither --preset nor a scheduler is named. */
export const DEFAULT_PRESET: PresetName = 'tdd';

/** diffusers' StableDiffusionPipeline defaults, for schedulers that belong to no distilled family. */
export const UNDISTILLED_DEFAULTS = Object.freeze({ steps: 50, guidanceScale: 7.5 });

/** Samplers that take η (diffusers passes eta only to schedulers whose step() accepts it; see denoise.ts). */
const TAKES_ETA: ReadonlySet<string> = new Set(['ddim', 'tcd', 'tdd']);

export class PresetError extends UserError {
  override name = 'PresetError';
}

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(presets, name);
}

/** What the user asked for; undefined = not given. */
export interface SamplingChoices {
  preset?: string;
  scheduler?: string;
  steps?: number;
  guidanceScale?: number;
  eta?: number;
  /** Explicit timesteps (their count is the step count). */
  timesteps?: readonly number[];
}

export interface ResolvedSampling {
  /** The preset the defaults came from (explicit, implied by the scheduler, or the default); none for undistilled schedulers. */
  preset?: PresetName;
  scheduler: string;
  steps: number;
  /** Explicit timesteps: the user's, or the preset's for its step count (PCM's phase ends); else the scheduler plans. */
  timesteps?: readonly number[];
  guidanceScale: number;
  /** Only for samplers that use it. */
  eta?: number;
  /** Settings that will not do what the user may expect (off-preset step counts, an ignored eta). */
  warnings: string[];
}

/** The preset a run's defaults come from. */
export function presetFor(choices: Pick<SamplingChoices, 'preset' | 'scheduler'>): Preset | undefined {
  if (choices.preset !== undefined) {
    if (!isPresetName(choices.preset))
      throw new PresetError(`unknown preset "${choices.preset}"; choose one of: ${presetNames.join(', ')}`);
    return presets[choices.preset];
  }
  if (choices.scheduler === undefined) return presets[DEFAULT_PRESET];
  return Object.values(presets).find((p) => p.scheduler === choices.scheduler);
}

/** Preset values overridden by every explicitly given value. */
export function resolveSampling(choices: SamplingChoices): ResolvedSampling {
  const preset = presetFor(choices);
  const scheduler = choices.scheduler ?? preset?.scheduler ?? presets[DEFAULT_PRESET].scheduler;
  if (choices.timesteps && choices.steps !== undefined && choices.steps !== choices.timesteps.length)
    throw new PresetError(`steps (${choices.steps}) and timesteps (${choices.timesteps.length} of them) disagree; give one of them`);
  const steps = choices.steps ?? choices.timesteps?.length ?? preset?.steps ?? UNDISTILLED_DEFAULTS.steps;
  const guidanceScale = choices.guidanceScale ?? preset?.guidanceScale ?? UNDISTILLED_DEFAULTS.guidanceScale;
  const warnings: string[] = [];
  if (preset && scheduler === preset.scheduler && !preset.recommendedSteps.includes(steps)) {
    warnings.push(
      `${steps} steps is outside what ${preset.name} was distilled for (${describeSteps(preset.recommendedSteps)}); expect lower quality`,
    );
  }
  let eta = choices.eta ?? preset?.eta;
  if (!TAKES_ETA.has(scheduler)) {
    if (choices.eta !== undefined)
      warnings.push(`eta has no effect with the ${scheduler} scheduler (only ${[...TAKES_ETA].join(', ')} use it)`);
    eta = undefined;
  }
  const onPresetSampler = preset !== undefined && scheduler === preset.scheduler;
  const timesteps = choices.timesteps ?? (onPresetSampler ? preset.timesteps?.(steps) : undefined);
  return { preset: preset?.name, scheduler, steps, ...(timesteps && { timesteps }), guidanceScale, eta, warnings };
}

function describeSteps(steps: readonly number[]): string {
  const contiguous = steps.every((s, i) => i === 0 || s === steps[i - 1] + 1);
  return contiguous && steps.length > 2 ? `${steps[0]}–${steps[steps.length - 1]} steps` : `${steps.join(' or ')} steps`;
}
