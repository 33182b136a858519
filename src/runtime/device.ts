/**
 * Where models run: the execution provider ("device") and the CPU threads of each session, as one option set
 * shared by the CLI commands and the library entry points; plus the checks that say, in one line, why a
 * device cannot be used here and how to get it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../onnx/encode.js';
import { OnnxDataType } from '../onnx/model.js';
import { DeviceUnavailableError } from './errors.js';

export const DEVICES = ['cpu', 'webgpu', 'cuda'] as const;
export type ExecutionProvider = (typeof DEVICES)[number];

/** Device and threads for every session a run creates; unset values take the session defaults. */
export interface RuntimeOptions {
  /** Default 'cpu'. */
  device?: ExecutionProvider;
  /** Intra-op threads per session; default: every core this process may use (defaultIntraOpThreads()). */
  threads?: number;
}

/** RuntimeOptions in the names SessionOptions and CompiledModelOptions use. */
export function sessionOptionsFor(runtime: RuntimeOptions = {}): { executionProvider?: ExecutionProvider; intraOpThreads?: number } {
  return {
    ...(runtime.device === undefined ? {} : { executionProvider: runtime.device }),
    ...(runtime.threads === undefined ? {} : { intraOpThreads: runtime.threads }),
  };
}

export function isDevice(name: string): name is ExecutionProvider {
  return (DEVICES as readonly string[]).includes(name);
}

const platform = () => `${process.platform}/${process.arch}`;
const WEBGPU_PLATFORMS = ['win32/x64', 'win32/arm64', 'linux/x64', 'darwin/x64', 'darwin/arm64'];
const CUDA_INSTALL = 'reinstall with `npm ci --onnxruntime-node-install=cuda12` (Linux x64, with CUDA 12 and cuDNN 9 installed)';

/** The folder of onnxruntime-node's native binding, where its optional provider libraries are installed. */
function bindingDir(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/**
 * Why `device` cannot work in this installation, from what can be seen without a session (platform, the
 * binary's provider list, provider files); undefined when it may work (the GPU itself is checked by a session).
 */
export function deviceProblem(device: ExecutionProvider): string | undefined {
  if (device === 'cpu') return undefined;
  const listed = ort.listSupportedBackends().find((b) => b.name === device);
  if (device === 'cuda') {
    if (platform() !== 'linux/x64') return `onnxruntime-node has CUDA support on Linux x64 only (this is ${platform()}); use webgpu or cpu`;
    const dir = bindingDir();
    if (!listed || (dir !== undefined && !existsSync(join(dir, 'libonnxruntime_providers_cuda.so')))) {
      return `onnxruntime-node's CUDA execution provider files are not installed${dir ? ` (no libonnxruntime_providers_cuda.so in ${dir})` : ''}: ${CUDA_INSTALL}`;
    }
    return undefined;
  }
  if (!listed) {
    return `this onnxruntime-node binary has no WebGPU support (the bundled binaries have it on ${WEBGPU_PLATFORMS.join(', ')}; this is ${platform()})`;
  }
  return undefined;
}

/** The useful line of an ORT error: no source path, no assertion text, no trailing newline. */
export function ortReason(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).trim();
  const line = message.split('\n').find((l) => l.trim() !== '') ?? message;
  return line
    .replace(/^.*? was false\.\s*/, '')
    .replace(/^\S+\.(cc|cpp|h):\d+\s+/, '')
    .trim();
}

/** One line on what a device that is listed but failed to start needs. */
function startFailure(device: ExecutionProvider, err: unknown): string {
  const reason = ortReason(err);
  if (device === 'webgpu')
    return `no usable GPU adapter (ORT: ${reason}): WebGPU needs a GPU with a working driver (Vulkan on Linux, Metal on macOS, D3D12 on Windows)`;
  return `the CUDA execution provider did not start (ORT: ${reason}): it needs an NVIDIA GPU with its driver, CUDA 12 and cuDNN 9; ${CUDA_INSTALL}`;
}

/** y = Identity(x): the smallest model a provider must be able to take. */
let probeModel: Uint8Array | undefined;
function probeBytes(): Uint8Array {
  probeModel ??= encodeModel({
    graph: {
      name: 'device-probe',
      nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['y'] }],
      inputs: [{ name: 'x', dataType: OnnxDataType.FLOAT, shape: [1] }],
      outputs: [{ name: 'y', dataType: OnnxDataType.FLOAT, shape: [1] }],
      initializers: [],
    },
  });
  return probeModel;
}

const checked = new Map<ExecutionProvider, Promise<void>>();

/**
 * Resolves when `device` can create a session here, else rejects with a one-line DeviceUnavailableError.
 * The result is kept for the process: a device that works once is not probed again.
 */
export function checkDevice(device: ExecutionProvider): Promise<void> {
  let check = checked.get(device);
  if (!check) {
    check = probe(device);
    checked.set(device, check);
  }
  return check;
}

async function probe(device: ExecutionProvider): Promise<void> {
  if (!isDevice(device)) throw new DeviceUnavailableError(String(device), `unknown device; choose one of ${DEVICES.join(', ')}`);
  const problem = deviceProblem(device);
  if (problem) throw new DeviceUnavailableError(device, problem);
  if (device === 'cpu') return;
  const failure = await probeSession(device);
  if (failure !== undefined) throw new DeviceUnavailableError(device, startFailure(device, failure));
}

/**
 * Creates the probe session in a child process: a provider that fails to start may print native warnings
 * (Dawn's "Couldn't load Vulkan", ORT's provider-bridge errors) straight to stderr, and they must not bury the
 * one-line error. Resolves to undefined when the session was created, else to ORT's message.
 */
async function probeSession(device: ExecutionProvider): Promise<string | undefined> {
  const ortEntry = createRequire(import.meta.url).resolve('onnxruntime-node');
  const script = [
    'const ort = require(process.argv[1]);',
    'const done = (r) => process.stdout.write(JSON.stringify(r));',
    "ort.InferenceSession.create(Buffer.from(process.argv[2], 'base64'), { executionProviders: [process.argv[3]], logSeverityLevel: 4 })",
    '  .then((s) => s.release()).then(() => done({ ok: true }), (e) => done({ ok: false, message: String((e && e.message) || e) }));',
  ].join('\n');
  const args = ['-e', script, ortEntry, Buffer.from(probeBytes()).toString('base64'), device];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { encoding: 'utf8', timeout: 120_000, windowsHide: true }, (err, stdout) => {
      try {
        const r = JSON.parse(stdout) as { ok: boolean; message?: string };
        resolve(r.ok ? undefined : (r.message ?? 'unknown error'));
      } catch {
        const how = err && 'signal' in err && err.signal ? `killed by ${err.signal}` : `exit code ${err && 'code' in err ? err.code : '?'}`;
        resolve(`the probe session crashed (${how})`);
      }
    });
  });
}
