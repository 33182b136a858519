/**
 * IR graph → ONNX model → ONNX Runtime session: the one path every compiled graph takes (training steps,
 * teacher and eval models, pipeline components), so its options and failure modes are the same everywhere.
 *
 * Weights are baked from memory (`weights`) or streamed (`streamWeights`): a streamed parameter's data is read
 * only while the model is written, one tensor at a time. Streamed models past `inMemoryLimitBytes` are written as
 * ONNX external data into a staging folder that ORT loads from, so a model over protobuf's 2 GB limit (an fp32
 * SD1.5 UNet is 3.4 GB) is never whole in this process's memory; smaller ones are encoded in memory.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph, Value } from '../ir/index.js';
import { emitModel } from '../onnx/emit.js';
import { encodeModel } from '../onnx/encode.js';
import { toHalfPrecision } from '../onnx/half-precision.js';
import type { OnnxModel, OnnxTensor, OnnxTensorData } from '../onnx/model.js';
import { saveModelStreamed } from '../onnx/save.js';
import { float32ToFloat16 } from '../util/half.js';
import { defaultCacheDir } from './session-cache.js';
import { createSession, type Session, type SessionOptions } from './session.js';

export type Precision = 'float32' | 'float16';

export interface CompileGraphOptions {
  /** Parameters baked from memory, by name (emitModel's `weights`). */
  readonly weights?: ReadonlyMap<string, OnnxTensorData>;
  /** Float32 data of every other parameter, asked for by name only for those the outputs reach. */
  readonly streamWeights?: (name: string) => Float32Array;
  /** Sees the streamed weights' float32 bytes before any is read, so a caller can refuse a model too big to load. */
  readonly checkWeightBytes?: (bytes: number) => void;
  /** Streamed weights of fewer bytes are encoded in memory, more are staged as external data (default 256 MiB). */
  readonly inMemoryLimitBytes?: number;
  /** Where external data is staged while ORT loads it (default `<cache>/staging`). */
  readonly stagingDir?: string;
  /** Prefix of the staging folder's name (the component's name), default 'model'. */
  readonly label?: string;
  /** 'float16' computes in half precision behind a float32 interface (for GPUs); default float32. */
  readonly precision?: Precision;
  readonly session?: SessionOptions;
}

export interface CompiledGraph {
  readonly session: Session;
  /** The ONNX output name of each requested output, in order. */
  readonly outputNames: string[];
}

const IN_MEMORY_LIMIT = 256 * 2 ** 20;

export async function compileGraph(graph: Graph, outputs: readonly Value[], o: CompileGraphOptions = {}): Promise<CompiledGraph> {
  const stream = o.streamWeights;
  const deferredWeights = stream ? new Set(graph.params.map((p) => p.name!).filter((n) => !o.weights?.has(n))) : undefined;
  const emitted = emitModel(graph, outputs, { weights: o.weights, deferredWeights });
  const { outputNames } = emitted;
  let { model, deferred } = emitted;
  const half = o.precision === 'float16';
  if (half) {
    const converted = toHalfPrecision(model);
    model = converted.model;
    // Deferred tensors were replaced by float16 ones: those are the ones to fill.
    deferred = new Map([...deferred].map(([key, t]) => [key, converted.replaced.get(t) ?? t]));
  }
  const data = (key: string): OnnxTensorData => (half ? float32ToFloat16(stream!(key)) : stream!(key));
  const bytes = [...deferred.values()].reduce((s, t) => s + t.dims.reduce((n, d) => n * d, 1) * 4, 0);
  o.checkWeightBytes?.(bytes);
  if (bytes < (o.inMemoryLimitBytes ?? IN_MEMORY_LIMIT)) {
    for (const [key, tensor] of deferred) tensor.data = data(key);
    return { session: await createSession(encodeModel(model), o.session), outputNames };
  }
  return { session: await createStaged(model, deferred, data, o), outputNames };
}

/** Streams the deferred weights into an external-data file and lets ORT load the model from its path. */
async function createStaged(
  model: OnnxModel,
  deferred: ReadonlyMap<string, OnnxTensor>,
  data: (key: string) => OnnxTensorData,
  o: CompileGraphOptions,
): Promise<Session> {
  const staging = o.stagingDir ?? join(defaultCacheDir(), 'staging');
  mkdirSync(staging, { recursive: true });
  const dir = mkdtempSync(join(staging, `${o.label ?? 'model'}-`));
  try {
    const file = join(dir, 'model.onnx');
    saveModelStreamed(model, deferred, file, data);
    return await createSession(file, o.session);
  } finally {
    // ORT has read (or mapped) the data; on Linux and macOS a mapped file outlives its name.
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Windows keeps a mapped file: it stays in the staging folder until the next cleanup
    }
  }
}
