// `tdd distill`: trains a TDD (or LCM baseline) LoRA for a teacher model on an image+caption dataset.
// Progress and Ctrl+C handling: training-progress.ts; `--resume` continues.
import type { Command } from 'commander';
import {
  adversarialDefaults,
  DEFAULT_PCM_PHASES,
  distillDefaults,
  dmdDefaults,
  type AdversarialConfig,
  type DistillConfigInput,
  type DmdConfig,
} from '../distill/config.js';
import { distill, type DistillEvents } from '../distill/trainer.js';
import { distillMethods } from '../distill/method-table.js';
import { distillMethodNames, isDistillMethodName } from '../distill/method.js';
import { TrainingProgress, withGracefulInterrupt } from './training-progress.js';
import { UsageError } from './errors.js';
import { addDeviceOptions, runtimeFrom, type DeviceFlags } from './device-options.js';

interface DistillFlags extends DeviceFlags {
  teacher: string;
  data: string;
  out: string;
  method: string;
  steps: string;
  batch: string;
  gradAccumulation: string;
  lr: string;
  warmupSteps: string;
  weightDecay: string;
  maxGradNorm: string;
  rank: string;
  alpha: string;
  loss: string;
  huberC: string;
  wMin: string;
  wMax: string;
  numDdimTimesteps: string;
  kMin: string;
  kMax: string;
  sRatio: string;
  pcmPhases?: string;
  adversarial?: boolean;
  advWeight?: string;
  advLr?: string;
  advSchedule?: string;
  realGuidance?: string;
  generatorTimestep?: string;
  generatorSteps?: string;
  updateRatio?: string;
  fakeLr?: string;
  fakeRank?: string;
  dmWeight?: string;
  ganGenWeight?: string;
  ganDiscWeight?: string;
  proportionEmptyPrompts: string;
  emaDecay?: string;
  resolution?: string;
  seed: string;
  checkpointEvery: string;
  keepCheckpoints: string;
  validateEvery: string;
  validationPrompt?: string[];
  validationSteps?: string;
  latentCache?: string;
  resume?: boolean;
  gradientCheckpointing?: boolean;
  quiet?: boolean;
}

const d = distillDefaults;

