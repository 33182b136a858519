/**
 * Applies key-map tables: expands the module rules over an index plan into concrete module instances, then
 * maps tensor keys either way by the longest matching module prefix and the module's part table.
 */
import type { Binding, IndexPlan, ModuleRule, PartRule, PartTable, TransformName } from './keymaps/types.js';

interface ModuleInstance {
  file: string;
  diffusers: string;
  parts: PartTable;
}

/** A single-file tensor and the diffusers tensor(s) it becomes. */
export interface FileKeyMapping {
  diffusers: string[];
  transform: TransformName;
}

/** A diffusers tensor and the single-file tensor it comes from (piece `part` of `siblings` when fused). */
export interface DiffusersKeyMapping {
  file: string;
  part: number;
  /** Every diffusers key of the same single-file tensor, in row order (just this key when not fused). */
  siblings: string[];
  transform: TransformName;
}

type Side = 'file' | 'diffusers';

const join = (a: string, b: string): string => (a && b ? `${a}.${b}` : a || b);
const namesOf = (rule: PartRule, side: Side): readonly string[] =>
  side === 'file' ? [rule.file] : typeof rule.diffusers === 'string' ? [rule.diffusers] : rule.diffusers;

/** Fills `{name}` placeholders; a placeholder the binding lacks is a table/plan mismatch (a bug). */
function fill(pattern: string, binding: Binding): string {
  return pattern.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (!(name in binding)) throw new Error(`key map: pattern "${pattern}" needs {${name}}, the plan gives ${JSON.stringify(binding)}`);
    return String(binding[name]);
  });
}

/** The module instances of a table: fixed rules once, planned rules once per binding of their plan entry. */
function expand(modules: readonly ModuleRule[], plan: IndexPlan): ModuleInstance[] {
  const out: ModuleInstance[] = [];
  for (const rule of modules) {
    const bindings = rule.plan === undefined ? [{}] : (plan[rule.plan] ?? []);
    for (const b of bindings) out.push({ file: fill(rule.file, b), diffusers: fill(rule.diffusers, b), parts: rule.parts });
  }
  return out;
}

function indexBy(instances: readonly ModuleInstance[], side: Side): Map<string, ModuleInstance> {
  const index = new Map<string, ModuleInstance>();
  for (const m of instances) {
    if (index.has(m[side])) throw new Error(`key map: two modules share the ${side} prefix "${m[side]}"`);
    index.set(m[side], m);
  }
  return index;
}

/** The part rule covering `rest` (longest name first), or a same-name rule for pass-through tables. */
function matchPart(parts: PartTable, rest: string, side: Side): { rule: PartRule; index: number; tail: string } | null {
  let best: { rule: PartRule; index: number; tail: string; length: number } | null = null;
  for (const rule of parts.rules) {
    const names = namesOf(rule, side);
    for (let index = 0; index < names.length; index++) {
      const name = names[index];
      const hit = rest === name || rest.startsWith(`${name}.`);
      if (hit && (!best || name.length > best.length)) best = { rule, index, tail: rest.slice(name.length + 1), length: name.length };
    }
  }
  if (best) return best;
  return parts.passThrough && rest !== '' ? { rule: { file: rest, diffusers: rest }, index: 0, tail: '' } : null;
}

/** Modules whose prefix covers `key`, longest first, ending with the root ('') when there is one. */
function* candidates(index: Map<string, ModuleInstance>, key: string): Generator<{ module: ModuleInstance; rest: string }> {
  let prefix = key;
  for (;;) {
    const module = index.get(prefix);
    if (module) yield { module, rest: prefix === '' ? key : key.slice(prefix.length + 1) };
    if (prefix === '') return;
    const dot = prefix.lastIndexOf('.');
    prefix = dot < 0 ? '' : prefix.slice(0, dot);
  }
}

export class KeyMapper {
  private readonly byFile: Map<string, ModuleInstance>;
  private readonly byDiffusers: Map<string, ModuleInstance>;

  constructor(modules: readonly ModuleRule[], plan: IndexPlan) {
    const instances = expand(modules, plan);
    this.byFile = indexBy(instances, 'file');
    this.byDiffusers = indexBy(instances, 'diffusers');
  }

  /** The diffusers name(s) of a single-file key (without the component prefix), or null if no table covers it. */
  toDiffusers(fileKey: string): FileKeyMapping | null {
    for (const { module, rest } of candidates(this.byFile, fileKey)) {
      const hit = matchPart(module.parts, rest, 'file');
      if (!hit) continue;
      const diffusers = namesOf(hit.rule, 'diffusers').map((d) => join(module.diffusers, join(d, hit.tail)));
      return { diffusers, transform: hit.rule.transform ?? 'identity' };
    }
    return null;
  }

  /** The single-file name (without the component prefix) a diffusers key is stored under, or null. */
  toFile(diffusersKey: string): DiffusersKeyMapping | null {
    for (const { module, rest } of candidates(this.byDiffusers, diffusersKey)) {
      const hit = matchPart(module.parts, rest, 'diffusers');
      if (!hit) continue;
      const siblings = namesOf(hit.rule, 'diffusers').map((d) => join(module.diffusers, join(d, hit.tail)));
      return {
        file: join(module.file, join(hit.rule.file, hit.tail)),
        part: hit.index,
        siblings,
        transform: hit.rule.transform ?? 'identity',
      };
    }
    return null;
  }
}
