/**
 * Finished rows on disk, so an interrupted eval resumes where it stopped: rows/<name>.features.safetensors
 * (the samples' classifier features, for the Fréchet distances), rows/<name>.png (the first samples) and
 * rows/<name>.json, written last, which marks the row done. A row is reused only when its fingerprint (the
 * row's settings, the model, the LoRA's and the classifier's bytes, samples, seed, prompts) still matches.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from '../util/atomic-write.js';
import { SafetensorsFile } from '../weights/safetensors.js';
import { writeSafetensors } from '../weights/safetensors-writer.js';
import type { EvalRow, LoraRole } from './rows.js';

/** What a finished row measured (FD to the teacher is computed over rows at the end, not stored here). */
export interface StoredRow {
  readonly name: string;
  readonly label: string;
  readonly group: EvalRow['group'];
  readonly lora: LoraRole;
  readonly loraPath?: string;
  readonly scheduler: string;
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  readonly steps: number;
  readonly guidance: number;
  readonly eta?: number;
  readonly samples: number;
  readonly batch: number;
  /** FD-emoji against the held-out real images. */
  readonly fdData: number;
  /** Share of samples classified as their caption's subcategory. */
  readonly alignment: number;
  readonly secondsPerImage: number;
  readonly timesteps: readonly number[];
  readonly sampleHash: string;
  readonly fingerprint: string;
  readonly finishedAt: string;
}

export interface FingerprintParts {
  readonly row: EvalRow;
  readonly model: string;
  /** sha256 of the LoRA file, undefined for the teacher. */
  readonly loraHash?: string;
  readonly classifierHash: string;
  readonly samples: number;
  readonly seed: number;
  readonly captions: readonly string[];
}

export function rowFingerprint(p: FingerprintParts): string {
  const { row } = p;
  const sampling = {
    lora: row.lora,
    scheduler: row.scheduler,
    schedulerConfig: row.schedulerConfig,
    steps: row.steps,
    guidance: row.guidance,
    eta: row.eta ?? null,
    // Only rows with explicit timesteps add the key, so the fingerprints of finished rows stay valid.
    ...(row.timesteps && { timesteps: row.timesteps }),
  };
  const captions = createHash('sha256').update(p.captions.join('\n')).digest('hex');
  const parts = {
    sampling,
    model: p.model,
    loraHash: p.loraHash ?? null,
    classifierHash: p.classifierHash,
    samples: p.samples,
    seed: p.seed,
    captions,
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export class RowStore {
  readonly dir: string;

  constructor(out: string) {
    this.dir = join(out, 'rows');
    mkdirSync(this.dir, { recursive: true });
  }

  jsonPath(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  featuresPath(name: string): string {
    return join(this.dir, `${name}.features.safetensors`);
  }

  gridPath(name: string): string {
    return join(this.dir, `${name}.png`);
  }

  /** The stored row and its features when both are there and the fingerprint matches; undefined otherwise. */
  load(name: string, fingerprint: string): { row: StoredRow; features: Float32Array[] } | undefined {
    const json = this.jsonPath(name);
    const features = this.featuresPath(name);
    if (!existsSync(json) || !existsSync(features)) return undefined;
    let row: StoredRow;
    try {
      row = JSON.parse(readFileSync(json, 'utf8')) as StoredRow;
    } catch {
      return undefined;
    }
    if (row.fingerprint !== fingerprint) return undefined;
    const file = SafetensorsFile.open(features);
    try {
      const [count, dim] = file.info('features').shape;
      const flat = file.float32('features');
      return { row, features: Array.from({ length: count }, (_, i) => flat.slice(i * dim, (i + 1) * dim)) };
    } finally {
      file.close();
    }
  }

  /** Features first, the JSON last: a row is done only once its JSON exists. */
  save(row: StoredRow, features: readonly Float32Array[]): void {
    const dim = features[0]?.length ?? 0;
    const flat = new Float32Array(features.length * dim);
    features.forEach((f, i) => flat.set(f, i * dim));
    writeSafetensors(this.featuresPath(row.name), [{ name: 'features', dtype: 'F32', shape: [features.length, dim], data: flat }], {
      row: row.name,
      fingerprint: row.fingerprint,
    });
    writeFileAtomically(this.jsonPath(row.name), new TextEncoder().encode(`${JSON.stringify(row, null, 2)}\n`));
  }
}
