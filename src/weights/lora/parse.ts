/**
 * Reads a LoRA file into a LoraAdapter, recognising key formats per key so mixed files work:
 *  - kohya / sd-scripts: `lora_unet_<module with _>.{lora_down.weight, lora_up.weight, alpha}`, text encoders
 *    `lora_te_` (SD-1.5), `lora_te1_` / `lora_te2_` (SDXL); LoCon conv modules use the same names.
 *  - peft / diffusers: `unet.<module>.lora_A.weight` / `.lora_B.weight` (optionally `.lora_A.<adapter>.weight`),
 *    `text_encoder.` / `text_encoder_2.` prefixes, optional `<module>.alpha`; also diffusers' older
 *    `<module>.lora.down.weight`, `mlp.fc1.lora_linear_layer.down.weight` and attention-processor names
 *    (`attn1.processor.to_q_lora.down.weight`, text encoder `self_attn.to_q_lora.down.weight`).
 * Anything else (DoRA, LoHa, LoKr, Tucker mids, orphaned halves) goes to `unrecognized` with a reason; a
 * module with any unsupported part is left out whole, since applying only its plain LoRA part would be wrong.
 */
import type { TensorSource } from '../tensor-source.js';
import { LoraError, type LoraAdapter, type LoraComponent, type LoraFormat, type LoraTarget, type UnrecognizedKey } from './types.js';

export interface ParseLoraOptions {
  /** Component of peft keys without a `unet.` / `text_encoder.` prefix (peft's own UNet-only files). */
  defaultComponent?: LoraComponent;
}

type Role = 'down' | 'up' | 'alpha';

interface KeyRole {
  component: LoraComponent;
  module: string;
  format: LoraFormat;
  role: Role | { unsupported: string };
}

const KOHYA_PREFIXES: readonly [string, LoraComponent][] = [
  ['lora_unet_', 'unet'],
  ['lora_te1_', 'text_encoder'],
  ['lora_te2_', 'text_encoder_2'],
  ['lora_te_', 'text_encoder'],
];

const KOHYA_UNSUPPORTED: readonly [RegExp, string][] = [
  [/^dora_scale$/, 'DoRA magnitude (dora_scale) is not supported'],
  [/^lora_mid\.weight$/, 'LoCon Tucker decomposition (lora_mid) is not supported'],
  [/^hada_/, 'LyCORIS LoHa (hada_*) is not supported'],
  [/^lokr_/, 'LyCORIS LoKr (lokr_*) is not supported'],
  [/^(diff|diff_b|bias_indices|bias_values|bias_size)$/, 'LyCORIS full/bias diff is not supported'],
];

function kohyaRole(key: string): KeyRole | null {
  const dot = key.indexOf('.');
  if (dot < 0) return null;
  const name = key.slice(0, dot);
  const rest = key.slice(dot + 1);
  const prefix = KOHYA_PREFIXES.find(([p]) => name.startsWith(p));
  if (!prefix) return null;
  const base = { component: prefix[1], module: name.slice(prefix[0].length), format: 'kohya' as const };
  const roles: Record<string, Role> = { 'lora_down.weight': 'down', 'lora_up.weight': 'up', alpha: 'alpha' };
  if (roles[rest]) return { ...base, role: roles[rest] };
  const unsupported = KOHYA_UNSUPPORTED.find(([re]) => re.test(rest));
  return { ...base, role: { unsupported: unsupported?.[1] ?? `unknown kohya tensor ".${rest}"` } };
}

const PEFT_PREFIXES: readonly [string, LoraComponent][] = [
  ['unet.', 'unet'],
  ['text_encoder_2.', 'text_encoder_2'],
  ['text_encoder.', 'text_encoder'],
];

/** diffusers' pre-peft attention-processor names → the projection they wrap. */
const PROCESSOR_PROJ: Record<string, string> = { to_q: 'to_q', to_k: 'to_k', to_v: 'to_v', to_out: 'to_out.0' };
const TEXT_PROJ: Record<string, string> = { to_q: 'q_proj', to_k: 'k_proj', to_v: 'v_proj', to_out: 'out_proj' };

