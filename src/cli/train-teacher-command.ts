// `tdd train-teacher`: trains the embedded emoji model (autoencoder, then text encoder + UNet) from scratch on the
// bundled emoji images and writes it as a diffusers folder. Resumable stage by stage with --resume.
import type { Command } from 'commander';
import { teacherDefaults, type TeacherConfigInput } from '../teacher/config.js';
import { trainTeacher } from '../teacher/trainer.js';
import { parseInteger, parseNumber } from './errors.js';
import { TrainingProgress, withGracefulInterrupt } from './training-progress.js';
import { addDeviceOptions, runtimeFrom, type DeviceFlags } from './device-options.js';

interface TeacherFlags extends DeviceFlags {
  data: string;
  out: string;
  work?: string;
  resume?: boolean;
  seed?: number;
  latentFactor?: number;
  maxTokens?: number;
  vaeSteps?: number;
  vaeBatch?: number;
  vaeLr?: number;
  vaeKlWeight?: number;
  unetSteps?: number;
  unetBatch?: number;
  unetLr?: number;
  captionDropout?: number;
  emaDecay?: number;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  validateEvery?: number;
  exportDtype: string;
  quiet?: boolean;
}

const d = teacherDefaults;
const int = (flag: string) => (v: string) => parseInteger(flag, v);
const num = (flag: string) => (v: string) => parseNumber(flag, v);

export function registerTrainTeacherCommand(program: Command): void {
  const command = program
    .command('train-teacher')
    .description('train the small text-to-emoji model from scratch (autoencoder, text encoder and UNet) as a diffusers folder')
    .option('--data <name>', 'training data (the bundled emoji images)', d.data)
    .requiredOption('--out <dir>', 'model folder to write (diffusers layout)')
    .option('--work <dir>', 'checkpoints, logs and latent cache (default <out>-training)')
    .option('--resume', 'continue from the latest checkpoints in the work folder')
    .option('--seed <n>', 'seed of every random draw', int('--seed'))
    .option('--latent-factor <n>', `pixels per latent cell: 4 or 8 (default ${d.latentFactor})`, int('--latent-factor'))
    .option('--max-tokens <n>', `tokens per prompt incl. BOS/EOS (default ${d.maxTokens})`, int('--max-tokens'))
    .option('--vae-steps <n>', `autoencoder optimizer steps (default ${d.vae.steps})`, int('--vae-steps'))
    .option('--vae-batch <n>', `autoencoder images per step (default ${d.vae.batch})`, int('--vae-batch'))
    .option('--vae-lr <x>', `autoencoder learning rate (default ${d.vae.lr})`, num('--vae-lr'))
    .option('--vae-kl-weight <x>', `weight of the KL term (default ${d.vae.klWeight})`, num('--vae-kl-weight'))
    .option('--unet-steps <n>', `text encoder + UNet optimizer steps (default ${d.denoiser.steps})`, int('--unet-steps'))
    .option('--unet-batch <n>', `text encoder + UNet samples per step (default ${d.denoiser.batch})`, int('--unet-batch'))
    .option('--unet-lr <x>', `text encoder + UNet learning rate (default ${d.denoiser.lr})`, num('--unet-lr'))
    .option(
      '--caption-dropout <x>',
      `share of captions emptied for classifier-free guidance (default ${d.denoiser.captionDropout})`,
      num('--caption-dropout'),
    )
    .option('--ema-decay <x>', `EMA decay of the exported UNet/text encoder (default ${d.denoiser.emaDecay})`, num('--ema-decay'))
    .option('--checkpoint-every <n>', `checkpoint every n steps (default ${d.checkpointEvery})`, int('--checkpoint-every'))
    .option('--keep-checkpoints <n>', `checkpoints kept per stage (default ${d.keepCheckpoints})`, int('--keep-checkpoints'))
    .option(
      '--validate-every <n>',
      `validation grid of the UNet every n steps, a multiple of --checkpoint-every; 0: none (default ${d.validateEvery})`,
      int('--validate-every'),
    )
    .option('--export-dtype <type>', 'float16 or float32 weights in the model folder', d.exportDtype)
    .option('--quiet', 'no progress output');
  addDeviceOptions(command).action(async (f: TeacherFlags) => {
    const progress = new TrainingProgress(!f.quiet, Boolean(process.stderr.isTTY));
    const labels = { vae: 'autoencoder', denoiser: 'text encoder + UNet' } as const;
    try {
      const config = { ...configFrom(f), runtime: await runtimeFrom(f) };
      const result = await withGracefulInterrupt((signal) =>
        trainTeacher(
          config,
          {
            onPhase: (phase, done, total) => progress.phase(phase, done, total),
            onMessage: (m) => progress.message(m),
            onStep: (stage, e, total) => progress.step(labels[stage as keyof typeof labels], e, total),
          },
          signal,
        ),
      );
      progress.stop();
      process.stdout.write(
        result.model ? `model: ${result.model}\n` : `stopped during the ${labels[result.interruptedIn!]} stage; continue with --resume\n`,
      );
    } finally {
      progress.stop();
    }
  });
}

function configFrom(f: TeacherFlags): TeacherConfigInput {
  return {
    data: f.data as 'emoji',
    out: f.out,
    work: f.work,
    resume: Boolean(f.resume),
    seed: f.seed,
    latentFactor: f.latentFactor as 4 | 8 | undefined,
    maxTokens: f.maxTokens,
    vae: { steps: f.vaeSteps, batch: f.vaeBatch, lr: f.vaeLr, klWeight: f.vaeKlWeight },
    denoiser: { steps: f.unetSteps, batch: f.unetBatch, lr: f.unetLr, captionDropout: f.captionDropout, emaDecay: f.emaDecay },
    checkpointEvery: f.checkpointEvery,
    keepCheckpoints: f.keepCheckpoints,
    validateEvery: f.validateEvery,
    exportDtype: f.exportDtype as 'float16' | 'float32',
  };
}
