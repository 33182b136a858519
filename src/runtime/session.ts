/**
 * Thin wrapper over ort.InferenceSession: explicit execution-provider choice
 * (no silent CPU fallback; a device that cannot start is a one-line
 * DeviceUnavailableError), threads defaulting to every core the process may
 * use, and feed validation that names the offending input before ORT sees it.
 */
import { UserError } from '../util/user-error.js';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { checkDevice, deviceProblem, type ExecutionProvider } from './device.js';
import { DeviceUnavailableError, SessionError } from './errors.js';
import { fromOrtTensor, isHostDType, toOrtTensor, type HostDType, type HostTensor } from './tensors.js';

export { DeviceUnavailableError, SessionError, type ExecutionProvider };
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** Intra-op threads when none are given: all the cores this process may use (os.availableParallelism()). */
export function defaultIntraOpThreads(): number {
  return os.availableParallelism();
}

export interface SessionOptions {
  executionProvider?: ExecutionProvider;
  /** A positive integer; default defaultIntraOpThreads(). */
  intraOpThreads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** Where ORT writes the model after its graph optimizations (used by the session cache). */
  optimizedModelFilePath?: string;
}

/** A model input/output as ORT reports it; string dims are symbolic (any size). */
export interface ValueSpec {
  name: string;
  /** Undefined when the value is not a tensor or its element type is unsupported here. */
  dtype: HostDType | undefined;
  /** Empty when ORT does not know the shape. */
  shape: readonly (number | string)[];
}

export interface Session extends AsyncDisposable {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  readonly executionProvider: ExecutionProvider;
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  /** Idempotent. */
  release(): Promise<void>;
}

/** Names of EPs this onnxruntime-node build lists, e.g. cpu, webgpu, cuda. */
export function availableExecutionProviders(): { name: string; bundled: boolean }[] {
  return ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
}

/** Creates a session from model bytes or from a model file path. */
export async function createSession(model: Uint8Array | string, options: SessionOptions = {}): Promise<Session> {
  const ep = options.executionProvider ?? 'cpu';
  const threads = options.intraOpThreads ?? defaultIntraOpThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new UserError(`intraOpThreads must be a positive integer (got ${threads})`);
  if (ep !== 'cpu') {
    const problem = deviceProblem(ep);
    if (problem) throw new DeviceUnavailableError(ep, problem);
  }
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [ep],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    logSeverityLevel: 3, // errors only; ORT warnings about unused initializers etc. are noise here
    ...(options.optimizedModelFilePath ? { optimizedModelFilePath: options.optimizedModelFilePath } : {}),
  };
  let inner: ort.InferenceSession;
  try {
    inner =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, sessionOptions)
        : await ort.InferenceSession.create(model, sessionOptions);
  } catch (err) {
    // A device that cannot even take the smallest model is the problem, not this model: say what it needs.
    if (ep !== 'cpu') await checkDevice(ep);
    const reason = err instanceof Error ? err.message : String(err);
    const hint = ep === 'cpu' ? '' : ` (execution provider '${ep}' may be unusable on this machine; no CPU fallback is attempted)`;
    throw new SessionError(`failed to create ONNX Runtime session${hint}: ${reason}`, { cause: err });
  }
  return new OrtSession(inner, ep);
}

function toSpec(m: ort.InferenceSession.ValueMetadata): ValueSpec {
  if (!m.isTensor) return { name: m.name, dtype: undefined, shape: [] };
  return { name: m.name, dtype: isHostDType(m.type) ? m.type : undefined, shape: [...m.shape] };
}

class OrtSession implements Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  private inner: ort.InferenceSession | undefined;
  private releasing: Promise<void> | undefined;

  constructor(
    inner: ort.InferenceSession,
    readonly executionProvider: ExecutionProvider,
  ) {
    this.inner = inner;
    this.inputNames = [...inner.inputNames];
    this.outputNames = [...inner.outputNames];
    this.inputs = inner.inputMetadata.map(toSpec);
    this.outputs = inner.outputMetadata.map(toSpec);
  }

  async run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    const inner = this.inner;
    if (!inner) throw new SessionError('session has been released');
    const ortFeeds = validateFeeds(this.inputs, feeds);
    const results = await inner.run(ortFeeds);
    const out: Record<string, HostTensor> = {};
    for (const name of this.outputNames) {
      const value = results[name];
      if (!(value instanceof ort.Tensor)) throw new SessionError(`output '${name}' is not a tensor`);
      out[name] = fromOrtTensor(value, `output '${name}'`);
    }
    return out;
  }

  release(): Promise<void> {
    if (!this.releasing) {
      const inner = this.inner;
      this.inner = undefined;
      this.releasing = inner ? inner.release() : Promise.resolve();
    }
    return this.releasing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/**
 * Every model input fed, no unknown names, dtype and rank match, fixed dims
 * match, and a symbolic dim (e.g. 'batch') has one size across all inputs.
 */
export function validateFeeds(specs: readonly ValueSpec[], feeds: Record<string, HostTensor>): Record<string, ort.Tensor> {
  const known = new Set(specs.map((s) => s.name));
  const unknown = Object.keys(feeds).filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new SessionError(`unknown input ${unknown.map((n) => `'${n}'`).join(', ')}; model inputs: ${[...known].join(', ')}`);
  }
  const symbols = new Map<string, { size: number; input: string }>();
  const out: Record<string, ort.Tensor> = {};
  for (const spec of specs) {
    const t = feeds[spec.name];
    if (!t) throw new SessionError(`missing input '${spec.name}'`);
    const label = `input '${spec.name}'`;
    if (spec.dtype && t.dtype !== spec.dtype) {
      throw new SessionError(`${label}: expected dtype ${spec.dtype}, got ${t.dtype}`);
    }
    if (spec.shape.length > 0) {
      const want = `[${spec.shape.join(', ')}]`;
      if (t.dims.length !== spec.shape.length) {
        throw new SessionError(`${label}: expected rank ${spec.shape.length} ${want}, got dims [${t.dims.join(', ')}]`);
      }
      spec.shape.forEach((d, i) => {
        const got = t.dims[i];
        if (typeof d === 'number' && d >= 0 && got !== d) {
          throw new SessionError(`${label}: dim ${i} must be ${d} (shape ${want}), got ${got}`);
        }
        if (typeof d === 'string' && d !== '') {
          const seen = symbols.get(d);
          if (seen && seen.size !== got) {
            throw new SessionError(`${label}: dim ${i} ('${d}') is ${got} but input '${seen.input}' has '${d}' = ${seen.size}`);
          }
          if (!seen) symbols.set(d, { size: got, input: spec.name });
        }
      });
    }
    try {
      out[spec.name] = toOrtTensor(t, label);
    } catch (err) {
      throw new SessionError(err instanceof Error ? err.message : String(err), { cause: err });
    }
  }
  return out;
}
