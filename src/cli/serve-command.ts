// `tdd serve`: the web page and HTTP API over the pipeline (src/server), on 127.0.0.1:7860 by default.
// Runs until SIGINT/SIGTERM, then shuts down gracefully (running jobs get a grace period).
import type { Command } from 'commander';
import { startServer, type ServeOptions } from '../server/index.js';
import { ServeError } from '../server/errors.js';
import { UsageError, parseInteger } from './errors.js';
import { addDeviceOptions, runtimeFrom, type DeviceFlags } from './device-options.js';

interface ServeFlags extends DeviceFlags {
  host: string;
  port: number;
  models: string[];
  maxQueue: number;
  jobTimeout: number;
  memoryBudget?: number;
  previews: boolean;
  out?: string;
  grace: number;
  allowedHost: string[];
}

const integer = (flag: string) => (v: string) => parseInteger(flag, v);
const collect = (value: string, previous: string[]) => [...previous, value];

export function registerServeCommand(program: Command): void {
  const command = program
    .command('serve')
    .description('web UI and JSON API (generate, progress with previews over Server-Sent Events, gallery)')
    .option('--host <host>', 'interface to listen on (other than loopback exposes the server to the network)', '127.0.0.1')
    .option(
      '--allowed-host <name>',
      "another Host name the server answers to, e.g. a DNS name or proxy (repeatable; the bound address, this machine's names and localhost are always allowed)",
      collect,
      [],
    )
    .option('--port <port>', 'port (0 = any free port)', integer('--port'), 7860)
    .option('--models <dir>', 'folder with diffusers models, .safetensors checkpoints and LoRAs (repeatable)', collect, [])
    .option('--max-queue <n>', 'jobs that may wait; more are refused with 429', integer('--max-queue'), 16)
    .option('--job-timeout <seconds>', 'stop a job that runs longer than this', integer('--job-timeout'), 600)
    .option(
      '--memory-budget <MiB>',
      'loaded models are released (least recently used first) past this estimate (default: half the RAM)',
      integer('--memory-budget'),
    )
    .option('--no-previews', 'no step previews (saves the preview decoding time)')
    .option('--out <dir>', 'also write every generated PNG to this folder')
    .option('--grace <seconds>', 'on shutdown, how long running jobs may take to finish', integer('--grace'), 10);
  addDeviceOptions(command).action(async (flags: ServeFlags) => {
    if (flags.port < 0 || flags.port > 65535) throw new UsageError(`--port must be in [0, 65535] (got ${flags.port})`);
    if (flags.maxQueue < 0) throw new UsageError(`--max-queue must be ≥ 0 (got ${flags.maxQueue})`);
    if (flags.jobTimeout < 1) throw new UsageError(`--job-timeout must be ≥ 1 (got ${flags.jobTimeout})`);
    const options: ServeOptions = {
      host: flags.host,
      port: flags.port,
      modelDirs: flags.models,
      maxQueued: flags.maxQueue,
      jobTimeoutMs: flags.jobTimeout * 1000,
      memoryBudgetBytes: flags.memoryBudget === undefined ? undefined : flags.memoryBudget * 2 ** 20,
      previews: flags.previews ? {} : false,
      outDir: flags.out,
      shutdownGraceMs: flags.grace * 1000,
      allowedHosts: flags.allowedHost,
      runtime: await runtimeFrom(flags),
    };
    await serveUntilSignal(options);
  });
}

async function serveUntilSignal(options: ServeOptions): Promise<void> {
  let server;
  try {
    server = await startServer(options);
  } catch (e) {
    if (e instanceof ServeError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
  const { registry } = server;
  for (const s of registry.skipped) process.stderr.write(`skipped ${s.path}: ${s.reason}\n`);
  if (registry.models.length === 0) {
    await server.close(0);
    throw new UsageError('no models found: pass --models <folder> holding a diffusers model folder or a .safetensors checkpoint');
  }
  process.stderr.write(
    `${registry.models.length} model(s), ${registry.loras.length} LoRA(s): ${registry.models.map((m) => m.name).join(', ')}\n`,
  );
  if (options.runtime)
    process.stderr.write(`device: ${options.runtime.device ?? 'cpu'}, ${options.runtime.threads} thread(s) per model session\n`);
  if (!['127.0.0.1', 'localhost', '::1'].includes(server.host))
    process.stderr.write(`warning: listening on ${server.host}: anyone who can reach this machine can use the server\n`);
  process.stderr.write(`allowed hosts: ${server.allowedHosts.join(', ')} (add more with --allowed-host)\n`);
  process.stdout.write(`tdd serve: ${server.url}/\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.stderr.write(`${signal}: finishing running jobs, then stopping\n`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
