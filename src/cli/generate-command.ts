// `tdd generate "<prompt>"`: loads a model (and LoRAs), samples with a preset or explicit settings, and
// writes PNGs carrying A1111-style `parameters` (optionally JSON sidecars). Progress on stderr; with --json
// one JSON object on stdout. Flag parsing is in generate-options.ts, output naming in generate-output.ts.
import { basename, extname, resolve } from 'node:path';
import type { Command } from 'commander';
import { formatA1111Parameters, type ImageMetadata, type LoraUse } from '../pipelines/metadata.js';
import { loadPipeline, type StableDiffusionPipeline } from '../pipelines/pipeline.js';
import { sizeProblem, type GenerationRequest } from '../pipelines/generation.js';
import type { GenerationResult } from '../pipelines/txt2img.js';
import { loadControlNet, type ControlNet } from '../pipelines/controlnet.js';
import { batchSeeds, seedToJson } from '../pipelines/seeds.js';
import { hashIdentity, loraName, pipelineIdentity, type NamedLora, type RunIdentity } from '../pipelines/identity.js';
import { createScheduler, SchedulerConfigError, SchedulerOptionError } from '../schedulers/index.js';
import { defaultHashCacheFile, FileHashCache } from '../util/file-hash.js';
import { concatFloat32 } from '../util/float32.js';
import { LoraError } from '../weights/lora-formats.js';
import { UsageError } from './errors.js';
import { TDD_X0_CLIPPING } from '../eval/rows.js';
import {
  addGenerateOptions,
  settingsFrom,
  resolvePromptTexts,
  configOverridesFrom,
  type GenerateFlags,
  type GenerateSettings,
  type LoraSpec,
} from './generate-options.js';
import { outputPaths, planOutput, sidecarPath, writeImages, type ImageOutput } from './generate-output.js';
import { StageProgress, StepProgress } from './progress.js';
import { runtimeFrom } from './device-options.js';
import { sessionOptionsFor } from '../runtime/device.js';

interface AppliedLora extends LoraUse {
  path: string;
}

/** What a run reports (the --json object). */
export interface GenerateReport {
  /** Each image with its own seed (seed + index, A1111's rule): a number, or a string beyond 2^53 (seedToJson). */
  images: { path: string; index: number; seed: number | string; width: number; height: number; sidecar?: string }[];
  parameters: Record<string, unknown>;
  /** Milliseconds by stage, plus the offload mode in force, the components it released, and the device and threads that ran. */
  timings: Record<string, number | string | string[] | undefined>;
  warnings: string[];
  truncated: string[];
}

export function registerGenerateCommand(program: Command): void {
  const command = program
    .command('generate')
    .description('generate images from a prompt (PNG with A1111-style parameters; see --preset)')
    .argument('[prompt]', 'the text prompt; "-" reads it from stdin (for long text see --prompt-file)');
  addGenerateOptions(command).action(async (prompt: string | undefined, flags: GenerateFlags) => {
    const version = `tdd-diffusion ${program.version() ?? 'unknown'}`;
    const texts = resolvePromptTexts(prompt, flags);
    const report = await runGenerate(settingsFrom(texts.prompt, { ...flags, negative: texts.negative }), version);
    if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(report.images.map((i) => `${i.path}\n`).join(''));
  });
}

const elapsed = (since: number) => Math.round(performance.now() - since);

/** Warnings are kept for the report and shown on stderr unless --quiet or --json. */
class RunLog {
  readonly warnings: string[] = [];
  constructor(private readonly flags: GenerateFlags) {}
  say(line: string): void {
    if (!this.flags.quiet && !this.flags.json) process.stderr.write(`${line}\n`);
  }
  warn(message: string): void {
    this.warnings.push(message);
    this.say(`warning: ${message}`);
  }
}

