/**
 * The rows of the evaluation table (issue 7), as data: which LoRA (by role), which sampler with which
 * scheduler_config extras, steps, guidance and η. TDD samples as the reference TDDScheduler does by default:
 * non-equidistant "special jump" schedules on, x0 clipping (dynamic thresholding) off. The ablations switch one
 * ingredient off; x0 clipping, an inference option, is the one row that switches something on (issue 26 found it
 * costs FD on this model, and the first table had it on in every TDD row). Note that the reference defines jump
 * schedules only for 5–7 steps, so at 2, 4 and 8 steps `special_jump` changes nothing; the report marks rows
 * whose samples came out identical.
 */
import { EvalError } from './errors.js';
import { presets } from '../pipelines/presets.js';

/** Step counts of the "quality from 1 to 16 steps" table; PCM trains one LoRA per count (its phases). */
export const STEP_COUNTS = [1, 2, 4, 8, 16] as const;
/** PCM with its adversarial loss: at the step counts where the paper says it matters. */
export const ADVERSARIAL_STEP_COUNTS = [1, 2] as const;

type PcmRole = `pcm${(typeof STEP_COUNTS)[number]}` | `pcmAdv${(typeof ADVERSARIAL_STEP_COUNTS)[number]}`;

/** Which LoRA a row samples with; 'none' is the teacher itself. */
export type LoraRole = 'none' | 'tdd' | 'lcm' | 'tddSingleK' | 'tddNoEmptyPrompts' | 'simplectm' | PcmRole;
export const LORA_ROLES: readonly LoraRole[] = [
  'none',
  'tdd',
  'lcm',
  'tddSingleK',
  'tddNoEmptyPrompts',
  'simplectm',
  ...STEP_COUNTS.map((m) => `pcm${m}` as const),
  ...ADVERSARIAL_STEP_COUNTS.map((m) => `pcmAdv${m}` as const),
];

export interface EvalRow {
  /** File-name-safe id, used by --rows and for rows/<name>.json. */
  readonly name: string;
  /** Human label for the table. */
  readonly label: string;
  readonly group: 'teacher' | 'tdd' | 'lcm' | 'tcd' | 'ablation' | 'extra' | 'steps';
  readonly lora: LoraRole;
  readonly scheduler: string;
  /** Extra scheduler_config fields (over the model's own). */
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  readonly steps: number;
  /** Explicit timesteps (PCM: its phase ends), else the scheduler's plan for `steps`. */
  readonly timesteps?: readonly number[];
  readonly guidance: number;
  readonly eta?: number;
  /** Ablations: the full-TDD row they are checked against. */
  readonly compareTo?: string;
  /** What the paper expects of the row against compareTo: an ablation is worse (the default), an added option better. */
  readonly expect?: 'worse' | 'better';
  /** Extra rows run only when named in --rows. */
  readonly optional?: boolean;
}

/**
 * x0 clipping as in the reference's tests: dynamic thresholding at the 99.5th percentile, clamped to
 * [1, 1.5], on step indices 0 and 1 (t_l 1).
 */
export const TDD_X0_CLIPPING = Object.freeze({ thresholding: true, t_l: 1, dynamic_thresholding_ratio: 0.995, sample_max_value: 1.5 });
/**
 * TDD sampling: the distillation grid the LoRAs are trained on (250), special jumps on, x0 clipping off — the
 * reference scheduler's defaults.
 */
export const TDD_SAMPLING = Object.freeze({ tdd_train_step: 250, special_jump: true, thresholding: false });
export const TDD_ETA = 0.2;
export const TDD_GUIDANCE = 1.7;
/**
 * The teacher's CFG scale: the distillation's teacher guidance (w = 3.5 in the LCM formulation
 * ε_c + w(ε_c − ε_u)) is diffusers' guidance_scale 4.5, so both teacher rows sample the distribution the LoRAs
 * were distilled toward.
 */