export function registerDistillCommand(program: Command): void {
  const command = program
    .command('distill')
    .description('distill a few-step LoRA from a teacher model (TDD, LCM, PCM, simpleCTM, DMD2) on images with captions')
    .requiredOption('--teacher <path>', 'teacher model: a diffusers folder or a single-file .safetensors checkpoint')
    .requiredOption(
      '--data <path>',
      'training data: a folder of images with metadata.jsonl or .txt captions, webdataset .tar shard(s), or emoji[:train|heldout|all] (the bundled emoji set)',
    )
    .requiredOption('--out <dir>', 'output folder (LoRA files, log.jsonl, loss.png, validation/, checkpoints/)')
    .option('--method <name>', distillMethodNames.map((n) => `${n}: ${distillMethods[n].summary}`).join('; '), d.method)
    .option('--steps <n>', 'optimizer steps', String(d.steps))
    .option('--batch <n>', 'images per micro-batch', String(d.batch))
    .option('--grad-accumulation <n>', 'micro-batches per optimizer step', String(d.gradAccumulation))
    .option('--lr <x>', 'AdamW learning rate', String(d.lr))
    .option('--warmup-steps <n>', 'linear learning-rate warm-up steps', String(d.warmupSteps))
    .option('--weight-decay <x>', 'AdamW weight decay', String(d.weightDecay))
    .option('--max-grad-norm <x>', 'gradient clipping (global L2 norm)', String(d.maxGradNorm))
    .option('--rank <n>', 'LoRA rank', String(d.rank))
    .option('--alpha <x>', 'LoRA alpha (update scaled by alpha/rank)', String(d.alpha))
    .option('--loss <type>', 'l2 or huber', d.loss)
    .option('--huber-c <x>', 'pseudo-Huber c', String(d.huberC))
    .option('--w-min <x>', 'teacher guidance w, lower end (LCM formulation: pred = cond + w·(cond − uncond))', String(d.wMin))
    .option('--w-max <x>', 'teacher guidance w, upper end', String(d.wMax))
    .option('--num-ddim-timesteps <n>', 'DDIM solver grid size', String(d.numDdimTimesteps))
    .option('--k-min <n>', 'TDD: fewest inference steps of the merged target schedules', String(d.kMin))
    .option('--k-max <n>', 'TDD: most inference steps of the merged target schedules', String(d.kMax))
    .option('--s-ratio <x>', 'TDD: γ offset ratio of the target timestep', String(d.sRatio))
    .option(
      '--pcm-phases <n>',
      `PCM: sub-trajectories the trajectory is split into (1, 2, 4, 8, 16: the steps its LoRA samples with; default ${DEFAULT_PCM_PHASES})`,
    )
    .option('--adversarial', "PCM: add the reference's adversarial loss (a discriminator on the teacher's features, its own optimizer)")
    .option('--adv-weight <x>', `PCM --adversarial: weight of the generator's hinge loss (default ${adversarialDefaults.weight})`)
    .option('--adv-lr <x>', `PCM --adversarial: the discriminator's learning rate (default ${adversarialDefaults.lr})`)
    .option(
      '--adv-schedule <name>',
      `PCM --adversarial: alternate (discriminator and student on alternate steps, as the reference) or joint (default ${adversarialDefaults.schedule})`,
    )
    .option('--real-guidance <x>', `DMD2: the real score's CFG scale (default ${dmdDefaults.realGuidance})`)
    .option(
      '--generator-timestep <t>',
      `DMD2: the one-step generator's conditioning timestep (default ${dmdDefaults.generatorTimestep}, as the dmd2 preset samples)`,
    )
    .option(
      '--generator-steps <n>',
      `DMD2: the generator's steps; more than 1 trains with backward simulation (4: 999/749/499/249, as the dmd2 preset samples) (default ${dmdDefaults.generatorSteps})`,
    )
    .option('--update-ratio <n>', `DMD2: fake-score updates per generator update (default ${dmdDefaults.updateRatio})`)
    .option('--fake-lr <x>', 'DMD2: learning rate of the fake score and its classifier (default: --lr)')
    .option('--fake-rank <n>', "DMD2: the fake score's LoRA rank (default: --rank)")
    .option('--dm-weight <x>', `DMD2: weight of the distribution-matching loss (default ${dmdDefaults.dmWeight})`)
    .option('--gan-gen-weight <x>', `DMD2: weight of the generator's GAN term (default ${dmdDefaults.genWeight}; 0 turns the GAN off)`)
    .option(
      '--gan-disc-weight <x>',
      `DMD2: weight of the classifier's GAN term in the fake score's loss (default ${dmdDefaults.discWeight})`,
    )
    .option('--proportion-empty-prompts <x>', 'share of captions replaced by "" (decoupled guidance)', String(d.proportionEmptyPrompts))
    .option('--ema-decay <x>', 'take the target from an EMA of the LoRA with this decay (default: the live student, as the reference)')
    .option('--resolution <px>', "training image size (default: the model's native size)")
    .option('--seed <n>', 'seed of every random draw (data order, noise, timesteps)', String(d.seed))
    .option('--checkpoint-every <n>', 'write a checkpoint every n optimizer steps', String(d.checkpointEvery))
    .option('--keep-checkpoints <n>', 'checkpoints kept on disk', String(d.keepCheckpoints))
    .option('--validate-every <n>', 'validation grid every n steps (0: at the end only)', String(d.validateEvery))
    .option('--validation-prompt <text...>', 'validation prompts (default: four generic prompts)')
    .option(
      '--validation-steps <list>',
      `sampling steps in validation grids, comma-separated (default ${d.validationSteps.join(',')}; dmd2: 1)`,
    )
    .option('--latent-cache <dir>', 'VAE latent cache folder (default <out>/latent-cache; share it between runs)')
    .option('--gradient-checkpointing', 'recompute UNet blocks in the backward pass (less memory, slower)')
    .option('--resume', 'continue from the latest checkpoint in <out>/checkpoints')
    .option('--quiet', 'no progress output');
  addDeviceOptions(command).action(async (flags: DistillFlags) => {
    const progress = new TrainingProgress(!flags.quiet, Boolean(process.stderr.isTTY));
    const events: DistillEvents = {
      onPhase: (phase, done, total) => progress.phase(phase, done, total),
      onMessage: (m) => progress.message(m),
      onStep: (e, total) => progress.step('distilling', e, total),
    };
    try {
      const config = { ...configFrom(flags), runtime: await runtimeFrom(flags) };
      const result = await withGracefulInterrupt((signal) => distill(config, events, signal));
      progress.stop();
      const where = result.lora
        ? `LoRA: ${result.lora.kohya} (kohya), ${result.lora.peft} (peft/diffusers)`
        : `stopped at step ${result.optimizerSteps}; continue with --resume`;
      process.stdout.write(`${where}\n`);
    } finally {
      progress.stop();
    }
  });
}

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag}: expected a number, got ${JSON.stringify(value)}`);
  return n;
}

/** --adversarial and its settings; a setting without the switch is a mistake worth naming. */
function adversarialFrom(f: DistillFlags): AdversarialConfig | undefined {
  const given = (['advWeight', 'advLr', 'advSchedule'] as const).filter((k) => f[k] !== undefined);
  if (!f.adversarial) {
    if (given.length > 0) throw new UsageError(`--${given[0].replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}: needs --adversarial`);
    return undefined;
  }
  return {
    weight: number('adv-weight', f.advWeight) ?? adversarialDefaults.weight,
    lr: number('adv-lr', f.advLr) ?? adversarialDefaults.lr,
    schedule: (f.advSchedule ?? adversarialDefaults.schedule) as AdversarialConfig['schedule'],
  };
}

/** DMD2's flags: the parsed flag, its option name, the DmdConfig field it sets. */
const DMD_FLAGS = [
  ['realGuidance', 'real-guidance', 'realGuidance'],
  ['generatorTimestep', 'generator-timestep', 'generatorTimestep'],
  ['generatorSteps', 'generator-steps', 'generatorSteps'],
  ['updateRatio', 'update-ratio', 'updateRatio'],
  ['fakeLr', 'fake-lr', 'fakeLr'],
  ['fakeRank', 'fake-rank', 'fakeRank'],
  ['dmWeight', 'dm-weight', 'dmWeight'],
  ['ganGenWeight', 'gan-gen-weight', 'genWeight'],
  ['ganDiscWeight', 'gan-disc-weight', 'discWeight'],
] as const satisfies readonly (readonly [keyof DistillFlags, string, keyof DmdConfig])[];

/** DMD2's settings: only with --method dmd2 (a flag for another method is named). */
function dmdFrom(f: DistillFlags): Partial<DmdConfig> | undefined {
  const given = DMD_FLAGS.filter(([key]) => f[key] !== undefined);
  if (f.method !== 'dmd2') {
    if (given.length > 0) throw new UsageError(`--${given[0][1]}: only --method dmd2 takes it (method ${f.method})`);
    return undefined;
  }
  return Object.fromEntries(DMD_FLAGS.map(([key, option, field]) => [field, number(option, f[key])]));
}

function configFrom(f: DistillFlags): DistillConfigInput {
  if (!isDistillMethodName(f.method))
    throw new UsageError(`--method: must be one of ${distillMethodNames.join(', ')}, got ${JSON.stringify(f.method)}`);
  if (f.loss !== 'l2' && f.loss !== 'huber') throw new UsageError(`--loss: must be l2 or huber, got ${JSON.stringify(f.loss)}`);
  return {
    teacher: f.teacher,
    data: f.data,
    out: f.out,
    method: f.method,
    loss: f.loss,
    steps: number('steps', f.steps),
    batch: number('batch', f.batch),
    gradAccumulation: number('grad-accumulation', f.gradAccumulation),
    lr: number('lr', f.lr),
    warmupSteps: number('warmup-steps', f.warmupSteps),
    weightDecay: number('weight-decay', f.weightDecay),
    maxGradNorm: number('max-grad-norm', f.maxGradNorm),
    rank: number('rank', f.rank),
    alpha: number('alpha', f.alpha),
    huberC: number('huber-c', f.huberC),
    wMin: number('w-min', f.wMin),
    wMax: number('w-max', f.wMax),
    numDdimTimesteps: number('num-ddim-timesteps', f.numDdimTimesteps),
    kMin: number('k-min', f.kMin),
    kMax: number('k-max', f.kMax),
    sRatio: number('s-ratio', f.sRatio),
    pcmPhases: number('pcm-phases', f.pcmPhases),
    adversarial: adversarialFrom(f),
    dmd: dmdFrom(f),
    proportionEmptyPrompts: number('proportion-empty-prompts', f.proportionEmptyPrompts),
    emaDecay: number('ema-decay', f.emaDecay),
    resolution: number('resolution', f.resolution),
    seed: number('seed', f.seed),
    checkpointEvery: number('checkpoint-every', f.checkpointEvery),
    keepCheckpoints: number('keep-checkpoints', f.keepCheckpoints),
    validateEvery: number('validate-every', f.validateEvery),
    validationPrompts: f.validationPrompt,
    validationSteps: f.validationSteps?.split(',').map((s) => number('validation-steps', s)!),
    latentCache: f.latentCache,
    resume: Boolean(f.resume),
    gradientCheckpointing: Boolean(f.gradientCheckpointing),
  };
}
