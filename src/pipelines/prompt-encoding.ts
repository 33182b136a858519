/**
 * Prompts → the UNet's conditioning, as diffusers' encode_prompt does: SD-1.x/2.x take the text encoder's
 * last hidden state; SDXL concatenates the penultimate hidden states of both encoders and takes the second
 * encoder's projected pooled output as `text_embeds`. Long prompts are truncated to the context (77 tokens for SD; reported),
 * or, with `longPrompts: 'chunk'`, split A1111-style into 75-token chunks encoded separately and concatenated.
 * With `weighting`, A1111's emphasis syntax (`(word:1.3)`, `[word]`, `BREAK`; src/tokenizer/emphasis.ts) weights
 * the encoder output (prompt-weights.ts); prompts without that syntax encode exactly as without it.
 */
import { clipInputIdsTensor, clipTextModel, clipTextModelWithProjection } from '../models/clip/index.js';
import type { Graph, Value } from '../ir/index.js';
import { Scope } from '../nn/index.js';
import { encodeWeightedChunks, isPlainPrompt, parsePromptAttention } from '../tokenizer/index.js';
import { CompiledModel, type CompiledModelOptions } from './compiled-model.js';
import { emphasizeBatch } from './prompt-weights.js';
import type { ModelFamily, TextEncoderPart } from './components.js';

export interface PromptEmbeddings {
  /** [batch, tokens, dim] row-major. */
  embeds: Float32Array;
  dims: [number, number, number];
  /** SDXL: [batch, projection_dim]. */
  pooled?: Float32Array;
  pooledDims?: [number, number];
  /** Prompts that lost tokens to the 77-token limit. */
  truncated: string[];
  /** Tokens per encoder call (77 for SD): dims[1] is a multiple of it (set by PromptEncoder). */
  chunkLength?: number;
}

export type LongPromptMode = 'truncate' | 'chunk';

export interface PromptEncodeOptions {
  longPrompts?: LongPromptMode;
  /**
   * A1111 emphasis syntax (default false here; generation requests default it to true). A prompt using it is
   * tokenized piece by piece into 75-token chunks (`BREAK` starts a new one; with `truncate`, each
   * BREAK-separated section is cut to 75 tokens) and every chunk's output is weighted and mean-restored;
   * SDXL's two encoders get the same weights, the pooled output none.
   */
  weighting?: boolean;
  /** Pad every prompt with empty-prompt chunks to at least this many chunks (to match a negative prompt's). */
  minChunks?: number;
}

export class PromptEncoder {
  private readonly models: CompiledModel[];

  constructor(
    private readonly family: ModelFamily,
    private readonly parts: readonly TextEncoderPart[],
    options: CompiledModelOptions = {},
  ) {
    this.models = parts.map((p) => new CompiledModel(p.name, p.source, options));
  }

  /** The compiled text encoders (for LoRA fusion), by component name. */
  model(name: string): CompiledModel | undefined {
    return this.models[this.parts.findIndex((p) => p.name === name)];
  }

  async encode(
    prompts: readonly string[],
    { longPrompts = 'truncate', weighting = false, minChunks = 1 }: PromptEncodeOptions = {},
  ): Promise<PromptEmbeddings> {
    const truncated = new Set<string>();
    const perEncoder = [];
    const parsed = prompts.map((p) => (weighting && !isPlainPrompt(p) ? parsePromptAttention(p) : undefined));
    for (const [i, part] of this.parts.entries()) {
      const context = contextLength(part);
      const weights: (number[][] | undefined)[] = [];
      const rows = prompts.map((p, k) => {
        const pieces = parsed[k];
        if (pieces) {
          const w = encodeWeightedChunks(part.tokenizer, pieces, { chunkLength: context - 2, truncate: longPrompts === 'truncate' });
          if (w.truncated) truncated.add(p);
          weights[k] = w.weights;
          return w.chunks;
        }
        if (longPrompts === 'chunk') return part.tokenizer.encodeChunks(p, { chunkLength: context - 2 });
        const r = part.tokenizer.encodeForModel(p, { maxLength: context });
        if (r.truncated) truncated.add(p);
        return [r.inputIds];
      });
      const out = await this.runEncoder(i, rows, minChunks);
      emphasizeBatch(out.hidden, out.dims, weights);
      perEncoder.push(out);
    }
    const [first, second] = perEncoder;
    const batch = prompts.length;
    const tokens = first.dims[1];
    const chunkLength = first.chunkLength;
    if (!second) return { embeds: first.hidden, dims: [batch, tokens, first.dims[2]], truncated: [...truncated], chunkLength };
    if (second.dims[1] !== tokens)
      throw new Error('SDXL text encoders produced different token counts (long-prompt chunking differs between tokenizers)');
    return {
      embeds: concatLastAxis(first.hidden, first.dims[2], second.hidden, second.dims[2]),
      dims: [batch, tokens, first.dims[2] + second.dims[2]],
      pooled: second.pooled,
      pooledDims: second.pooled ? [batch, second.pooled.length / batch] : undefined,
      truncated: [...truncated],
      chunkLength,
    };
  }

