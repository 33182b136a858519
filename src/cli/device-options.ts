// `--device` and `--threads`, shared by every command that runs a model: their declaration, parsing (a bad
// value is a one-line usage error naming the flag) and the device check that runs before any heavy work.
import { Option, type Command } from 'commander';
import { checkDevice, DEVICES, type ExecutionProvider, type RuntimeOptions } from '../runtime/device.js';
import { DeviceUnavailableError } from '../runtime/errors.js';
import { defaultIntraOpThreads } from '../runtime/session.js';
import { UsageError } from './errors.js';

/** The two flags as commander hands them over. */
export interface DeviceFlags {
  device: ExecutionProvider;
  threads?: number;
}

/** `--threads N`: a positive integer. */
export function parseThreads(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1) throw new UsageError(`--threads must be a positive integer (got "${value}")`);
  return n;
}

export function addDeviceOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--device <name>',
        "where models run: cpu, webgpu (a GPU through WebGPU) or cuda (NVIDIA; needs onnxruntime-node's CUDA files)",
      )
        .choices([...DEVICES])
        .default('cpu'),
    )
    .option(
      '--threads <n>',
      `CPU threads of each model session (default: all ${defaultIntraOpThreads()} cores this process may use)`,
      parseThreads,
    );
}

/**
 * The flags as RuntimeOptions, threads resolved (so reports can show them), after checking that the device
 * can start a session here: an unavailable one is a usage error naming --device and what it needs.
 */
export async function runtimeFrom(flags: DeviceFlags): Promise<Required<RuntimeOptions>> {
  const device = flags.device ?? 'cpu';
  try {
    await checkDevice(device);
  } catch (e) {
    if (e instanceof DeviceUnavailableError) throw new UsageError(`--device ${device}: ${e.reason}`, { cause: e });
    throw e;
  }
  return { device, threads: flags.threads ?? defaultIntraOpThreads() };
}
