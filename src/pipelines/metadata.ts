/**
 * Generation parameters as AUTOMATIC1111's web UI writes them into a PNG's `parameters` text, which A1111,
 * ComfyUI readers, Civitai and most image browsers parse:
 *
 *   <prompt> <lora:name:weight>...
 *   Negative prompt: <negative>            (only when there is one)
 *   Steps: 4, Sampler: TDD, CFG scale: 1.7, Seed: 1, Size: 512x512, Model hash: <10 hex>, Model: <name>, ...
 *
 * The last line is `key: value` pairs joined by ", "; a value holding ',', ':' or a newline is JSON-quoted
 * (A1111's `quote`). Hashes are A1111's short forms: the model's sha256 cut to 10 hex digits, a LoRA's
 * (safetensors data sha256, the "addnet" hash) to 12. Pure functions; hashing lives in util/file-hash.ts.
 */

export interface LoraUse {
  name: string;
  weight: number;
  /** Full sha256 hex of the LoRA's tensor data (see loraFileHash); omitted from the text when unknown. */
  hash?: string;
}

export interface ImageMetadata {
  prompt: string;
  negativePrompt?: string;
  steps: number;
  /** Our scheduler name (tdd, tcd, lcm, dmd, ddim, euler, dpmsolver++, dpmsolver-singlestep). */
  scheduler: string;
  guidanceScale: number;
  seed: string | number | bigint;
  width: number;
  height: number;
  model?: { name: string; /** Full sha256 hex of the model weights file. */ hash?: string };
  loras?: readonly LoraUse[];
  eta?: number;
  guidanceRescale?: number;
  /** img2img / inpainting strength (A1111's "Denoising strength"). */
  strength?: number;
  /** Images made from the same seed in one batch, and this image's position (A1111's Batch size/pos). */
  batchSize?: number;
  batchIndex?: number;
  /** Further `key: value` pairs, written before Version (e.g. ControlNet settings). */
  extra?: Readonly<Record<string, string | number>>;
  /** e.g. "tdd-diffusion 0.1.0". */
  version?: string;
}

/** A1111's short hash lengths. */
export const MODEL_HASH_LENGTH = 10;
export const LORA_HASH_LENGTH = 12;

/** A1111 sampler names where one exists; TDD and DMD2 have none, so they are named after the method. */
const SAMPLER_LABELS: Readonly<Record<string, string>> = {
  tdd: 'TDD',
  tcd: 'TCD',
  lcm: 'LCM',
  dmd: 'DMD2',
  ddim: 'DDIM',
  euler: 'Euler',
  'dpmsolver++': 'DPM++ 2M',
  'dpmsolver-singlestep': 'DPM++ 2S',
};

export function samplerLabel(scheduler: string): string {
  return SAMPLER_LABELS[scheduler] ?? scheduler;
}

/** A1111's quote(): values with ',', ':' or a newline become a JSON string so the line still splits. */
export function quoteA1111(value: string): string {
  return /[,:\n]/.test(value) ? JSON.stringify(value) : value;
}

/** The prompt as A1111 users write it: LoRAs as `<lora:name:weight>` tags after the text. */
export function promptWithLoras(prompt: string, loras: readonly LoraUse[] = []): string {
  const tags = loras.map((l) => `<lora:${l.name}:${l.weight}>`);
  return [prompt, ...tags].filter((s) => s !== '').join(' ');
}

/** The `key: value` pairs of the parameters line, in A1111's order; absent values are left out. */
export function a1111Fields(m: ImageMetadata): [string, string][] {
  const hashed = (m.loras ?? []).filter((l) => l.hash);
  const batched = (m.batchSize ?? 1) > 1;
  const fields: [string, string | number | undefined][] = [
    ['Steps', m.steps],
    ['Sampler', samplerLabel(m.scheduler)],
    ['CFG scale', m.guidanceScale],
    ['Seed', String(m.seed)],
    ['Size', `${m.width}x${m.height}`],
    ['Model hash', m.model?.hash?.slice(0, MODEL_HASH_LENGTH)],
    ['Model', m.model?.name],
    ['Batch size', batched ? m.batchSize : undefined],
    ['Batch pos', batched ? m.batchIndex : undefined],
    ['Denoising strength', m.strength],
    ['Eta', m.eta],
    ['Guidance rescale', m.guidanceRescale || undefined],
    ['Lora hashes', hashed.length ? hashed.map((l) => `${l.name}: ${l.hash!.slice(0, LORA_HASH_LENGTH)}`).join(', ') : undefined],
    ...Object.entries(m.extra ?? {}),
    ['Version', m.version],
  ];
  return fields.filter((f): f is [string, string | number] => f[1] !== undefined).map(([k, v]) => [k, quoteA1111(String(v))]);
}

/** The full `parameters` text. */
export function formatA1111Parameters(m: ImageMetadata): string {
  const lines = [promptWithLoras(m.prompt, m.loras)];
  if (m.negativePrompt) lines.push(`Negative prompt: ${m.negativePrompt}`);
  lines.push(
    a1111Fields(m)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', '),
  );
  return lines.join('\n');
}

export interface ParsedA1111Parameters {
  prompt: string;
  negativePrompt: string;
  fields: Record<string, string>;
}

/** Reads a `parameters` text back (the last line holds the fields; quoted values are unquoted). */
export function parseA1111Parameters(text: string): ParsedA1111Parameters {
  const lines = text.split('\n');
  const last = lines.length > 1 ? lines.pop()! : '';
  const fields: Record<string, string> = {};
  for (const m of last.matchAll(/\s*([\w ]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)/g)) {
    fields[m[1].trim()] = m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2].trim();
  }
  const negativeAt = lines.findIndex((l) => l.startsWith('Negative prompt: '));
  const prompt = (negativeAt < 0 ? lines : lines.slice(0, negativeAt)).join('\n');
  const negativePrompt = negativeAt < 0 ? '' : lines.slice(negativeAt).join('\n').slice('Negative prompt: '.length);
  return { prompt, negativePrompt, fields };
}
