/**
 * Opens an A1111/ComfyUI single-file checkpoint (LDM/SGM key names) as diffusers components: detects the
 * family and which components the file holds, infers each config from tensor shapes (plus family rules
 * and the caller's overrides), and returns lazy TensorSources under diffusers keys. Leftover keys are
 * either ignored with a reason (EMA weights, buffers) or reported as unmatched.
 */
import { refusePickle } from '../../weights/pickle-refusal.js';
import { FileTensorSource, type TensorSource } from '../../weights/tensor-source.js';
import { ComponentKeys } from './component-keys.js';
import { keyMapperFor } from './component-maps.js';
import { finalConfig, type ConfigOptions } from './config-merge.js';
import { convertKeys, type ConvertedKeys, type IgnoredKey } from './convert-keys.js';
import { DerivedTensorSource } from './derived-source.js';
import { architectureOfUNet, readUNetStructure, unetConfigFromStructure } from './infer-unet.js';
import { inferTextEncoderConfig } from './infer-text-encoder.js';
import { inferVaeConfig } from './infer-vae.js';
import type { KeyMapper } from './key-mapper.js';
import {
  ARCHITECTURE_LAYOUTS,
  ARCHITECTURE_SIGNATURES,
  BARE_PLACEMENTS,
  EXTRA_PLACEMENTS,
  FAMILY_RULES,
  IGNORED_KEYS,
  NO_FAMILY_VAE,
  type Architecture,
  type ComponentLayout,
  type ComponentName,
  type ComponentPlacement,
} from './keymaps/checkpoint.js';

export type { IgnoredKey } from './convert-keys.js';

export interface OpenSingleFileOptions extends ConfigOptions {
  /** The family, where detection from the keys is not wanted or not possible (a lone VAE). */
  architecture?: Architecture;
}

export interface SingleFileComponent {
  /** diffusers config.json fields (parse with parseUNetConfig etc.). */
  config: Record<string, unknown>;
  /** The component's tensors under diffusers/transformers keys, read lazily from the file. */
  source: TensorSource;
  /** Where the component sits in the file, and its naming scheme. */
  prefix: string;
  layout: ComponentLayout;
  /** Config fields set by family rules, not read from the weights: override them if the model departs from its family. */
  assumed: string[];
}

export interface SingleFileCheckpoint {
  path: string;
  /** Null for a lone VAE, which does not tell its family (pass options.architecture). */
  architecture: Architecture | null;
  components: Partial<Record<ComponentName, SingleFileComponent>>;
  ignored: IgnoredKey[];
  /** Keys that no table covers and no ignore rule explains. */
  unmatched: string[];
  /** Closes every component source and the file. */
  close(): void;
}

const LABELS: Record<ComponentName, string> = {
  unet: 'UNet',
  vae: 'VAE',
  text_encoder: 'text encoder',
  text_encoder_2: 'second text encoder',
};
const SD2_DROPPED =
  "SD-2 conditions on the penultimate OpenCLIP layer: diffusers' SD-2 text encoder has neither the last layer nor the projection";

export function openSingleFile(path: string, options: OpenSingleFileOptions = {}): SingleFileCheckpoint {
  refusePickle(path);
  const file = FileTensorSource.open(path);
  try {
    return readSingleFile(file, options);
  } catch (err) {
    file.close();
    throw err;
  }
}

/** Like openSingleFile for a source already open (e.g. in memory); closing the checkpoint closes it. */
export function readSingleFile(file: TensorSource, options: OpenSingleFileOptions = {}): SingleFileCheckpoint {
  const ignored: IgnoredKey[] = [];
  const kept: string[] = [];
  for (const key of file.keys()) {
    const rule = IGNORED_KEYS.find((r) => r.pattern.test(key));
    if (rule) ignored.push({ key, reason: rule.reason });
    else kept.push(key);
  }
  const signature =
    options.architecture ?? ARCHITECTURE_SIGNATURES.find((s) => kept.some((k) => k.startsWith(s.prefix)))?.architecture ?? null;
  const { groups, unmatched } = groupByComponent(kept, signature);
  const reader = new ComponentReader(file, groups, options);
  const components: Partial<Record<ComponentName, SingleFileComponent>> = {};
  const collect = (name: ComponentName, built: { component: SingleFileComponent; keys: ConvertedKeys } | null): void => {
    if (!built) return;
    components[name] = built.component;
    ignored.push(...built.keys.ignored);
    unmatched.push(...built.keys.unmatched);
  };
  let architecture = signature;
  const unet = reader.unet(architecture);
  if (unet) architecture = unet.architecture;
  collect('unet', unet);
  collect('vae', reader.vae(architecture));
  collect('text_encoder', reader.textEncoder('text_encoder', architecture));
  collect('text_encoder_2', reader.textEncoder('text_encoder_2', architecture));
  return {
    path: file.origin,
    architecture,
    components,
    ignored,
    unmatched,
    close: () => {
      for (const c of Object.values(components)) c.source.close();
      file.close();
    },
  };
}

interface Group {
  placement: ComponentPlacement;
  /** Keys without the prefix. */
  keys: string[];
}