export const TEACHER_GUIDANCE = 4.5;
export const TEACHER_ROW = 'teacher-ddim-25';

const tddRow = (steps: number, guidance: number): EvalRow => ({
  name: `tdd-${steps}-g${guidance.toFixed(1)}`,
  label: `TDD LoRA, ${steps} steps, cfg ${guidance.toFixed(1)}`,
  group: 'tdd',
  lora: 'tdd',
  scheduler: 'tdd',
  schedulerConfig: TDD_SAMPLING,
  steps,
  guidance,
  eta: TDD_ETA,
});

const lcmRow = (steps: number): EvalRow => ({
  name: `lcm-${steps}`,
  label: `LCM-LoRA, ${steps} steps`,
  group: 'lcm',
  lora: 'lcm',
  scheduler: 'lcm',
  schedulerConfig: {},
  steps,
  guidance: 1,
});

const ablation = (name: string, label: string, change: Partial<EvalRow> & { schedulerConfig?: Record<string, unknown> }): EvalRow => ({
  ...tddRow(4, TDD_GUIDANCE),
  name,
  label,
  group: 'ablation',
  compareTo: tddRow(change.steps ?? 4, TDD_GUIDANCE).name,
  ...change,
});

/** The list, in table order. */
export const EVAL_ROWS: readonly EvalRow[] = Object.freeze([
  {
    name: TEACHER_ROW,
    label: 'teacher, DDIM 25 steps',
    group: 'teacher',
    lora: 'none',
    scheduler: 'ddim',
    schedulerConfig: {},
    steps: 25,
    guidance: TEACHER_GUIDANCE,
    eta: 0,
  },
  {
    name: 'teacher-dpmpp-25',
    label: 'teacher, DPM-Solver++ 25 steps',
    group: 'teacher',
    lora: 'none',
    scheduler: 'dpmsolver++',
    schedulerConfig: {},
    steps: 25,
    guidance: TEACHER_GUIDANCE,
  },
  ...[2, 4, 8].flatMap((steps) => [tddRow(steps, TDD_GUIDANCE), tddRow(steps, 1)]),
  ...[2, 4, 8].map(lcmRow),
  // TCD on the TDD LoRA with TDD's guidance and η (= TCD's γ): only the sampler differs from tdd-4-g1.7.
  {
    name: 'tcd-4-tdd-lora',
    label: 'TCD sampler on the TDD LoRA, 4 steps',
    group: 'tcd',
    lora: 'tdd',
    scheduler: 'tcd',
    schedulerConfig: {},
    steps: 4,
    guidance: TDD_GUIDANCE,
    eta: TDD_ETA,
  },
  ablation('ablation-single-k', 'TDD w/o target selection (single K)', { lora: 'tddSingleK' }),
  ablation('ablation-no-empty-prompts', 'TDD w/o decoupled guidance (no empty prompts)', { lora: 'tddNoEmptyPrompts' }),
  ablation('ablation-no-non-equidistant', 'TDD w/o non-equidistant sampling', {
    schedulerConfig: { ...TDD_SAMPLING, special_jump: false },
  }),
  ablation('option-x0-clip', 'TDD with x0 clipping', { schedulerConfig: { ...TDD_SAMPLING, ...TDD_X0_CLIPPING }, expect: 'better' }),
  // Where special_jump does act (5–7 steps): run with --rows tdd-6-g1.7,ablation-6-no-non-equidistant.
  { ...tddRow(6, TDD_GUIDANCE), group: 'extra', optional: true },
  {
    ...ablation('ablation-6-no-non-equidistant', 'TDD 6 steps w/o non-equidistant sampling', {
      steps: 6,
      schedulerConfig: { ...TDD_SAMPLING, special_jump: false },
    }),
    group: 'extra',
    optional: true,
  },
] satisfies EvalRow[]);

