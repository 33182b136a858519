/**
 * The models and LoRAs `tdd serve` offers: found once at start-up in the --models folders (diffusers folders,
 * single-file checkpoints, LoRA .safetensors), plus the embedded model when the package ships one. Clients
 * choose them by opaque id (a slug of the name + a hash of the real path), so a request can never name a
 * path on the server. Files are told apart from their safetensors header alone (no tensor data is read).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { embeddedModel, type EmbeddedModel } from '../embedded/index.js';
import { readComponentConfig } from '../loaders/diffusers-folder.js';
import { PICKLE_EXTENSIONS } from '../weights/pickle-refusal.js';
import { FileTensorSource } from '../weights/tensor-source.js';
import { ServeError } from './errors.js';
import { checkpointBase, configBase, loraBase, loraFamily, loraFits, type LoraBase, type ModelBase } from './lora-fit.js';

export type ModelKind = 'embedded' | 'diffusers' | 'single-file';

export interface LoraChoice {
  id: string;
  weight: number;
}

export interface ModelEntry {
  id: string;
  name: string;
  kind: ModelKind;
  /** Server-side only: never sent to clients. */
  path: string;
  /** A TAESD (AutoencoderTiny) folder inside the model folder, used for step previews. */
  taesd?: string;
  /** LoRAs applied when a request names none (the embedded model's TDD LoRA). */
  defaultLoras: LoraChoice[];
  /** The native image size (UNet sample_size × VAE factor) when the configs tell it. */
  defaultSize?: number;
  /** Pixels per latent cell, when known before loading (sizes must be multiples of it). */
  vaeFactor?: number;
  /** Image sides must be multiples of this (VAE factor × the UNet's downsampling), when known before loading. */
  sizeMultiple?: number;
  /** The model's scheduler_config.json, when it has one (to check steps against the scheduler early). */
  schedulerConfig?: Record<string, unknown>;
  /** What LoRAs must match (cross-attention and text encoder widths), from configs or the checkpoint header. */
  base?: ModelBase;
}

export interface LoraEntry {
  id: string;
  name: string;
  path: string;
  /** The widths the LoRA was trained for, read from its header at scan time (LoRAs only). */
  base?: LoraBase;
}

/** What a scan passed over, with why (printed at start-up, never sent to clients). */
export interface SkippedPath {
  path: string;
  reason: string;
}

/** The public view of the registry (GET /api/models): no paths. */
export interface RegistryView {
  models: {
    id: string;
    name: string;
    kind: ModelKind;
    defaultLoras: LoraChoice[];
    defaultSize: number | null;
    previews: 'taesd' | 'vae';
  }[];
  /** `fits`: the ids of the listed models the LoRA's shapes fit; `family`: what it was made for, when told. */
  loras: { id: string; name: string; family: string | null; fits: string[] }[];
  controlnets: { id: string; name: string }[];
}

export const EMBEDDED_MODEL_ID = 'embedded';
export const EMBEDDED_LORA_ID = 'embedded-tdd';
/** Ids as the registry makes them; anything else (a path, "..", a URL) is refused before any lookup. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

const SINGLE_FILE_KEY = /^(model\.diffusion_model|first_stage_model|cond_stage_model|conditioner)\./;
const LORA_KEY = /(^|\.)lora_(down|up|A|B)\.|_lora\.(down|up)\.|^lora_(unet|te\d?)_/;
/** Folder depth searched below each --models folder (models/checkpoints/x.safetensors is depth 2). */
const MAX_DEPTH = 2;

export function slug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'model';
}

/** Stable for a file across restarts, different for same-named files in different folders. */
export function opaqueId(name: string, path: string): string {
  return `${slug(name)}-${createHash('sha256').update(realpathSync(path)).digest('hex').slice(0, 8)}`;
}

export type SafetensorsRole = 'checkpoint' | 'lora' | 'unknown';