  /** One encoder over prompts given as chunk lists; chunks are concatenated along the token axis. */
  private async runEncoder(
    index: number,
    promptChunks: number[][][],
    minChunks = 1,
  ): Promise<{ hidden: Float32Array; dims: number[]; pooled?: Float32Array; chunkLength: number }> {
    const chunks = Math.max(minChunks, ...promptChunks.map((c) => c.length));
    const part = this.parts[index];
    const pad = part.tokenizer.encodeChunks('', { chunkLength: contextLength(part) - 2 })[0];
    // Every prompt gets the same number of chunks (padded with the empty prompt), so the batch is rectangular.
    const rows = promptChunks.flatMap((c) => Array.from({ length: chunks }, (_, k) => c[k] ?? pad));
    const length = rows[0].length;
    const result = await this.models[index].run(
      `${rows.length}x${length}`,
      (graph) => this.buildEncoder(graph, part, rows.length, length),
      {
        input_ids: clipInputIdsTensor(rows),
      },
    );
    const hidden = result.hidden.data as Float32Array;
    const width = hidden.length / (rows.length * length);
    // [batch·chunks, 77, D] → [batch, chunks·77, D]: rows of one prompt are already adjacent.
    const pooledAll = result.pooled?.data as Float32Array | undefined;
    const pooled = pooledAll && pickFirstChunk(pooledAll, promptChunks.length, chunks);
    return { hidden, dims: [promptChunks.length, chunks * length, width], pooled, chunkLength: length };
  }

  private buildEncoder(graph: Graph, part: TextEncoderPart, batch: number, length: number): Record<string, Value> {
    const ids = graph.input('input_ids', [batch, length], 'int64');
    const scope = new Scope(graph);
    if (this.family === 'sd') return { hidden: clipTextModel(scope, part.config, ids).lastHiddenState };
    if (!part.withProjection) {
      const out = clipTextModel(scope, part.config, ids);
      return { hidden: out.hiddenStates[out.hiddenStates.length - 2] };
    }
    const out = clipTextModelWithProjection(scope, part.config, ids);
    return { hidden: out.hiddenStates[out.hiddenStates.length - 2], pooled: out.textEmbeds };
  }

  /** Float32 bytes of all text encoders' weights. */
  float32Bytes(): number {
    return this.models.reduce((s, m) => s + m.float32Bytes(), 0);
  }

  /** Releases the encoders' sessions (recompiled on the next encode); returns the names of those released. */
  async releaseSessions(): Promise<string[]> {
    const released = this.models.filter((m) => m.loaded).map((m) => m.name);
    for (const m of this.models) await m.releaseSessions();
    return released;
  }

  async release(): Promise<void> {
    for (const m of this.models) await m.release();
  }
}

/**
 * Tokens per encoder call: the tokenizer's model_max_length (77 for SD's CLIP; small models may use fewer),
 * capped by the encoder's position table (some tokenizer configs carry a huge "no limit" sentinel).
 */
function contextLength(part: TextEncoderPart): number {
  return Math.min(part.tokenizer.modelMaxLength ?? 77, part.config.max_position_embeddings);
}

function concatLastAxis(a: Float32Array, da: number, b: Float32Array, db: number): Float32Array {
  const rows = a.length / da;
  const out = new Float32Array(rows * (da + db));
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * da, (r + 1) * da), r * (da + db));
    out.set(b.subarray(r * db, (r + 1) * db), r * (da + db) + da);
  }
  return out;
}

/** SDXL pooled embeddings of chunked prompts: the first chunk's, as A1111 does. */
function pickFirstChunk(pooled: Float32Array, batch: number, chunks: number): Float32Array {
  const width = pooled.length / (batch * chunks);
  const out = new Float32Array(batch * width);
  for (let b = 0; b < batch; b++) out.set(pooled.subarray(b * chunks * width, (b * chunks + 1) * width), b * width);
  return out;
}
