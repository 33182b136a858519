// `tdd generate` flags: their declaration, parsing (each error names its flag) and the checks that need no
// model. Checks that need the model (size vs. the VAE factor, steps vs. the scheduler) are in generate-command.
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { usesGuidance } from '../pipelines/guidance.js';
import { embeddedModel } from '../embedded/index.js';
import { presetNames, presets, resolveSampling, type ResolvedSampling } from '../pipelines/presets.js';
import type { LongPromptMode } from '../pipelines/prompt-encoding.js';
import { OFFLOAD_MODES, type OffloadMode } from '../pipelines/offload.js';
import { isSchedulerName, schedulerNames } from '../schedulers/index.js';
import { UsageError, parseInteger, parseNumber } from './errors.js';
import { TDD_X0_CLIPPING } from '../eval/rows.js';
import { addDeviceOptions, type DeviceFlags } from './device-options.js';

export interface LoraSpec {
  path: string;
  scale: number;
}

/** The flags as commander hands them over (undefined = not given). */
export interface GenerateFlags extends DeviceFlags {
  model?: string;
  /** false: the built-in model without its TDD LoRA (commander's --no-embedded-lora). */
  embeddedLora: boolean;
  /** The built-in TDD LoRA's weight (default 1; 0 = off). */
  embeddedLoraWeight?: number;
  tokenizer?: string;
  variant?: string;
  lora: LoraSpec[];
  preset?: string;
  scheduler?: string;
  steps?: number;
  /** Explicit timesteps, largest first (--timesteps 999,747,499,247). */
  timesteps?: number[];
  guidance?: number;
  guidanceRescale?: number;
  eta?: number;
  seed?: bigint;
  negative?: string;
  promptFile?: string;
  negativeFile?: string;
  width?: number;
  height?: number;
  batch: number;
  initImage?: string;
  strength?: number;
  mask?: string;
  controlnet?: string;
  controlImage?: string;
  controlnetScale?: number;
  fastDecode?: string;
  vaeTiling?: boolean;
  longPrompts: LongPromptMode;
  /** A1111 emphasis syntax in prompts (on unless --no-prompt-weighting). */
  promptWeighting: boolean;
  offload: OffloadMode;
  /** TDD: the reference's non-equidistant 5–7-step schedules. */
  specialJump?: boolean;
  /** TDD: the distillation grid size (scheduler_config tdd_train_step). */
  tddTrainStep?: number;
  /** TDD: the reference's x0 clipping (dynamic thresholding on the first steps, TDD_X0_CLIPPING). */
  x0Clip?: boolean;
  /** `--scheduler-option key=value`, parsed (repeatable). */
  schedulerOption: SchedulerOption[];
  /** `--config-override component.field=value`, parsed (repeatable; single-file checkpoints). */
  configOverride: ConfigOverride[];
  /** A diffusers folder whose <component>/config.json files configure a single-file checkpoint. */
  modelConfig?: string;
  out?: string;
  overwrite?: boolean;
  jsonSidecar?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export interface SchedulerOption {
  key: string;
  value: unknown;
  /** As typed, for messages. */
  text: string;
}

export interface ConfigOverride {
  component: ConfigComponent;
  field: string;
  value: unknown;
}

export const CONFIG_COMPONENTS = ['unet', 'vae', 'text_encoder', 'text_encoder_2'] as const;
export type ConfigComponent = (typeof CONFIG_COMPONENTS)[number];
export type ConfigOverrides = Partial<Record<ConfigComponent, Record<string, unknown>>>;

/** A JSON value when it is JSON (16, 0.18215, [5, 10], true), else the text as a string. */
function jsonOrString(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** `component.field=value` (the library's configOverrides), e.g. unet.sample_size=16. */
export function parseConfigOverride(text: string, previous: ConfigOverride[] = []): ConfigOverride[] {
  const m = /^(\w+)\.(\w+)=(.+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--config-override must be component.field=value, e.g. unet.sample_size=16 (got "${text}")`);
  if (!(CONFIG_COMPONENTS as readonly string[]).includes(m[1]))
    throw new UsageError(`--config-override ${text}: unknown component "${m[1]}"; choose one of: ${CONFIG_COMPONENTS.join(', ')}`);
  return [...previous, { component: m[1] as ConfigComponent, field: m[2], value: jsonOrString(m[3].trim()) }];
}

/** --model-config DIR's <component>/config.json files, then each --config-override on top. */
export function configOverridesFrom(f: GenerateFlags): ConfigOverrides | undefined {
  if (f.modelConfig === undefined && f.configOverride.length === 0) return undefined;
  const out: ConfigOverrides = {};
  if (f.modelConfig !== undefined) {
    const found = CONFIG_COMPONENTS.filter((c) => existsSync(join(f.modelConfig!, c, 'config.json')));
    if (found.length === 0) throw new UsageError(`--model-config: ${f.modelConfig} has no unet/, vae/ or text_encoder/ config.json`);
    for (const c of found) {
      try {
        out[c] = JSON.parse(readFileSync(join(f.modelConfig, c, 'config.json'), 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new UsageError(`--model-config: ${join(f.modelConfig, c, 'config.json')}: ${(e as Error).message}`);
      }
    }
  }
  for (const o of f.configOverride) out[o.component] = { ...out[o.component], [o.field]: o.value };
  return out;
}

/** Everything a run needs that could be decided without loading the model. */
export interface GenerateSettings {
  prompt: string;
  flags: GenerateFlags;
  sampling: ResolvedSampling;
  /** scheduler_config fields over the model's (TDD flags, then --scheduler-option); validated against the model. */
  schedulerConfig: Record<string, unknown>;
  seed: bigint;
  /** True when the seed was drawn at random (it is printed so the image can be remade). */
  randomSeed: boolean;
}

export const HOW_TO_GET_A_MODEL = [
  'no model given and the built-in emoji model is missing from this installation: pass --model <diffusers folder | checkpoint.safetensors>.',
  'To get one, download a Stable Diffusion 1.5 or SDXL model in diffusers layout, e.g.',
  '  huggingface-cli download stable-diffusion-v1-5/stable-diffusion-v1-5 --local-dir sd15 --include model_index.json "*/*.json" "*/*.txt" \\',
  '    text_encoder/model.safetensors unet/diffusion_pytorch_model.safetensors vae/diffusion_pytorch_model.safetensors',
  'then add a distillation LoRA for few-step sampling: --model sd15 --lora <TDD/TCD/LCM LoRA>.safetensors --preset tdd',
].join('\n');

/** `FILE[:SCALE]`: the scale is split off only when what follows the last ':' is a number (so C:\ paths work). */
export function parseLoraSpec(value: string, previous: LoraSpec[] = []): LoraSpec[] {
  const colon = value.lastIndexOf(':');
  const tail = colon >= 0 ? value.slice(colon + 1) : '';
  const hasScale = tail.trim() !== '' && Number.isFinite(Number(tail));
  const spec = hasScale ? { path: value.slice(0, colon), scale: Number(tail) } : { path: value, scale: 1 };
  if (spec.path === '') throw new UsageError(`--lora needs a file (got "${value}")`);
  return [...previous, spec];
}

/**
 * Seeds are torch's: any integer in [-2^63, 2^64); negative values wrap as torch's do, except -1, which means
 * "random" as in A1111 (torch's -1 is 18446744073709551615).
 */
export const RANDOM_SEED = -1n;

export function parseSeed(value: string): bigint {
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--seed must be an integer (got "${value}")`);
  const seed = BigInt(value.trim());
  if (seed < -(1n << 63n) || seed >= 1n << 64n) throw new UsageError(`--seed must be in [-2^63, 2^64) (got ${value})`);
  return seed;
}

/**
 * `key=value` for any scheduler_config.json field: the value is read as JSON when it is JSON (true, 250, 0.995,
 * null, [1, 2], "text"), else as a plain string (trailing, scaled_linear). The scheduler's own config parser
 * checks key and value against the model's config later (checkAgainstModel).
 */
export function parseSchedulerOption(text: string, previous: SchedulerOption[] = []): SchedulerOption[] {
  const eq = text.indexOf('=');
  const key = eq < 0 ? '' : text.slice(0, eq).trim();
  if (!/^[A-Za-z_]\w*$/.test(key))
    throw new UsageError(`--scheduler-option must be key=value, e.g. timestep_spacing=trailing (got "${text}")`);
  const raw = text.slice(eq + 1).trim();
  if (raw === '') throw new UsageError(`--scheduler-option ${key}: missing value (got "${text}")`);
  return [...previous, { key, value: jsonOrString(raw), text }];
}

const integer = (flag: string) => (v: string) => parseInteger(flag, v);
const number = (flag: string) => (v: string) => parseNumber(flag, v);
/** Comma-separated integer timesteps, largest first (the scheduler checks their range against its training grid). */
const timestepList = (v: string): number[] => {
  const values = v.split(',').map((part) => parseInteger('--timesteps', part.trim()));
  if (values.some((t, i) => t < 0 || (i > 0 && t >= values[i - 1])))
    throw new UsageError(`--timesteps: give strictly descending timesteps ≥ 0, e.g. 999,747,499,247 (got ${v})`);
  return values;
};

export function addGenerateOptions(command: Command): Command {
  const presetHelp = presetNames.map((n) => `${n} = ${presets[n].summary}`).join('; ');
  return addDeviceOptions(
    command
      .option(
        '-m, --model <path>',
        'a diffusers model folder or a single-file .safetensors checkpoint (default: the built-in 64 px emoji model with its TDD LoRA)',
      )
      .option('--no-embedded-lora', 'with the built-in model: leave its TDD LoRA off (teacher sampling, e.g. --scheduler ddim)')
      .option(
        '--embedded-lora-weight <w>',
        "with the built-in model: its TDD LoRA's weight (default 1; 0 = off, as --no-embedded-lora)",
        number('--embedded-lora-weight'),
      )
      .addOption(
        new Option(
          '--config-override <component.field=value>',
          'single-file checkpoints: a config field the weights cannot tell (repeatable; JSON values), e.g. unet.sample_size=16',
        )
          .argParser(parseConfigOverride)
          .default([], 'none'),
      )
      .option(
        '--model-config <dir>',
        'single-file checkpoints: a diffusers folder whose unet/, vae/, text_encoder/ config.json give the configs',
      )
      .option('--tokenizer <dir>', 'CLIP tokenizer folder for single-file checkpoints (default: tokenizer/ beside the file)')
      .option('--variant <name>', 'weights variant of a diffusers folder (e.g. fp16)')
      .addOption(
        new Option('--lora <file[:scale]>', 'LoRA to apply (repeatable; scale default 1)').argParser(parseLoraSpec).default([], 'none'),
      )
      .addOption(
        new Option('-p, --preset <name>', `sampling preset (${presetHelp}); default: tdd, or the family of --scheduler`).choices(
          presetNames,
        ),
      )
      .option('-s, --scheduler <name>', `scheduler, overrides the preset's (${schedulerNames.join(', ')})`)
      .option('-n, --steps <n>', 'inference steps (overrides the preset)', integer('--steps'))
      .option(
        '--timesteps <list>',
        "explicit timesteps, largest first, e.g. 999,747,499,247 (lcm, tcd, dmd schedulers; their count is the step count; overrides the preset's)",
        timestepList,
      )
      .option('-g, --guidance <scale>', 'classifier-free guidance scale; ≤ 1 disables CFG (overrides the preset)', number('--guidance'))
      .option('--guidance-rescale <phi>', 'guidance rescale φ in [0, 1]', number('--guidance-rescale'))
      .option('--eta <eta>', 'stochasticity: TDD/DDIM η, TCD γ, in [0, 1] (overrides the preset)', number('--eta'))
      .option('--seed <seed>', 'random seed; -1 or none draws one (printed); image i of a batch uses seed + i (A1111)', parseSeed)
      .option('--negative <text>', 'negative prompt (used when guidance > 1)')
      .option(
        '--prompt-file <file>',
        'read the prompt from this UTF-8 file ("-" = stdin) instead of the argument; the way to pass long text',
      )
      .option('--negative-file <file>', 'read the negative prompt from this UTF-8 file ("-" = stdin)')
      .option('-W, --width <px>', "image width (default: the model's native size)", integer('--width'))
      .option('-H, --height <px>', "image height (default: the model's native size)", integer('--height'))
      .option(
        '-b, --batch <n>',
        'images per prompt; image i gets seed + i, so each can be remade alone from its PNG',
        integer('--batch'),
        1,
      )
      .option('--init-image <file>', 'image-to-image: start from this image')
      .option('--strength <s>', 'image-to-image strength in (0, 1] (default 0.8; inpainting 1)', number('--strength'))
      .option('--mask <file>', 'inpainting mask (white = repaint), with --init-image')
      .option('--controlnet <dir>', 'ControlNet model folder, with --control-image')
      .option('--control-image <file>', 'ControlNet conditioning image (edges, depth ...); sets the default size')
      .option('--controlnet-scale <s>', 'ControlNet conditioning scale (default 1)', number('--controlnet-scale'))
      .option('--special-jump', "TDD: the reference's non-equidistant schedules for 5–7 steps (tdd_train_step 250)")
      .option(
        '--tdd-train-step <n>',
        'TDD: the distillation grid size (scheduler_config tdd_train_step, default 250)',
        integer('--tdd-train-step'),
      )
      .option('--x0-clip', "TDD: the reference's x0 clipping (dynamic thresholding, ratio 0.995, max 1.5, first 2 steps)")
      .addOption(
        new Option(
          '--scheduler-option <key=value>',
          "any scheduler_config.json field over the model's (repeatable; JSON values, e.g. timestep_spacing=trailing, clip_sample=true)",
        )
          .argParser(parseSchedulerOption)
          .default([], 'none'),
      )
      .option('--fast-decode <dir>', 'decode with this TAESD (AutoencoderTiny, diffusers format) folder instead of the full VAE')
      .option('--vae-tiling', 'decode the full VAE in tiles (automatic for images over twice the native size)')
      .addOption(
        new Option('--long-prompts <mode>', 'prompts over 77 tokens: truncate (as diffusers) or chunk')
          .choices(['truncate', 'chunk'])
          .default('truncate'),
      )
      .option('--no-prompt-weighting', 'take (word:1.3), [word], BREAK ... in prompts literally (default: A1111 emphasis syntax)')
      .addOption(
        new Option(
          '--offload <mode>',
          "components released after their stage: sequential (each one, as soon as it is done: free for a one-shot run), text-encoders, none, or auto (by the machine's memory)",
        )
          .choices([...OFFLOAD_MODES])
          .default('sequential'),
      )
      .option('-o, --out <path>', 'output file (.png, one image) or folder (default: ./outputs/)')
      .option('--overwrite', 'let --out FILE.png replace an existing file (refused otherwise)')
      .option('--json-sidecar', "also write each image's parameters to <image>.json")
      .option('--json', 'print one JSON object (outputs, parameters, timings, warnings) on stdout')
      .option('-q, --quiet', 'no progress bar or messages on stderr'),
  );
}

function checkRange(flag: string, value: number | undefined, min: number, max: number, { minOpen = false } = {}): void {
  if (value === undefined) return;
  if (value > max || value < min || (minOpen && value === min)) {
    throw new UsageError(`${flag} must be in ${minOpen ? '(' : '['}${min}, ${max}] (got ${value})`);
  }
}

function checkPairs(f: GenerateFlags): void {
  if (f.strength !== undefined && !f.initImage) throw new UsageError('--strength applies only with --init-image');
  if (f.mask && !f.initImage) throw new UsageError('--mask needs --init-image (the image to inpaint)');
  if (f.controlnet && !f.controlImage) throw new UsageError('--controlnet needs --control-image');
  if (f.controlImage && !f.controlnet) throw new UsageError('--control-image needs --controlnet');
  if (f.controlnetScale !== undefined && !f.controlnet) throw new UsageError('--controlnet-scale applies only with --controlnet');
  if (f.controlnet && f.initImage) throw new UsageError('--controlnet works with text-to-image only (not with --init-image or --mask)');
  for (const [flag, path] of [
    ['--init-image', f.initImage],
    ['--mask', f.mask],
    ['--control-image', f.controlImage],
    ['--controlnet', f.controlnet],
  ] as const) {
    if (path && !existsSync(path)) throw new UsageError(`${flag}: ${path} does not exist`);
  }
}

/** Reads --prompt-file / --negative-file text: `-` is stdin; one trailing newline is dropped (as `$(cat f)`). */
function readTextFile(flag: string, file: string): string {
  let text: string;
  try {
    if (file !== '-' && !statSync(file).isFile()) throw new UsageError(`${flag}: ${file} is not a regular file`);
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(`${flag}: cannot read ${file === '-' ? 'stdin' : file} (${err.code ?? err.message})`);
  }
  return text.replace(/\r?\n$/, '');
}

/** The prompt and negative prompt from the argument, `-` (stdin), --prompt-file and --negative-file. */
export function resolvePromptTexts(prompt: string | undefined, f: GenerateFlags): { prompt: string; negative?: string } {
  if (prompt !== undefined && f.promptFile !== undefined)
    throw new UsageError('give the prompt either as the argument or with --prompt-file, not both');
  if (f.negative !== undefined && f.negativeFile !== undefined) throw new UsageError('give --negative or --negative-file, not both');
  const promptSource = f.promptFile ?? (prompt === '-' ? '-' : undefined);
  if (promptSource === '-' && f.negativeFile === '-') throw new UsageError('only one of the prompt and --negative-file can read stdin');
  const text =
    promptSource !== undefined ? readTextFile(f.promptFile !== undefined ? '--prompt-file' : 'prompt "-"', promptSource) : prompt;
  if (text === undefined) throw new UsageError('missing prompt: give it as the argument, "-" for stdin, or --prompt-file <file>');
  const negative = f.negativeFile !== undefined ? readTextFile('--negative-file', f.negativeFile) : f.negative;
  return { prompt: text, negative };
}

const samePath = (a: string, b: string): boolean => {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
};

/**
 * No --model: the built-in emoji model, with its TDD LoRA first (weight --embedded-lora-weight, default 1)
 * unless --no-embedded-lora. `--lora <that very file>[:W]` sets its weight instead of loading it twice.
 */
function withEmbeddedModel(f: GenerateFlags): GenerateFlags {
  if (f.embeddedLoraWeight !== undefined && f.model)
    throw new UsageError('--embedded-lora-weight applies only to the built-in model (without --model)');
  if (f.embeddedLoraWeight !== undefined && f.embeddedLora === false)
    throw new UsageError('give --embedded-lora-weight or --no-embedded-lora, not both (weight 0 also turns it off)');
  if (f.model) return f;
  const embedded = embeddedModel();
  if (!embedded) return f;
  const builtin = embedded.lora;
  const explicit = builtin === undefined ? [] : f.lora.filter((l) => samePath(l.path, builtin));
  if (explicit.length > 1) throw new UsageError(`--lora: the built-in LoRA (${builtin}) is given ${explicit.length} times`);
  if (explicit.length && f.embeddedLoraWeight !== undefined)
    throw new UsageError("give the built-in LoRA's weight either with --embedded-lora-weight or as --lora FILE:WEIGHT, not both");
  const weight = explicit[0]?.scale ?? f.embeddedLoraWeight ?? 1;
  const others = f.lora.filter((l) => !explicit.includes(l));
  const lora = builtin && f.embeddedLora !== false && weight !== 0 ? [{ path: builtin, scale: weight }] : [];
  return { ...f, model: embedded.dir, lora: [...lora, ...others] };
}

/** Validates the flags that need no model and resolves preset + explicit values. */
export function settingsFrom(prompt: string, flags: GenerateFlags): GenerateSettings {
  const f = withEmbeddedModel(flags);
  if (!f.model) throw new UsageError(HOW_TO_GET_A_MODEL);
  if (!existsSync(f.model)) throw new UsageError(`--model: ${f.model} does not exist`);
  if (f.scheduler !== undefined && !isSchedulerName(f.scheduler)) {
    throw new UsageError(`--scheduler: unknown scheduler "${f.scheduler}"; choose one of: ${schedulerNames.join(', ')}`);
  }
  checkRange('--steps', f.steps, 1, 1000);
  checkRange('--guidance', f.guidance, 0, Number.MAX_VALUE);
  checkRange('--guidance-rescale', f.guidanceRescale, 0, 1);
  checkRange('--eta', f.eta, 0, 1);
  checkRange('--strength', f.strength, 0, 1, { minOpen: true });
  checkRange('--batch', f.batch, 1, 64);
  checkRange('--width', f.width, 1, 16384);
  checkRange('--height', f.height, 1, 16384);
  checkRange('--controlnet-scale', f.controlnetScale, 0, Number.MAX_VALUE);
  checkPairs(f);
  for (const l of f.lora) if (!existsSync(l.path)) throw new UsageError(`--lora: ${l.path} does not exist`);
  if (f.timesteps && f.steps !== undefined && f.steps !== f.timesteps.length)
    throw new UsageError(`--steps ${f.steps} and --timesteps (${f.timesteps.length} of them) disagree; give one of them`);
  const sampling = resolveSampling({
    preset: f.preset,
    scheduler: f.scheduler,
    steps: f.steps,
    timesteps: f.timesteps,
    guidanceScale: f.guidance,
    eta: f.eta,
  });
  // A diffusers folder brings its own tokenizer/, the one its text encoder was trained with, and the loader uses
  // it; --tokenizer is for single-file checkpoints. A warning, not an error: the run is still right, and scripts
  // that always pass --tokenizer keep working, but the user learns the flag did nothing.
  if ((f.configOverride.length > 0 || f.modelConfig !== undefined) && statSync(f.model).isDirectory())
    throw new UsageError(
      `--config-override and --model-config apply to single-file checkpoints; ${f.model} is a diffusers folder with its own config.json files`,
    );
  if (f.tokenizer !== undefined && statSync(f.model).isDirectory())
    sampling.warnings.push(
      `--tokenizer is ignored for a diffusers folder (${f.model} uses its own tokenizer/); it applies to single-file checkpoints`,
    );
  if (f.negative && !usesGuidance(sampling.guidanceScale))
    sampling.warnings.push(`--negative has no effect at guidance ${sampling.guidanceScale} (classifier-free guidance needs > 1)`);
  const schedulerConfig = schedulerConfigFrom(f, sampling.scheduler);
  const randomSeed = f.seed === undefined || f.seed === RANDOM_SEED;
  const seed = randomSeed ? BigInt(randomInt(0, 2 ** 32)) : f.seed!;
  return { prompt, flags: f, sampling, schedulerConfig, seed, randomSeed };
}

/** The TDD flags and --scheduler-option as scheduler_config fields (later ones win). */
function schedulerConfigFrom(f: GenerateFlags, scheduler: string): Record<string, unknown> {
  const tddFlags = [
    ['--special-jump', f.specialJump],
    ['--tdd-train-step', f.tddTrainStep],
    ['--x0-clip', f.x0Clip],
  ] as const;
  for (const [flag, v] of tddFlags)
    if (v !== undefined && scheduler !== 'tdd')
      throw new UsageError(`${flag} applies only to the tdd scheduler (this run uses ${scheduler})`);
  const config: Record<string, unknown> = {};
  if (f.specialJump) config.special_jump = true;
  if (f.tddTrainStep !== undefined) config.tdd_train_step = f.tddTrainStep;
  if (f.x0Clip) Object.assign(config, TDD_X0_CLIPPING);
  for (const o of f.schedulerOption ?? []) config[o.key] = o.value;
  return config;
}
