/**
 * One model component (UNet, VAE decoder, text encoder ...) compiled for ONNX Runtime on demand. Our graphs
 * have static shapes, so each input shape (batch, resolution) gets its own session, built once and kept.
 * Weights are read once from their source and baked into every session as initializers; changing them
 * (fusing a LoRA) drops the sessions so the next call rebuilds with the new values.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Graph, Value } from '../ir/index.js';
import { emitModel } from '../onnx/emit.js';
import { encodeModel } from '../onnx/encode.js';
import { saveModel } from '../onnx/save.js';
import { createGraph } from '../ops/index.js';
import { createSession, type ExecutionProvider, type Session } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensors.js';
import { loadParams } from '../weights/load-params.js';
import { sourceShapes, type TensorSource } from '../weights/tensor-source.js';

/** Builds the graph for one input signature: named graph inputs are created inside, outputs returned by name. */
export type GraphBuilder = (graph: Graph) => Record<string, Value>;

interface CompiledSession {
  session: Session;
  /** Builder output name → ONNX output name. */
  outputs: Map<string, string>;
}

export interface CompiledModelOptions {
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
}

/** Models whose weights exceed this are written to a temp file with external data (protobuf's 2 GB cap). */
const IN_MEMORY_LIMIT = 1.5e9;

export class CompiledModel {
  private weights: Map<string, Float32Array> | null = null;
  private readonly sessions = new Map<string, Promise<CompiledSession>>();
  /** Keys of the source the graph did not use (reported once by the pipeline). */
  unusedKeys: string[] = [];

  constructor(
    readonly name: string,
    private readonly source: TensorSource,
    private readonly options: CompiledModelOptions = {},
  ) {}

  /** The base weights (read from the source on first use). */
  baseWeights(params: readonly Value[]): Map<string, Float32Array> {
    if (!this.weights) {
      const loaded = loadParams(this.source, params, this.name);
      this.weights = loaded.weights;
      this.unusedKeys = loaded.unused;
    } else {
      // Another graph of the same component (the VAE's encoder after its decoder) needs keys not read yet.
      const absent = params.filter((p) => !this.weights!.has(p.name!));
      if (absent.length > 0) {
        for (const [key, value] of loadParams(this.source, absent, this.name).weights) this.weights.set(key, value);
        this.unusedKeys = this.unusedKeys.filter((k) => !this.weights!.has(k));
      }
    }
    return this.weights;
  }

  /** Parameter shapes by key, from the source's headers (what LoRA matching needs, before any graph exists). */
  paramShapes(): Map<string, readonly number[]> {
    return sourceShapes(this.source);
  }

  /** Current weights, e.g. for LoRA fusion; mutate them only through `replaceWeights`. */
  currentWeights(): Map<string, Float32Array> {
    if (!this.weights) {
      this.weights = new Map(this.source.keys().map((k) => [k, this.source.float32(k)]));
    }
    return this.weights;
  }

  /** New weight arrays (LoRA fused or unfused): sessions built with the old ones are dropped. */
  async replaceWeights(update: (weights: Map<string, Float32Array>) => void): Promise<void> {
    update(this.currentWeights());
    await this.releaseSessions();
  }

  /** Runs the graph built by `build` for `signature` (a string naming the input shapes). */
  async run(signature: string, build: GraphBuilder, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    let entry = this.sessions.get(signature);
    if (!entry) {
      entry = this.compile(build);
      this.sessions.set(signature, entry);
      entry.catch(() => this.sessions.delete(signature));
    }
    const { session, outputs } = await entry;
    const result = await session.run(feeds);
    return Object.fromEntries([...outputs].map(([name, onnxName]) => [name, result[onnxName]]));
  }

  private async compile(build: GraphBuilder): Promise<CompiledSession> {
    const graph = createGraph();
    const named = build(graph);
    const names = Object.keys(named);
    const weights = this.baseWeights(graph.params);
    const { model, outputNames } = emitModel(graph, names.map((n) => named[n]), { weights });
    const outputs = new Map(names.map((n, i) => [n, outputNames[i]]));
    const options = { executionProvider: this.options.executionProvider, intraOpThreads: this.options.intraOpThreads };
    const bytes = [...weights.values()].reduce((s, w) => s + w.byteLength, 0);
    if (bytes < IN_MEMORY_LIMIT) return { session: await createSession(encodeModel(model), options), outputs };
    const dir = mkdtempSync(join(tmpdir(), `tdd-${this.name}-`));
    try {
      const file = join(dir, 'model.onnx');
      saveModel(model, file);
      return { session: await createSession(file, options), outputs };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async releaseSessions(): Promise<void> {
    const entries = [...this.sessions.values()];
    this.sessions.clear();
    for (const entry of entries) {
      try {
        await (await entry).session.release();
      } catch {
        // a failed compile has nothing to release
      }
    }
  }

  async release(): Promise<void> {
    await this.releaseSessions();
    this.source.close();
  }
}
