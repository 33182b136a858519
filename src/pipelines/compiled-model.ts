/**
 * One model component (UNet, VAE, text encoder ...) compiled for ONNX Runtime on demand. Our graphs have static
 * shapes, so each input shape (batch, resolution) gets its own session, built once and kept.
 *
 * Weights are not kept here: each compile reads them from the source one tensor at a time (fp16/bf16 converted,
 * LoRA patches applied) into the model ORT loads, so the process holds one full-precision copy of a component,
 * ORT's. Large components stream into an external-data file in the cache folder that ORT reads; small ones are
 * encoded in memory. Changing patches (fusing a LoRA) drops the sessions; the next call rebuilds with them.
 */
import type { Graph, Value } from '../ir/index.js';
import { numel } from '../ir/shape.js';
import { createGraph } from '../ops/index.js';
import { compileGraph, type Precision } from '../runtime/compile-graph.js';
import type { ExecutionProvider, Session } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensors.js';
import { checkParams } from '../weights/load-params.js';
import { sourceShapes, type TensorSource } from '../weights/tensor-source.js';
import { ModelMemoryError, isAllocationFailure, usableMemoryBytes } from './memory.js';

/** Builds the graph for one input signature: named graph inputs are created inside, outputs returned by name. */
export type GraphBuilder = (graph: Graph) => Record<string, Value>;

/** Replaces a base weight as it is read (a fused LoRA): gets the source's float32 array, may modify it in place. */
export type WeightPatch = (base: Float32Array) => Float32Array;

interface CompiledSession {
  session: Session;
  /** Builder output name → ONNX output name. */
  outputs: Map<string, string>;
}

export interface CompiledModelOptions {
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  /** Where large components are staged as ONNX external data while ORT loads them (default: the cache folder). */
  stagingDir?: string;
  /** Components with fewer float32 weight bytes are encoded in memory, larger ones staged (default 256 MiB). */
  inMemoryLimitBytes?: number;
  /** float16 computes in half precision behind a float32 interface (for GPUs); default float32. */
  precision?: Precision;
}

export type { Precision };

export class CompiledModel {
  private readonly sessions = new Map<string, Promise<CompiledSession>>();
  private patches: ReadonlyMap<string, WeightPatch> = new Map();
  private readonly usedKeys = new Set<string>();
  /** Keys of the source no compiled graph used (reported once by the pipeline). */
  unusedKeys: string[] = [];

  constructor(
    readonly name: string,
    private readonly source: TensorSource,
    private readonly options: CompiledModelOptions = {},
  ) {}

  /** Parameter shapes by key, from the source's headers (what LoRA matching needs, before any graph exists). */
  paramShapes(): Map<string, readonly number[]> {
    return sourceShapes(this.source);
  }

  /** Bytes of all the source's tensors at float32 (what a compiled component holds, give or take unused keys). */
  float32Bytes(): number {
    let total = 0;
    for (const shape of this.paramShapes().values()) total += numel(shape) * 4;
    return total;
  }

  /** The weight `key` as sessions get it: the source's float32 data, patched when a patch is set. */
  weight(key: string): Float32Array {
    const base = this.source.float32(key);
    const patch = this.patches.get(key);
    return patch ? patch(base) : base;
  }

  /** New patches (LoRA fused or unfused): sessions built with the old ones are dropped. */
  async setPatches(patches: ReadonlyMap<string, WeightPatch>): Promise<void> {
    this.patches = patches;
    await this.releaseSessions();
  }

  /** True while at least one session is compiled (or compiling). */
  get loaded(): boolean {
    return this.sessions.size > 0;
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
    checkParams(this.source, graph.params, this.name);
    for (const p of graph.params) this.usedKeys.add(p.name!);
    this.unusedKeys = this.source.keys().filter((k) => !this.usedKeys.has(k));
    let bytes = 0;
    try {
      const { session, outputNames } = await compileGraph(
        graph,
        names.map((n) => named[n]),
        {
          streamWeights: (key) => this.weight(key),
          checkWeightBytes: (b) => {
            bytes = b;
            // Past this, the OS would kill the process part-way through loading: refuse with the numbers instead.
            if (b > usableMemoryBytes()) throw new ModelMemoryError(this.name, b);
          },
          inMemoryLimitBytes: this.options.inMemoryLimitBytes,
          stagingDir: this.options.stagingDir,
          label: this.name,
          precision: this.options.precision,
          session: { executionProvider: this.options.executionProvider, intraOpThreads: this.options.intraOpThreads },
        },
      );
      return { session, outputs: new Map(names.map((n, i) => [n, outputNames[i]])) };
    } catch (err) {
      if (!(err instanceof ModelMemoryError) && isAllocationFailure(err)) throw new ModelMemoryError(this.name, bytes, err);
      throw err;
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
