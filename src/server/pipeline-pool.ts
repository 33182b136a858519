/**
 * Loaded pipelines, kept between jobs (loading and compiling sessions costs far more than a few-step run).
 * Memory is bounded by an estimate: float32 weights, twice (the host copy and the one baked into each ORT
 * session). Loading a model that would exceed the budget first releases the least recently used idle ones;
 * a model in use is never released, so the budget can be exceeded while every loaded model is busy.
 */
import { totalmem } from 'node:os';
import { numel } from '../ir/shape.js';
import { loadPipeline, type LoadPipelineOptions, type StableDiffusionPipeline } from '../pipelines/pipeline.js';
import type { TensorSource } from '../weights/tensor-source.js';
import { defaultIntraOpThreads, type ExecutionProvider } from '../runtime/session.js';
import type { ModelEntry } from './model-registry.js';

export interface PipelinePoolOptions {
  /** Default: half the machine's memory. */
  memoryBudgetBytes?: number;
  /** How every pipeline is loaded, device (executionProvider) and threads (intraOpThreads) included. */
  loadOptions?: LoadPipelineOptions;
}

interface Loaded {
  entry: ModelEntry;
  pipe: StableDiffusionPipeline;
  bytes: number;
  lastUsed: number;
  users: number;
}

export interface PipelineLease {
  pipe: StableDiffusionPipeline;
  /** Whether this acquire loaded the model (the first job on it pays for compiling sessions too). */
  loaded: boolean;
  release(): void;
}

export interface LoadedModelInfo {
  id: string;
  estimatedBytes: number;
  inUse: boolean;
}

const sourceBytes = (source: TensorSource): number => source.keys().reduce((sum, key) => sum + 4 * numel(source.shape(key)), 0);

/** Host weights plus the copy each compiled session holds. */
export function estimatePipelineBytes(pipe: StableDiffusionPipeline): number {
  const c = pipe.components;
  const sources = [c.unet.source, c.vae.source, ...c.textEncoders.map((t) => t.source)];
  return 2 * sources.reduce((sum, s) => sum + sourceBytes(s), 0);
}

export class PipelinePool {
  readonly memoryBudgetBytes: number;
  /** Problems that did not stop a model from loading (shown by GET /api/status). */
  readonly warnings: string[] = [];
  private readonly loaded = new Map<string, Loaded>();
  private readonly loading = new Map<string, Promise<Loaded>>();

  constructor(private readonly options: PipelinePoolOptions = {}) {
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? totalmem() / 2;
  }

  async acquire(entry: ModelEntry): Promise<PipelineLease> {
    let item = this.loaded.get(entry.id);
    const wasLoaded = item !== undefined;
    if (!item) {
      let pending = this.loading.get(entry.id);
      if (!pending) {
        pending = this.load(entry).finally(() => this.loading.delete(entry.id));
        this.loading.set(entry.id, pending);
      }
      item = await pending;
    }
    const held = item;
    held.users++;
    held.lastUsed = performance.now();
    let released = false;
    return {
      pipe: held.pipe,
      loaded: !wasLoaded,
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        held.lastUsed = performance.now();
      },
    };
  }

  /** The device and threads every pipeline of the pool runs with. */
  runtime(): { device: ExecutionProvider; threads: number } {
    return {
      device: this.options.loadOptions?.executionProvider ?? 'cpu',
      threads: this.options.loadOptions?.intraOpThreads ?? defaultIntraOpThreads(),
    };
  }

  /** The estimate of what the loaded models hold (LoadedModelInfo.estimatedBytes summed). */
  loadedBytes(): number {
    return [...this.loaded.values()].reduce((s, l) => s + l.bytes, 0);
  }

  info(): LoadedModelInfo[] {
    return [...this.loaded.values()].map((l) => ({ id: l.entry.id, estimatedBytes: l.bytes, inUse: l.users > 0 }));
  }

  async releaseAll(): Promise<void> {
    await Promise.allSettled([...this.loading.values()]);
    const all = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.all(all.map((l) => l.pipe.release()));
  }

  private async load(entry: ModelEntry): Promise<Loaded> {
    const pipe = await loadPipeline(entry.path, this.options.loadOptions);
    try {
      if (entry.taesd) this.tryTinyDecoder(entry, pipe);
      const bytes = estimatePipelineBytes(pipe);
      await this.makeRoom(bytes);
      const item: Loaded = { entry, pipe, bytes, lastUsed: performance.now(), users: 0 };
      this.loaded.set(entry.id, item);
      return item;
    } catch (e) {
      await pipe.release();
      throw e;
    }
  }

  /** A TAESD that does not fit the model (another family) only costs the fast previews, not the model. */
  private tryTinyDecoder(entry: ModelEntry, pipe: StableDiffusionPipeline): void {
    try {
      pipe.useTinyDecoder(entry.taesd!);
    } catch (e) {
      this.warnings.push(`model ${entry.id}: previews use the VAE, the tiny decoder was refused: ${(e as Error).message}`);
    }
  }

  /** Releases idle pipelines, least recently used first, until `bytes` more fit in the budget. */
  private async makeRoom(bytes: number): Promise<void> {
    const total = () => [...this.loaded.values()].reduce((s, l) => s + l.bytes, 0);
    const idle = [...this.loaded.values()].filter((l) => l.users === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const victim of idle) {
      if (total() + bytes <= this.memoryBudgetBytes) break;
      this.loaded.delete(victim.entry.id);
      await victim.pipe.release();
    }
  }
}