/** A single-file checkpoint, a LoRA, or neither, from the tensor names. */
export function classifyTensorKeys(keys: readonly string[]): SafetensorsRole {
  if (keys.some((k) => SINGLE_FILE_KEY.test(k))) return 'checkpoint';
  if (keys.some((k) => LORA_KEY.test(k))) return 'lora';
  return 'unknown';
}

export class ModelRegistry {
  private readonly modelsById = new Map<string, ModelEntry>();
  private readonly lorasById = new Map<string, LoraEntry>();
  /** Diffusers ControlNetModel folders (config.json `_class_name: ControlNetModel`). */
  private readonly controlnetsById = new Map<string, LoraEntry>();
  readonly skipped: SkippedPath[] = [];

  /** Scans the folders; `embedded: null` leaves the embedded model out (tests), default: the shipped one. */
  static scan(dirs: readonly string[], { embedded = embeddedModel() ?? null }: { embedded?: EmbeddedModel | null } = {}): ModelRegistry {
    const registry = new ModelRegistry();
    if (embedded) registry.addEmbedded(embedded);
    for (const dir of dirs) {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ServeError(`--models ${dir}: not a folder`);
      if (isDiffusersFolder(dir)) registry.addDiffusers(dir);
      else registry.scanFolder(dir, 0);
    }
    return registry;
  }

  get models(): readonly ModelEntry[] {
    return [...this.modelsById.values()];
  }

  get loras(): readonly LoraEntry[] {
    return [...this.lorasById.values()];
  }

  model(id: string): ModelEntry | undefined {
    return this.modelsById.get(id);
  }

  lora(id: string): LoraEntry | undefined {
    return this.lorasById.get(id);
  }

  get controlnets(): readonly LoraEntry[] {
    return [...this.controlnetsById.values()];
  }

  controlnet(id: string): LoraEntry | undefined {
    return this.controlnetsById.get(id);
  }

  view(): RegistryView {
    return {
      models: this.models.map((m) => ({
        id: m.id,
        name: m.name,
        kind: m.kind,
        defaultLoras: m.defaultLoras,
        defaultSize: m.defaultSize ?? null,
        previews: m.taesd ? 'taesd' : 'vae',
      })),
      loras: this.loras.map((l) => ({
        id: l.id,
        name: l.name,
        family: l.base ? loraFamily(l.base) : null,
        fits: this.models.filter((m) => !l.base || !m.base || loraFits(l.base, m.base)).map((m) => m.id),
      })),
      controlnets: this.controlnets.map((l) => ({ id: l.id, name: l.name })),
    };
  }

  private addEmbedded(embedded: EmbeddedModel): void {
    const entry = this.diffusersEntry(embedded.dir, EMBEDDED_MODEL_ID, 'embedded');
    if (embedded.lora) {
      this.lorasById.set(EMBEDDED_LORA_ID, {
        id: EMBEDDED_LORA_ID,
        name: 'embedded TDD LoRA',
        path: embedded.lora,
        base: readLoraBase(embedded.lora),
      });
      entry.defaultLoras = [{ id: EMBEDDED_LORA_ID, weight: 1 }];
    }
    this.modelsById.set(entry.id, entry);
  }

  private addDiffusers(dir: string): void {
    const name = basename(realpathSync(dir));
    const entry = this.diffusersEntry(dir, opaqueId(name, dir), 'diffusers');
    this.modelsById.set(entry.id, entry);
  }