export async function runGenerate(s: GenerateSettings, version: string): Promise<GenerateReport> {
  const t0 = performance.now();
  const timings: Record<string, number | undefined> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await work();
    } finally {
      timings[name] = elapsed(t);
    }
  };
  const log = new RunLog(s.flags);
  const stages = new StageProgress({ enabled: showProgress(s.flags) });
  const plan = planOutput(s.flags.out, s.flags.batch, s.flags.overwrite);
  const runtime = await runtimeFrom(s.flags);
  const pipe = await timed('loadMs', () =>
    stages.run('loading the model', () =>
      loadPipeline(s.flags.model!, {
        variant: s.flags.variant,
        tokenizerDir: s.flags.tokenizer,
        offload: s.flags.offload,
        configOverrides: configOverridesFrom(s.flags),
        ...sessionOptionsFor(runtime),
      }),
    ),
  );
  let controlnet: ControlNet | undefined;
  try {
    controlnet = s.flags.controlnet === undefined ? undefined : loadControlNet(s.flags.controlnet, sessionOptionsFor(runtime));
    checkAgainstModel(pipe, s);
    if (s.flags.fastDecode) pipe.useTinyDecoder(s.flags.fastDecode);
    s.sampling.warnings.forEach((w) => log.warn(w));
    const applied = await timed('loraMs', () =>
      s.flags.lora.length ? stages.run('applying LoRAs', () => applyLoras(pipe, s.flags.lora, log)) : applyLoras(pipe, [], log),
    );
    const { model, loras } = await timed('hashMs', () => stages.run('hashing the model and LoRAs', () => hashModelAndLoras(pipe, applied)));
    log.say(`seed: ${s.seed}`);
    const { result, seeds, stepTimings } = await timed('generateMs', () => generate(pipe, s, stages, controlnet));
    for (const p of result.truncated)
      log.warn(`prompt truncated to the text encoder's 77 tokens (use --long-prompts chunk): ${JSON.stringify(p)}`);
    const parameters = runParameters(s, result, model, loras, pipe);
    const paths = outputPaths(plan, result.images.length, s.seed, new Date());
    const outputs = imageOutputs(s, result, seeds, parameters, model, loras, version, paths);
    await timed('saveMs', () => stages.run('saving', () => writeImages(outputs)));
    return {
      images: outputs.map((o, index) => ({
        path: o.path,
        index,
        seed: seedToJson(seeds[index]),
        width: o.image.width,
        height: o.image.height,
        sidecar: o.sidecar ? sidecarPath(o.path) : undefined,
      })),
      parameters,
      timings: {
        ...timings,
        ...stepTimings,
        totalMs: elapsed(t0),
        offload: pipe.offload.mode,
        released: result.released,
        device: runtime.device,
        threads: runtime.threads,
      },
      warnings: log.warnings,
      truncated: result.truncated,
    };
  } finally {
    await controlnet?.release();
    await pipe.release();
  }
}

/** Size vs. the VAE factor and steps vs. the scheduler, before any heavy work, naming the flag at fault. */
function checkAgainstModel(pipe: StableDiffusionPipeline, s: GenerateSettings): void {
  const guesses = pipe.components.configGuesses ?? [];
  if (guesses.length > 0)
    throw new UsageError(
      `${pipe.components.path}: this single-file checkpoint is not a standard SD 1.x/2.x/SDXL size, so its config cannot be ` +
        `inferred from the weights; these fields would be guesses: ${guesses.join(', ')}. Give the real values with ` +
        `--config-override (e.g. --config-override ${guesses[0].replace(/=.*/, '=VALUE')}) or --model-config <diffusers folder with the configs>`,
    );
  for (const [flag, v] of [
    ['--width', s.flags.width],
    ['--height', s.flags.height],
  ] as const) {
    const problem = v === undefined ? undefined : sizeProblem(pipe, flag, v);
    if (problem) throw new UsageError(problem);
  }
  const { scheduler, steps, timesteps } = s.sampling;
  const planner = createScheduler(scheduler, { ...pipe.components.schedulerConfig }); // a bad model config is not a --steps problem
  const options = Object.keys(s.schedulerConfig);
  let configured = planner;
  if (options.length > 0) {
    const flagsFor = (key: string) => schedulerFlagName(s, key);
    try {
      configured = createScheduler(scheduler, { ...pipe.components.schedulerConfig, ...s.schedulerConfig });
    } catch (e) {
      if (e instanceof SchedulerConfigError) throw new UsageError(`${flagsFor(e.field)}: ${e.message}`);
      throw e;
    }
    const unknown = options.filter((k) => configured.ignoredKeys.includes(k));
    if (unknown.length > 0) {
      const known = Object.keys(configured.config).join(', ');
      throw new UsageError(`${flagsFor(unknown[0])}: the ${scheduler} scheduler has no field "${unknown[0]}" (its fields: ${known})`);
    }
  }
  try {
    configured.setTimesteps(steps, { timesteps });
  } catch (e) {
    const asked = s.flags.timesteps
      ? `--timesteps ${s.flags.timesteps.join(',')}`
      : timesteps
        ? `the ${s.sampling.preset} preset's timesteps`
        : `--steps ${steps}`;
    if (e instanceof RangeError || e instanceof SchedulerConfigError || e instanceof SchedulerOptionError)
      throw new UsageError(`${asked} with the ${scheduler} scheduler: ${e.message}`);
    throw e;
  }
}