/** Sorts keys into components by prefix (longest first); a file with none of the prefixes may be a bare model. */
function groupByComponent(
  keys: readonly string[],
  architecture: Architecture | null,
): { groups: Map<ComponentName, Group>; unmatched: string[] } {
  const known = architecture
    ? ARCHITECTURE_LAYOUTS[architecture]
    : ARCHITECTURE_LAYOUTS.sd1.filter((p) => p.component === 'unet' || p.component === 'vae');
  const placements = [...known, ...EXTRA_PLACEMENTS].sort((a, b) => b.prefix.length - a.prefix.length);
  const byPlacement = new Map<ComponentPlacement, string[]>();
  const unmatched: string[] = [];
  for (const key of keys) {
    const p = placements.find((q) => key.startsWith(q.prefix));
    if (!p) {
      unmatched.push(key);
      continue;
    }
    const group = byPlacement.get(p) ?? [];
    group.push(key.slice(p.prefix.length));
    byPlacement.set(p, group);
  }
  if (byPlacement.size === 0) {
    const bare = BARE_PLACEMENTS.find((b) => keys.includes(b.marker));
    if (bare) return { groups: new Map([[bare.component, { placement: bare, keys: [...keys] }]]), unmatched: [] };
  }
  // One placement per component (the one with most keys); keys under another prefix of it stay unmatched.
  const groups = new Map<ComponentName, Group>();
  for (const [placement, k] of byPlacement) {
    const other = groups.get(placement.component);
    if (!other || other.keys.length < k.length) {
      if (other) unmatched.push(...other.keys.map((x) => other.placement.prefix + x));
      groups.set(placement.component, { placement, keys: k });
    } else unmatched.push(...k.map((x) => placement.prefix + x));
  }
  return { groups, unmatched };
}

type Built = { component: SingleFileComponent; keys: ConvertedKeys };

/** Builds each component present in the file; views share the file and close it when the last one closes. */
class ComponentReader {
  private live = 0;

  constructor(
    private readonly file: TensorSource,
    private readonly groups: Map<ComponentName, Group>,
    private readonly options: OpenSingleFileOptions,
  ) {}

  unet(architecture: Architecture | null): (Built & { architecture: Architecture }) | null {
    const group = this.groups.get('unet');
    if (!group) return null;
    const raw = this.raw('unet', group);
    const structure = readUNetStructure(raw);
    const family = architecture ?? architectureOfUNet(structure);
    const inferred = unetConfigFromStructure(raw, structure, FAMILY_RULES[family], this.textEmbedsWidth());
    const { config, assumed } = finalConfig('unet', inferred, this.options, this.where('unet'));
    return { ...this.build('unet', group, config, assumed, keyMapperFor('ldm-unet', config, this.where('unet'))), architecture: family };
  }

  vae(architecture: Architecture | null): Built | null {
    const group = this.groups.get('vae');
    if (!group) return null;
    const rules = architecture ? FAMILY_RULES[architecture] : null;
    const family = rules ? { sampleSize: rules.vaeSampleSize, scalingFactor: rules.vaeScalingFactor } : NO_FAMILY_VAE;
    const inferred = inferVaeConfig(this.raw('vae', group), family);
    const { config, assumed } = finalConfig('vae', inferred, this.options, this.where('vae'));
    return this.build('vae', group, config, assumed, keyMapperFor('ldm-vae', config, this.where('vae')));
  }

  /** The layer count comes from the file (the plan must exist before the converted view the config is read from). */
  textEncoder(name: 'text_encoder' | 'text_encoder_2', architecture: Architecture | null): Built | null {
    const group = this.groups.get(name);
    if (!group) return null;
    const { layout } = group.placement;
    let layers = 0;
    let drop: ((key: string) => string | null) | undefined;
    if (layout === 'open-clip') {
      layers = this.raw(name, group).count(/^transformer\.resblocks\.(\d+)\./, 'transformer.resblocks');
      // Only a full OpenCLIP tower (it carries the projection) has the extra layer: files written from diffusers' SD-2 encoder do not.
      if (architecture && FAMILY_RULES[architecture].openClipDropsLastLayer && group.keys.includes('text_projection') && layers > 0) {
        const last = `transformer.resblocks.${--layers}.`;
        drop = (key) => (key.startsWith(last) || key === 'text_projection' ? SD2_DROPPED : null);
      }
    }
    const mapper = keyMapperFor(layout, { num_hidden_layers: layers }, this.where(name));
    const keys = convertKeys(this.file, group.placement.prefix, group.keys, mapper, drop);
    const source = this.view(name, keys);
    const inferred = inferTextEncoderConfig(source, layout as 'clip' | 'open-clip');
    const { config, assumed } = finalConfig(name, inferred, this.options, this.where(name));
    return { component: { config, source, prefix: group.placement.prefix, layout, assumed }, keys };
  }

  private build(name: ComponentName, group: Group, config: Record<string, unknown>, assumed: string[], mapper: KeyMapper): Built {
    const keys = convertKeys(this.file, group.placement.prefix, group.keys, mapper);
    const source = this.view(name, keys);
    return { component: { config, source, prefix: group.placement.prefix, layout: group.placement.layout, assumed }, keys };
  }

  private view(name: ComponentName, keys: ConvertedKeys): DerivedTensorSource {
    this.live++;
    return new DerivedTensorSource(this.where(name), this.file, keys.tensors, () => {
      if (--this.live === 0) this.file.close();
    });
  }

  private raw(name: ComponentName, group: Group): ComponentKeys {
    return new ComponentKeys(this.file, group.placement.prefix, group.keys, LABELS[name]);
  }

  private where(name: ComponentName): string {
    return `${this.file.origin} [${name}]`;
  }

  /** Width of the pooled text embedding SDXL feeds its label_emb: the OpenCLIP projection's output size. */
  private textEmbedsWidth(): number | null {
    const group = this.groups.get('text_encoder_2');
    if (!group || group.placement.layout !== 'open-clip' || !group.keys.includes('text_projection')) return null;
    return this.file.shape(`${group.placement.prefix}text_projection`)[1] ?? null;
  }
}