  private diffusersEntry(dir: string, id: string, kind: ModelKind): ModelEntry {
    const entry: ModelEntry = {
      id,
      name: kind === 'embedded' ? 'embedded' : basename(realpathSync(dir)),
      kind,
      path: dir,
      defaultLoras: [],
    };
    try {
      const unet = readComponentConfig(join(dir, 'unet'));
      const vae = readComponentConfig(join(dir, 'vae'));
      const levels = Array.isArray(vae.block_out_channels) ? vae.block_out_channels.length : 4;
      entry.vaeFactor = 2 ** (levels - 1);
      if (Array.isArray(unet.down_block_types)) entry.sizeMultiple = entry.vaeFactor * 2 ** Math.max(0, unet.down_block_types.length - 1);
      if (typeof unet.sample_size === 'number') entry.defaultSize = unet.sample_size * entry.vaeFactor;
      entry.schedulerConfig = readComponentConfig(join(dir, 'scheduler'));
      let textEncoder: Record<string, unknown> | undefined;
      try {
        textEncoder = readComponentConfig(join(dir, 'text_encoder'));
      } catch {
        // a UNet config alone still tells the cross-attention width
      }
      entry.base = configBase(unet, textEncoder);
    } catch {
      // Unusual layouts are still offered; loading the model reports what is wrong with them.
    }
    entry.taesd = findTinyDecoder(dir);
    return entry;
  }

  private scanFolder(dir: string, depth: number): void {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      this.skipped.push({ path: dir, reason: `cannot list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const path = join(dir, name);
      let stat;
      try {
        stat = statSync(path);
      } catch {
        this.skipped.push({ path, reason: 'broken link' });
        continue;
      }
      if (stat.isDirectory()) {
        if (isDiffusersFolder(path)) this.addDiffusers(path);
        else if (isControlNetFolder(path)) {
          const name = basename(realpathSync(path));
          this.controlnetsById.set(opaqueId(name, path), { id: opaqueId(name, path), name, path });
        } else if (depth < MAX_DEPTH && !existsSync(join(path, 'config.json'))) this.scanFolder(path, depth + 1);
      } else if (stat.isFile()) {
        this.addFile(path);
      }
    }
  }

  private addFile(path: string): void {
    const ext = extname(path).toLowerCase();
    if (PICKLE_EXTENSIONS.includes(ext)) {
      this.skipped.push({ path, reason: 'pickle weights are not loaded (convert them to .safetensors)' });
      return;
    }
    if (ext !== '.safetensors') return;
    let role: SafetensorsRole;
    let base: LoraBase | ModelBase | undefined;
    try {
      const source = FileTensorSource.open(path);
      try {
        role = classifyTensorKeys(source.keys());
        if (role === 'checkpoint') base = checkpointBase(source);
        else if (role === 'lora') base = loraBase(source);
      } finally {
        source.close();
      }
    } catch (e) {
      this.skipped.push({ path, reason: (e as Error).message });
      return;
    }
    const name = basename(path, extname(path));
    if (role === 'checkpoint')
      this.modelsById.set(opaqueId(name, path), { id: opaqueId(name, path), name, kind: 'single-file', path, defaultLoras: [], base });
    else if (role === 'lora') this.lorasById.set(opaqueId(name, path), { id: opaqueId(name, path), name, path, base });
    else this.skipped.push({ path, reason: 'neither a checkpoint nor a LoRA (unrecognised tensor names)' });
  }
}

/** A LoRA file's base from its header; undefined (offered for every model) when the header cannot be read. */
function readLoraBase(path: string): LoraBase | undefined {
  try {
    const source = FileTensorSource.open(path);
    try {
      return loraBase(source);
    } finally {
      source.close();
    }
  } catch {
    return undefined;
  }
}

function isControlNetFolder(dir: string): boolean {
  try {
    return readComponentConfig(dir)._class_name === 'ControlNetModel';
  } catch {
    return false;
  }
}

function isDiffusersFolder(dir: string): boolean {
  return existsSync(join(dir, 'model_index.json'));
}

/** A sub-folder holding an AutoencoderTiny (e.g. `taesd/`), which makes previews cheap. */
function findTinyDecoder(dir: string): string | undefined {
  for (const name of readdirSync(dir).sort()) {
    const sub = join(dir, name);
    try {
      if (statSync(sub).isDirectory() && readComponentConfig(sub)._class_name === 'AutoencoderTiny') return sub;
    } catch {
      // not a component folder
    }
  }
  return undefined;
}
