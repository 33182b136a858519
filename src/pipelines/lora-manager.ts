/**
 * LoRA adapters of a pipeline, fused into the weights of the UNet and text encoders (like diffusers'
 * load_lora_weights + fuse_lora / set_adapters). Each file is matched against the model's own weight keys;
 * what does not match is reported, and a file that matches nothing is refused (a LoRA for another base).
 * Fusion happens as each component is compiled (a patch per touched key, applied to the weight read from the
 * file), so no fused copy is held, and unloading gives back the file's weights bit-exactly.
 */
import { basename, extname } from 'node:path';
import { deltaColumns, fusedWeight, type LoraContribution } from '../nn/lora.js';
import { numel } from '../ir/shape.js';
import { describeLora, LoraError, parseLora, type LoraComponent, type LoraMatch, type LoraTarget } from '../weights/lora-formats.js';
import { refusePickle } from '../weights/pickle-refusal.js';
import { FileTensorSource } from '../weights/tensor-source.js';
import type { CompiledModel, WeightPatch } from './compiled-model.js';
import { matchLoraToModel } from '../loaders/kohya-ldm-names.js';
import type { StableDiffusionPipeline } from './pipeline.js';

export interface LoadLoraOptions {
  /** Adapter weight (diffusers' lora_scale / adapter weight); default 1. */
  scale?: number;
  /** Adapter name (default: the file name without extension). */
  name?: string;
}

export interface LoadedLora {
  name: string;
  path: string;
  /** Per-component match lines and unrecognised keys, for users. */
  report: string;
  matches: LoraMatch[];
}

export class LoraManager {
  private readonly loaded = new Map<string, LoadedLora>();
  private active: [string, number][] = [];

  constructor(private readonly pipe: StableDiffusionPipeline) {}

  get adapters(): ReadonlyMap<string, number> {
    return new Map(this.active);
  }

  get files(): readonly LoadedLora[] {
    return [...this.loaded.values()];
  }

  /** Loads a LoRA file and activates it at `scale` alongside the already active adapters. */
  async load(path: string, { scale = 1, name }: LoadLoraOptions = {}): Promise<LoadedLora> {
    refusePickle(path);
    const adapterName = name ?? basename(path, extname(path));
    if (this.loaded.has(adapterName))
      throw new LoraError(`${path}: an adapter named ${JSON.stringify(adapterName)} is already loaded (pass another name)`);
    const source = FileTensorSource.open(path);
    let adapter;
    try {
      adapter = parseLora(source);
    } finally {
      source.close();
    }
    const matches = matchLoraToModel(
      adapter,
      this.pipe.components.unet.rawConfig,
      this.components().map(([c, model]) => [c, model.paramShapes()]),
    );
    const matchedCount = matches.reduce((s, m) => s + m.matched.size, 0);
    const report = describeLora(adapter, matches);
    if (matchedCount === 0)
      throw new LoraError(`${path}: no LoRA module matches this model's weights, so it was made for another base model.\n${report}`);
    for (const m of matches) {
      const shapes = this.modelFor(m.component).paramShapes();
      for (const [key, target] of m.matched) deltaColumns(target, numel(shapes.get(key)!), key);
    }
    const loaded = { name: adapterName, path, report, matches };
    this.loaded.set(adapterName, loaded);
    await this.setAdapters([...this.active.map(([n]) => n), adapterName], [...this.active.map(([, w]) => w), scale]);
    return loaded;
  }

  /** Activates exactly these adapters with these weights (default 1 each), like diffusers' set_adapters. */
  async setAdapters(names: readonly string[], weights: readonly number[] = names.map(() => 1)): Promise<void> {
    if (weights.length !== names.length) throw new LoraError(`setAdapters: ${names.length} adapters but ${weights.length} weights`);
    for (const n of names)
      if (!this.loaded.has(n))
        throw new LoraError(`setAdapters: no adapter ${JSON.stringify(n)} (loaded: ${[...this.loaded.keys()].join(', ') || 'none'})`);
    if (new Set(names).size !== names.length) throw new LoraError(`setAdapters: an adapter is listed twice in ${names.join(', ')}`);
    const touched = new Set(
      [...this.active.map(([n]) => n), ...names].flatMap((n) =>
        this.loaded
          .get(n)!
          .matches.filter((m) => m.matched.size > 0)
          .map((m) => m.component),
      ),
    );
    for (const component of touched) {
      const contributions = new Map<string, LoraContribution[]>();
      names.forEach((n, i) => {
        const matched: ReadonlyMap<string, LoraTarget> | undefined = this.loaded
          .get(n)!
          .matches.find((m) => m.component === component)?.matched;
        for (const [key, target] of matched ?? []) {
          const list = contributions.get(key) ?? [];
          list.push({ target, scale: weights[i] });
          contributions.set(key, list);
        }
      });
      const patches = new Map<string, WeightPatch>(
        [...contributions].map(([key, list]) => [key, (base: Float32Array) => fusedWeight(base, list, key)]),
      );
      await this.modelFor(component).setPatches(patches);
    }
    this.active = names.map((n, i) => [n, weights[i]]);
  }

  /** Removes every adapter; the base weights come back bit-exactly. */
  async unloadAll(): Promise<void> {
    await this.setAdapters([]);
    this.loaded.clear();
  }

  private components(): [LoraComponent, CompiledModel][] {
    const out: [LoraComponent, CompiledModel][] = [['unet', this.pipe.unet]];
    for (const name of ['text_encoder', 'text_encoder_2'] as const) {
      const model = this.pipe.prompts.model(name);
      if (model) out.push([name, model]);
    }
    return out;
  }

  private modelFor(component: LoraComponent): CompiledModel {
    return this.components().find(([c]) => c === component)![1];
  }
}