/** PCM's sampler (its authors' demo: TCD, deterministic, no CFG), also used for the simpleCTM LoRA. */
const deterministicTcd = { scheduler: 'tcd', schedulerConfig: {}, guidance: 1, eta: 0 } as const;

/**
 * "Quality from 1 to 16 steps" (issue 21): every method at 1, 2, 4, 8 and 16 steps with the same budget. TDD and
 * LCM sample with their LoRA at each count (rows of the main table where they exist), PCM with the LoRA distilled
 * for that many phases, PCM with its adversarial loss at 1 and 2, simpleCTM with its one LoRA. Select them with
 * `--rows steps` (a separate table: they need the LoRAs of every method).
 */
export const STEP_ROWS: readonly EvalRow[] = Object.freeze(
  STEP_COUNTS.flatMap((steps): EvalRow[] => {
    const tdd = EVAL_ROWS.find((r) => r.name === `tdd-${steps}-g1.0`) ?? { ...tddRow(steps, 1), group: 'steps', optional: true };
    const lcm = EVAL_ROWS.find((r) => r.name === `lcm-${steps}`) ?? { ...lcmRow(steps), group: 'steps', optional: true };
    const deterministic = (role: LoraRole, name: string, label: string, timesteps?: readonly number[]): EvalRow => ({
      name,
      label,
      group: 'steps',
      lora: role,
      steps,
      ...(timesteps && { timesteps }),
      optional: true,
      ...deterministicTcd,
    });
    // PCM samples at the phase ends its LoRA was distilled for (the pcm preset's timesteps); simpleCTM, trained to
    // jump between any two grid points, at TCD's own plan.
    const pcm = (role: LoraRole, name: string, label: string) => deterministic(role, name, label, presets.pcm.timesteps!(steps));
    return [
      tdd,
      lcm,
      pcm(`pcm${steps}`, `pcm-${steps}`, `PCM LoRA (${steps} phases), ${steps} steps`),
      ...(ADVERSARIAL_STEP_COUNTS.some((m) => m === steps)
        ? [pcm(`pcmAdv${steps}` as LoraRole, `pcm-adv-${steps}`, `PCM LoRA with adversarial loss (${steps} phases), ${steps} steps`)]
        : []),
      deterministic('simplectm', `simplectm-${steps}`, `simpleCTM LoRA, ${steps} steps`),
    ];
  }),
);

/** Every row `--rows` can name: the main table and the steps table. */
export const ALL_ROWS: readonly EvalRow[] = Object.freeze([...EVAL_ROWS, ...STEP_ROWS.filter((r) => !EVAL_ROWS.includes(r))]);

/** Row groups `--rows` accepts besides row names. */
const ROW_GROUPS: Readonly<Record<string, readonly EvalRow[]>> = { steps: STEP_ROWS };

/**
 * The rows named in `names` (all non-optional rows when undefined): a group name (`steps`) stands for its rows, in
 * the group's order; plain names come in table order; unknown names are an error.
 */
export function selectRows(names: readonly string[] | undefined, rows: readonly EvalRow[] = ALL_ROWS): EvalRow[] {
  if (names === undefined) return rows.filter((r) => !r.optional);
  const groups = names.filter((n) => Object.hasOwn(ROW_GROUPS, n));
  const plain = names.filter((n) => !Object.hasOwn(ROW_GROUPS, n));
  const known = new Set(rows.map((r) => r.name));
  const unknown = plain.filter((n) => !known.has(n));
  if (unknown.length > 0)
    throw new EvalError(
      `unknown eval row${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}; choose from: ${rows.map((r) => r.name).join(', ')}; or a group: ${Object.keys(ROW_GROUPS).join(', ')}`,
    );
  if (names.length === 0) throw new EvalError('no eval rows selected');
  const picked = [...groups.flatMap((g) => ROW_GROUPS[g]), ...rows.filter((r) => plain.includes(r.name))];
  return picked.filter((r, i) => picked.findIndex((o) => o.name === r.name) === i);
}