/** Which flag set a scheduler_config field (for messages): a TDD flag, or the --scheduler-option that named it. */
function schedulerFlagName(s: GenerateSettings, key: string): string {
  const option = [...s.flags.schedulerOption].reverse().find((o) => o.key === key);
  if (option) return `--scheduler-option ${option.text}`;
  if (key === 'special_jump') return '--special-jump';
  if (key === 'tdd_train_step') return '--tdd-train-step';
  if (s.flags.x0Clip && key in TDD_X0_CLIPPING) return '--x0-clip';
  return '--scheduler-option';
}

async function applyLoras(pipe: StableDiffusionPipeline, specs: readonly LoraSpec[], log: RunLog): Promise<AppliedLora[]> {
  const applied: AppliedLora[] = [];
  const names = new Set<string>();
  for (const spec of specs) {
    // Two files of the same name (a LoRA called tdd-lora beside the built-in one) become name, name-2, ...
    const stem = basename(spec.path, extname(spec.path));
    let name = stem;
    for (let n = 2; names.has(name); n++) name = `${stem}-${n}`;
    names.add(name);
    try {
      const loaded = await pipe.loadLora(spec.path, { scale: spec.scale, name });
      if (loaded.matches.some((m) => m.unmatched.length > 0))
        log.warn(`--lora ${spec.path}: not every module matched this model:\n${loaded.report}`);
      applied.push({ name: loaded.name, weight: spec.scale, path: spec.path });
    } catch (e) {
      if (e instanceof LoraError) throw new UsageError(`--lora: ${e.message}`, { cause: e });
      throw e;
    }
  }
  return applied;
}

/** The model's and LoRAs' names and hashes, by the rule the server and GeneratedImage.save() share (identity.ts). */
async function hashModelAndLoras(pipe: StableDiffusionPipeline, loras: AppliedLora[]) {
  const id = await hashIdentity(
    {
      model: pipelineIdentity(pipe).model,
      loras: loras.map((l) => ({ name: loraName(l.path), weight: l.weight, path: l.path })),
    },
    new FileHashCache(defaultHashCacheFile()),
  );
  return { model: id.model, loras: id.loras };
}

function requestFor(s: GenerateSettings, onStep: GenerationRequest['onStep']): GenerationRequest {
  const { flags, sampling } = s;
  return {
    prompt: s.prompt,
    negativePrompt: flags.negative,
    numImages: flags.batch,
    width: flags.width,
    height: flags.height,
    steps: sampling.steps,
    timesteps: sampling.timesteps,
    scheduler: sampling.scheduler,
    schedulerConfig: s.schedulerConfig,
    guidanceScale: sampling.guidanceScale,
    guidanceRescale: flags.guidanceRescale,
    eta: sampling.eta,
    seed: s.seed,
    longPrompts: flags.longPrompts,
    promptWeighting: flags.promptWeighting,
    decode: { fast: flags.fastDecode !== undefined, tiling: flags.vaeTiling ? true : 'auto' },
    onStep,
  };
}

/** Bars and stage lines: on a terminal, unless --quiet or --json. */
function showProgress(flags: GenerateFlags): boolean {
  return !flags.quiet && !flags.json && process.stderr.isTTY === true;
}

/**
 * Shows the stages inside a generation by wrapping this run's pipeline methods: prompt encoding (which compiles
 * the text encoder on first use), the first UNet call (compiles the UNet) until the first step ends, and decoding.
 */
function showStages(pipe: StableDiffusionPipeline, stages: StageProgress, progress: StepProgress): void {
  if (!stages.enabled) return;
  const encode = pipe.encodePrompts.bind(pipe);
  pipe.encodePrompts = (...args) => stages.run('encoding the prompt (text encoder)', () => encode(...args));
  const predict = pipe.predictNoise.bind(pipe);
  let compiled = false;
  pipe.predictNoise = (...args) => {
    if (!compiled) stages.begin('compiling the UNet, first step');
    compiled = true;
    return predict(...args);
  };
  const decode = pipe.decodeFinal.bind(pipe);
  pipe.decodeFinal = (...args) => {
    progress.stop();
    compiled = false; // img2img batches run image by image
    return stages.run('decoding (VAE)', () => decode(...args));
  };
}

