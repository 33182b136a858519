/**
 * Attaches a parsed LoRA to a model's parameters. peft modules are dotted paths already; kohya modules are
 * paths with `.` → `_`, resolved against the model's own weight keys (an index from the underscored key to
 * the key), so no hand-written name table is needed for files trained on the diffusers module tree. Files
 * named after another tree (kohya SDXL's LDM `input_blocks_4_1_…`) need `resolveKohyaModule`; until given
 * one their modules are reported as unmatched. Shapes are checked; nothing is skipped without a report.
 */
import { formatShape, numel } from '../../ir/shape.js';
import { LoraError, type LoraAdapter, type LoraComponent, type LoraTarget } from './types.js';

/** Parameter shapes by key: a Map, or graph Values (`graph.params`). */
export type ParamShapes = ReadonlyMap<string, readonly number[]> | Iterable<{ readonly name?: string; readonly shape: readonly number[] }>;

export interface MatchLoraOptions {
  /**
   * Dotted module path for a kohya module name that is not a parameter path with `.` → `_` (e.g. an LDM→diffusers
   * key map from the single-file loader); return undefined to leave it unmatched.
   */
  resolveKohyaModule?: (underscored: string, component: LoraComponent) => string | undefined;
  /** Throw a LoraError with the report when any module of this component does not match. */
  strict?: boolean;
}

export interface LoraMatch {
  readonly component: LoraComponent;
  /** Target by the weight key it modifies (`<module>.weight`). */
  readonly matched: Map<string, LoraTarget>;
  /** File keys of the modules that found no weight. */
  readonly unmatched: string[];
  /** How many modules of this component the adapter has. */
  readonly total: number;
  /** e.g. "unet: 33 of 33 LoRA modules matched", or the count plus the unmatched modules. */
  readonly report: string;
}

/** How many unmatched modules a report names before summarising. */
const REPORT_LIMIT = 8;

function shapeMap(params: ParamShapes): ReadonlyMap<string, readonly number[]> {
  if (params instanceof Map) return params;
  const map = new Map<string, readonly number[]>();
  for (const p of params as Iterable<{ name?: string; shape: readonly number[] }>) if (p.name) map.set(p.name, p.shape);
  return map;
}

/** Underscored module path → module path, for weights a LoRA can target (rank ≥ 2); collisions map to null. */
function underscoreIndex(shapes: ReadonlyMap<string, readonly number[]>): Map<string, string | null> {
  const index = new Map<string, string | null>();
  for (const [key, shape] of shapes) {
    if (!key.endsWith('.weight') || shape.length < 2) continue;
    const module = key.slice(0, -'.weight'.length);
    const flat = module.replaceAll('.', '_');
    index.set(flat, index.has(flat) && index.get(flat) !== module ? null : module);
  }
  return index;
}

/** ΔW = up.flatten(1)·down.flatten(1) must have W's shape: up [out, r, 1…], down [r, W.shape[1:]] or [r, prod]. */
export function checkLoraShapes(target: LoraTarget, weightKey: string, weightShape: readonly number[]): void {
  const [out, ...rest] = weightShape;
  const cols = numel(rest);
  const { down, up, rank } = target;
  const upOk = up.shape[0] === out && up.shape.slice(2).every((d) => d === 1);
  const downOk =
    down.shape[0] === rank && numel(down.shape.slice(1)) === cols && (down.shape.length === 2 || down.shape.length === weightShape.length);
  if (!upOk || !downOk) {
    const wanted = `down ${formatShape([rank, ...rest])} and up ${formatShape([out, rank, ...rest.slice(1).map(() => 1)])}`;
    throw new LoraError(
      `LoRA module ${target.module} (${target.keys.join(', ')}): down is ${formatShape(down.shape)}, up is ${formatShape(up.shape)}, ` +
        `but ${weightKey} is ${formatShape(weightShape)} and needs ${wanted} (a LoRA for another model?)`,
    );
  }
}

function summary(component: LoraComponent, matched: number, unmatchedModules: string[]): string {
  const total = matched + unmatchedModules.length;
  const head = `${component}: ${matched} of ${total} LoRA modules matched`;
  if (unmatchedModules.length === 0) return head;
  const listed = unmatchedModules.slice(0, REPORT_LIMIT).join(', ');
  const more = unmatchedModules.length > REPORT_LIMIT ? ` and ${unmatchedModules.length - REPORT_LIMIT} more` : '';
  return `${head}; no weight for ${listed}${more}`;
}

export function matchLora(adapter: LoraAdapter, component: LoraComponent, params: ParamShapes, options: MatchLoraOptions = {}): LoraMatch {
  const shapes = shapeMap(params);
  let index: Map<string, string | null> | undefined;
  const matched = new Map<string, LoraTarget>();
  const unmatched: string[] = [];
  const unmatchedModules: string[] = [];
  const targets = adapter.targets.filter((t) => t.component === component);
  for (const target of targets) {
    let module: string | null | undefined = target.module;
    if (target.format === 'kohya') {
      index ??= underscoreIndex(shapes);
      module = index.get(target.module);
      if (module === null)
        throw new LoraError(
          `${adapter.origin}: kohya module ${target.module} fits several ${component} weights (names equal up to "." vs "_")`,
        );
      module ??= options.resolveKohyaModule?.(target.module, component);
    }
    const weightKey = module === undefined ? undefined : `${module}.weight`;
    const weightShape = weightKey === undefined ? undefined : shapes.get(weightKey);
    if (!weightKey || !weightShape) {
      unmatched.push(...target.keys);
      unmatchedModules.push(target.module);
      continue;
    }
    checkLoraShapes(target, weightKey, weightShape);
    const other = matched.get(weightKey);
    if (other) throw new LoraError(`${adapter.origin}: LoRA modules ${other.module} and ${target.module} both modify ${weightKey}`);
    matched.set(weightKey, target);
  }
  const report = summary(component, matched.size, unmatchedModules);
  if (options.strict && unmatched.length > 0) throw new LoraError(`${adapter.origin}: ${report}`);
  return { component, matched, unmatched, total: targets.length, report };
}

/**
 * The whole picture for a user: one line per matched component, the components the adapter has but no
 * model was given for, and the unrecognised keys with their reasons.
 */
export function describeLora(adapter: LoraAdapter, matches: readonly LoraMatch[]): string {
  const lines = matches.map((m) => m.report);
  const seen = new Set(matches.map((m) => m.component));
  const counts = new Map<LoraComponent, number>();
  for (const t of adapter.targets) if (!seen.has(t.component)) counts.set(t.component, (counts.get(t.component) ?? 0) + 1);
  for (const [component, n] of counts) lines.push(`${component}: ${n} LoRA modules not applied (no ${component} given)`);
  const reasons = new Map<string, string[]>();
  for (const u of adapter.unrecognized) reasons.set(u.reason, [...(reasons.get(u.reason) ?? []), u.key]);
  for (const [reason, keys] of reasons) {
    const more = keys.length > REPORT_LIMIT ? ` and ${keys.length - REPORT_LIMIT} more` : '';
    lines.push(`${keys.length} unrecognised key(s) (${reason}): ${keys.slice(0, REPORT_LIMIT).join(', ')}${more}`);
  }
  return `${adapter.origin}:\n  ${lines.join('\n  ')}`;
}
