/**
 * What a model folder or weights file holds, for `tdd info`: architecture, components with their weight
 * files, dtypes and parameter counts. Reads headers and configs only, never tensor data.
 */
import { basename } from 'node:path';
import { numel } from '../ir/shape.js';
import type { TensorSource } from '../weights/tensor-source.js';
import { DiffusersFolder, findComponentWeights } from './diffusers-folder.js';

export interface ComponentReport {
  name: string;
  /** e.g. "diffusers.UNet2DConditionModel". */
  className: string;
  /** The weight file (or shard index) chosen, relative to the component folder; null for weightless components. */
  weights: string | null;
  /** Tensor count per stored dtype, e.g. { F16: 686 }. */
  dtypes: Record<string, number>;
  parameters: number;
  /** Short facts from the config (channels, layers, ...). */
  summary: string;
}

export interface ModelReport {
  path: string;
  kind: 'diffusers-folder' | 'single-file' | 'lora' | 'weights';
  architecture: string;
  components: ComponentReport[];
  /** Anything worth a line of its own: variants chosen, unmatched keys, LoRA match counts. */
  notes: string[];
}

/** Counts dtypes and parameters over a source's headers. */
export function tallySource(source: TensorSource): { dtypes: Record<string, number>; parameters: number } {
  const dtypes: Record<string, number> = {};
  let parameters = 0;
  for (const key of source.keys()) {
    const dtype = source.dtype(key);
    dtypes[dtype] = (dtypes[dtype] ?? 0) + 1;
    parameters += numel(source.shape(key));
  }
  return { dtypes, parameters };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** The SD family a UNet config belongs to, by the features that distinguish them. */
export function unetFamily(unet: Record<string, unknown>, prediction?: unknown): string {
  const cross = num(unet.cross_attention_dim) ?? (Array.isArray(unet.cross_attention_dim) ? unet.cross_attention_dim[0] : undefined);
  const v = prediction === 'v_prediction' ? ', v-prediction' : '';
  const lcm = unet.time_cond_proj_dim ? `, guidance-embedded (time_cond_proj_dim ${unet.time_cond_proj_dim})` : '';
  const inpaint = unet.in_channels === 9 ? ', inpainting (9-channel)' : '';
  const extra = `${v}${lcm}${inpaint}`;
  if (unet.addition_embed_type === 'text_time')
    return cross === 2048 ? `SDXL${extra}` : `SDXL-architecture (cross-attention ${cross})${extra}`;
  if (cross === 768) return `SD1.x${extra}`;
  if (cross === 1024) return `SD2.x${extra}`;
  return `SD1.x/2.x-architecture (cross-attention ${cross})${extra}`;
}

function configSummary(name: string, config: Record<string, unknown>): string {
  const list = (v: unknown): string => (Array.isArray(v) ? v.join('/') : String(v));
  if (config._class_name === 'UNet2DConditionModel' || name.startsWith('unet')) {
    return `channels ${list(config.block_out_channels)}, layers/block ${config.layers_per_block}, cross-attention ${list(config.cross_attention_dim)}`;
  }
  if (String(config._class_name ?? '').startsWith('Autoencoder')) {
    return `channels ${list(config.block_out_channels ?? config.decoder_block_out_channels)}, latent channels ${config.latent_channels}, scaling ${config.scaling_factor}`;
  }
  if (typeof config.hidden_size === 'number') {
    return `hidden ${config.hidden_size}, layers ${config.num_hidden_layers}, heads ${config.num_attention_heads}, act ${config.hidden_act}`;
  }
  if (typeof config._class_name === 'string' && name.includes('scheduler')) {
    return `${config._class_name}, ${config.prediction_type ?? 'epsilon'} prediction`;
  }
  return '';
}

export function inspectDiffusersFolder(dir: string, { variant }: { variant?: string } = {}): ModelReport {
  const folder = DiffusersFolder.open(dir);
  const components: ComponentReport[] = [];
  const notes: string[] = [];
  for (const entry of folder.index.components) {
    const componentDir = folder.componentDir(entry.name);
    let config: Record<string, unknown> = {};
    try {
      config = folder.config(entry.name);
    } catch {
      // tokenizers have no config.json
    }
    const report: ComponentReport = {
      name: entry.name,
      className: `${entry.library}.${entry.className}`,
      weights: null,
      dtypes: {},
      parameters: 0,
      summary: configSummary(entry.name, config),
    };
    if (entry.library !== 'transformers' || entry.className.includes('Model')) {
      if (entry.name !== 'scheduler') {
        const choice = findComponentWeights(componentDir, { variant });
        if (choice.variant && !variant)
          notes.push(`${entry.name}: only "${choice.variant}" weights present, using ${basename(choice.path)}`);
        const source = folder.weights(entry.name, { variant: choice.variant ?? undefined });
        try {
          Object.assign(report, tallySource(source), { weights: basename(choice.path) });
        } finally {
          source.close();
        }
      }
    }
    components.push(report);
  }
  const prediction = folder.has('scheduler') ? folder.config('scheduler').prediction_type : undefined;
  const architecture = folder.has('unet') ? unetFamily(folder.config('unet'), prediction) : folder.index.pipelineClass;
  return { path: dir, kind: 'diffusers-folder', architecture: `${architecture} (${folder.index.pipelineClass})`, components, notes };
}

/** Human-readable lines of a report (the default `tdd info` output). */
export function formatReport(report: ModelReport): string {
  const lines = [`${report.path}`, `  kind:         ${report.kind}`, `  architecture: ${report.architecture}`];
  const total = report.components.reduce((s, c) => s + c.parameters, 0);
  if (report.components.length > 0) lines.push(`  parameters:   ${formatCount(total)}`, '  components:');
  for (const c of report.components) {
    const dtypes = Object.entries(c.dtypes)
      .map(([d, n]) => `${d}×${n}`)
      .join(' ');
    const weights = c.weights ? [c.weights, `${formatCount(c.parameters)} params`, dtypes].filter(Boolean).join(', ') : 'no weights';
    lines.push(`    ${c.name.padEnd(15)} ${c.className}  [${weights}]${c.summary ? `  ${c.summary}` : ''}`);
  }
  for (const note of report.notes) lines.push(`  note: ${note}`);
  return lines.join('\n');
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}