async function generate(pipe: StableDiffusionPipeline, s: GenerateSettings, stages: StageProgress, controlnet?: ControlNet) {
  const { flags } = s;
  const seeds = batchSeeds(s.seed, flags.batch);
  const progress = new StepProgress({ enabled: showProgress(flags) });
  showStages(pipe, stages, progress);
  progress.start(s.sampling.steps);
  const request = requestFor(s, ({ step, steps }) => {
    if (step === 0) stages.end();
    progress.step(step + 1, steps);
  });
  let result: GenerationResult;
  try {
    if (flags.initImage) {
      // The image modes share one VAE sample across a batch; image by image, each one is its seed's alone.
      const parts: GenerationResult[] = [];
      for (const [i, seed] of seeds.entries()) {
        if (i > 0) progress.start(s.sampling.steps);
        const one = { ...request, numImages: 1, seed };
        parts.push(
          flags.mask
            ? await pipe.inpaint({ ...one, image: flags.initImage, mask: flags.mask, strength: flags.strength })
            : await pipe.img2img({ ...one, image: flags.initImage, strength: flags.strength }),
        );
      }
      result = {
        ...parts[0],
        images: parts.flatMap((p) => p.images),
        latents: concatFloat32(parts.map((p) => p.latents)),
        released: [...new Set(parts.flatMap((p) => p.released))],
      };
    } else if (controlnet)
      result = await pipe.txt2img({
        ...request,
        seed: seeds,
        controlnet: { model: controlnet, image: flags.controlImage!, conditioningScale: flags.controlnetScale },
      });
    else result = await pipe.txt2img({ ...request, seed: seeds });
  } finally {
    progress.stop();
    stages.end();
  }
  return { result, seeds, stepTimings: progress.timings() };
}

function runParameters(
  s: GenerateSettings,
  result: GenerationResult,
  model: RunIdentity['model'],
  loras: NamedLora[],
  pipe: StableDiffusionPipeline,
): Record<string, unknown> {
  const { flags, sampling } = s;
  const first = result.images[0];
  return {
    prompt: s.prompt,
    negativePrompt: flags.negative ?? '',
    preset: sampling.preset ?? null,
    scheduler: sampling.scheduler,
    schedulerConfig: s.schedulerConfig,
    steps: sampling.steps,
    timesteps: [...result.timesteps],
    guidanceScale: sampling.guidanceScale,
    guidanceRescale: flags.guidanceRescale ?? null,
    eta: sampling.eta ?? null,
    seed: seedToJson(s.seed),
    randomSeed: s.randomSeed,
    width: first.width,
    height: first.height,
    batch: flags.batch,
    mode: flags.mask ? 'inpaint' : flags.initImage ? 'img2img' : 'txt2img',
    strength: flags.initImage ? (first.parameters.strength ?? null) : null,
    initImage: flags.initImage ?? null,
    mask: flags.mask ?? null,
    controlnet: flags.controlnet ? { path: flags.controlnet, image: flags.controlImage, scale: flags.controlnetScale ?? 1 } : null,
    longPrompts: flags.longPrompts,
    promptWeighting: flags.promptWeighting,
    model: { path: model.path, name: model.name, sha256: model.hash ?? null, family: pipe.family },
    loras: loras.map((l) => ({ name: l.name, path: l.path, weight: l.weight, sha256: l.hash ?? null })),
  };
}

function imageOutputs(
  s: GenerateSettings,
  result: GenerationResult,
  seeds: readonly bigint[],
  parameters: Record<string, unknown>,
  model: RunIdentity['model'],
  loras: NamedLora[],
  version: string,
  paths: string[],
): ImageOutput[] {
  return result.images.map((image, index) => {
    const metadata: ImageMetadata = {
      prompt: s.prompt,
      negativePrompt: s.flags.negative,
      steps: s.sampling.steps,
      scheduler: s.sampling.scheduler,
      guidanceScale: s.sampling.guidanceScale,
      seed: seeds[index],
      width: image.width,
      height: image.height,
      model: { name: model.name, hash: model.hash },
      loras,
      eta: s.sampling.eta,
      guidanceRescale: s.flags.guidanceRescale,
      strength: typeof parameters.strength === 'number' ? parameters.strength : undefined,
      batchSize: result.images.length,
      batchIndex: index,
      extra: { ...schedulerFields(s), ...controlNetFields(s.flags) },
      version,
    };
    const text = formatA1111Parameters(metadata);
    const sidecar = s.flags.jsonSidecar
      ? { image: basename(paths[index]), index, parameters: text, ...parameters, seed: seedToJson(seeds[index]), version }
      : undefined;
    return { image, path: paths[index], parameters: text, sidecar };
  });
}

/** The scheduler_config fields set on the command line, as one JSON value (A1111 quotes it), so the image can be remade. */
function schedulerFields(s: GenerateSettings): Record<string, string> | undefined {
  return Object.keys(s.schedulerConfig).length ? { 'Scheduler config': JSON.stringify(s.schedulerConfig) } : undefined;
}

/** As sd-webui-controlnet records a unit (no preprocessor here: the control image is used as given). */
function controlNetFields(flags: GenerateFlags): Record<string, string> | undefined {
  if (!flags.controlnet) return undefined;
  return { 'ControlNet 0': `Module: none, Model: ${basename(resolve(flags.controlnet))}, Weight: ${flags.controlnetScale ?? 1}` };
}