/** Module and role of a peft/diffusers key with its component prefix removed. */
function peftModuleRole(rest: string): { module: string; role: KeyRole['role'] } | null {
  let m = /^(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(rest);
  if (m) return { module: m[1], role: m[2] === 'A' ? 'down' : 'up' };
  m = /^(.+)\.processor\.(to_[qkv]|to_out)_lora\.(down|up)\.weight$/.exec(rest);
  if (m) return { module: `${m[1]}.${PROCESSOR_PROJ[m[2]]}`, role: m[3] as Role };
  m = /^(.+\.self_attn)\.(to_[qkv]|to_out)_lora\.(down|up)\.weight$/.exec(rest);
  if (m) return { module: `${m[1]}.${TEXT_PROJ[m[2]]}`, role: m[3] as Role };
  m = /^(.+)\.lora(?:_linear_layer)?\.(down|up)\.weight$/.exec(rest);
  if (m) return { module: m[1], role: m[2] as Role };
  m = /^(.+)\.alpha$/.exec(rest);
  if (m) return { module: m[1], role: 'alpha' };
  m = /^(.+)\.lora_magnitude_vector(?:\.[^.]+)*$/.exec(rest);
  if (m) return { module: m[1], role: { unsupported: 'DoRA magnitude (lora_magnitude_vector) is not supported' } };
  m = /^(.+)\.(lora_[AB]\.(?:[^.]+\.)?bias|lora_embedding_[AB](?:\.[^.]+)?)$/.exec(rest);
  if (m)
    return { module: m[1], role: { unsupported: `peft ${m[2].split('.')[0]} tensors (LoRA bias / embedding LoRA) are not supported` } };
  return null;
}

function peftRole(key: string, defaultComponent: LoraComponent): KeyRole | null {
  const stripped = key.startsWith('base_model.model.') ? key.slice('base_model.model.'.length) : key;
  const prefix = PEFT_PREFIXES.find(([p]) => stripped.startsWith(p));
  const rest = prefix ? stripped.slice(prefix[0].length) : stripped;
  const found = peftModuleRole(rest);
  if (!found) return null;
  return { component: prefix ? prefix[1] : defaultComponent, module: found.module, format: 'peft', role: found.role };
}

interface ModuleKeys {
  component: LoraComponent;
  module: string;
  format: LoraFormat;
  roles: Partial<Record<Role, string>>;
  unsupported: string[];
  all: string[];
}

/** Groups the file's keys by module; keys of no known LoRA format go straight to `unrecognized`. */
function groupKeys(keys: readonly string[], defaultComponent: LoraComponent, unrecognized: UnrecognizedKey[]): ModuleKeys[] {
  const modules = new Map<string, ModuleKeys>();
  for (const key of keys) {
    const r = kohyaRole(key) ?? peftRole(key, defaultComponent);
    if (!r) {
      unrecognized.push({ key, reason: 'not a LoRA key of a known format (kohya lora_unet_/lora_te*_, peft lora_A/lora_B)' });
      continue;
    }
    const id = `${r.format}:${r.component}:${r.module}`;
    let m = modules.get(id);
    if (!m) modules.set(id, (m = { component: r.component, module: r.module, format: r.format, roles: {}, unsupported: [], all: [] }));
    m.all.push(key);
    if (typeof r.role !== 'string') m.unsupported.push(r.role.unsupported);
    else if (m.roles[r.role])
      throw new LoraError(
        `LoRA keys ${JSON.stringify(m.roles[r.role])} and ${JSON.stringify(key)} are both the ${r.role} of module ${r.module}`,
      );
    else m.roles[r.role] = key;
  }
  return [...modules.values()];
}

function readAlpha(source: TensorSource, key: string): number {
  const data = source.float32(key);
  if (data.length !== 1)
    throw new LoraError(
      `${source.origin}: LoRA alpha ${JSON.stringify(key)} has shape [${source.shape(key).join(', ')}], expected a scalar`,
    );
  if (!Number.isFinite(data[0]) || data[0] <= 0)
    throw new LoraError(`${source.origin}: LoRA alpha ${JSON.stringify(key)} is ${data[0]}, expected a positive number`);
  return data[0];
}

function readTarget(source: TensorSource, m: ModuleKeys, downKey: string, upKey: string): LoraTarget {
  const down = { shape: [...source.shape(downKey)], data: source.float32(downKey) };
  const up = { shape: [...source.shape(upKey)], data: source.float32(upKey) };
  const rank = down.shape[0];
  if (down.shape.length < 2 || up.shape.length < 2 || up.shape[1] !== rank || rank === 0) {
    throw new LoraError(
      `${source.origin}: LoRA module ${m.module}: down ${JSON.stringify(downKey)} is [${down.shape.join(', ')}] and up ${JSON.stringify(upKey)} is [${up.shape.join(', ')}]; expected down [rank, in, ...] and up [out, rank, ...]`,
    );
  }
  const alpha = m.roles.alpha ? readAlpha(source, m.roles.alpha) : null;
  return { component: m.component, module: m.module, format: m.format, down, up, alpha, rank, keys: m.all };
}

export function parseLora(source: TensorSource, options: ParseLoraOptions = {}): LoraAdapter {
  const unrecognized: UnrecognizedKey[] = [];
  const targets: LoraTarget[] = [];
  for (const m of groupKeys(source.keys(), options.defaultComponent ?? 'unet', unrecognized)) {
    const { down, up } = m.roles;
    const reason =
      m.unsupported.length > 0
        ? m.unsupported.join('; ')
        : !down
          ? `module ${m.module} has no ${m.format === 'kohya' ? 'lora_down' : 'lora_A'} tensor`
          : !up
            ? `module ${m.module} has no ${m.format === 'kohya' ? 'lora_up' : 'lora_B'} tensor`
            : null;
    if (reason) unrecognized.push(...m.all.map((key) => ({ key, reason })));
    else targets.push(readTarget(source, m, down!, up!));
  }
  return { origin: source.origin, targets, unrecognized };
}
