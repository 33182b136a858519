/**
 * LoRA fused into host weights: W' = W + Σ_a s_a·(alpha_a/rank_a)·reshape(up_a·down_a) (conv: up.flatten(1)·
 * down.flatten(1), whose row-major layout is already W's [out, in, kh, kw]). Sums are taken in float64 and
 * rounded once to float32. Unfusing does not subtract (which would leave rounding residue, as diffusers'
 * unfuse_lora does): the original arrays are kept and put back, so the base weights return bit-exact.
 */
import { loraFactor, LoraError, type LoraTarget } from '../weights/lora-formats.js';

export interface LoraContribution {
  readonly target: LoraTarget;
  /** The user's adapter weight (diffusers' `scale` / set_adapters weight); alpha/rank is applied on top. */
  readonly scale: number;
}

/** Number of columns of ΔW (= prod of W.shape[1:]), after checking the target fits `length` weights. */
export function deltaColumns(target: LoraTarget, length: number, weightKey: string): number {
  const cols = target.down.data.length / target.rank;
  const out = target.up.shape[0];
  if (out * cols !== length || target.up.data.length !== out * target.rank) {
    throw new LoraError(`LoRA module ${target.module}: ΔW is [${out}, ${cols}] but ${weightKey} has ${length} values`);
  }
  return cols;
}

/** acc += s·(alpha/rank)·up·down, row by row (up [out, r], down [r, cols]). */
function accumulateDelta(acc: Float64Array, cols: number, { target, scale }: LoraContribution): void {
  const s = scale * loraFactor(target);
  const { rank } = target;
  const up = target.up.data;
  const down = target.down.data;
  const out = acc.length / cols;
  for (let o = 0; o < out; o++) {
    const row = o * cols;
    for (let r = 0; r < rank; r++) {
      const u = s * up[o * rank + r];
      if (u === 0) continue;
      const d = r * cols;
      for (let c = 0; c < cols; c++) acc[row + c] += u * down[d + c];
    }
  }
}

/** A new array W + Σ contributions (float64 sum, one rounding). */
export function fusedWeight(base: Float32Array, contributions: readonly LoraContribution[], weightKey = 'weight'): Float32Array {
  const acc = Float64Array.from(base);
  for (const c of contributions) accumulateDelta(acc, deltaColumns(c.target, base.length, weightKey), c);
  return Float32Array.from(acc);
}

export interface FusedLora {
  /** The weight keys whose arrays were replaced. */
  readonly keys: readonly string[];
  /** Puts the original arrays back (bit-exact). Fusions stacked on the same map must be undone in reverse order. */
  unfuse(): void;
}

/** Replaces every matched weight of `weights` by its fused array; returns the handle that restores them. */
export function fuseLora(weights: Map<string, Float32Array>, matched: ReadonlyMap<string, LoraTarget>, scale = 1): FusedLora {
  const originals = new Map<string, Float32Array>();
  const fused = new Map<string, Float32Array>();
  for (const [key, target] of matched) {
    const base = weights.get(key);
    if (!base) throw new LoraError(`fuseLora: no weight ${JSON.stringify(key)} for LoRA module ${target.module}`);
    fused.set(key, fusedWeight(base, [{ target, scale }], key));
    originals.set(key, base);
  }
  for (const [key, array] of fused) weights.set(key, array);
  let done = false;
  return {
    keys: [...fused.keys()],
    unfuse(): void {
      if (done) return;
      const moved = [...fused].filter(([key, array]) => weights.get(key) !== array).map(([key]) => key);
      if (moved.length > 0) throw new LoraError(`unfuse: ${moved.join(', ')} changed since this LoRA was fused (undo later fusions first)`);
      for (const [key, array] of originals) weights.set(key, array);
      done = true;
    },
  };
}

/**
 * Several named adapters over one set of base weights, mixed with per-adapter weights like diffusers'
 * set_adapters. `weights` always holds the current arrays: the base arrays themselves for untouched keys
 * (and for every key once no adapter is active), fresh fused arrays for the others.
 */
export class LoraAdapterSet {
  private readonly adapters = new Map<string, ReadonlyMap<string, LoraTarget>>();
  private active: [string, number][] = [];
  readonly weights: Map<string, Float32Array>;

  constructor(private readonly base: ReadonlyMap<string, Float32Array>) {
    this.weights = new Map(base);
  }

  /** Registers an adapter (matched to these weights); it takes effect once named in setAdapters. */
  add(name: string, matched: ReadonlyMap<string, LoraTarget>): this {
    if (this.adapters.has(name)) throw new LoraError(`adapter ${JSON.stringify(name)} is already loaded`);
    for (const [key, target] of matched) {
      const base = this.base.get(key);
      if (!base) throw new LoraError(`adapter ${JSON.stringify(name)}: no weight ${JSON.stringify(key)} for LoRA module ${target.module}`);
      deltaColumns(target, base.length, key);
    }
    this.adapters.set(name, matched);
    return this;
  }

  /** Removes an adapter, recomputing the weights it touched if it was active. */
  delete(name: string): void {
    this.requireKnown([name]);
    const rest = this.active.filter(([n]) => n !== name);
    this.setAdapters(
      rest.map(([n]) => n),
      rest.map(([, w]) => w),
    );
    this.adapters.delete(name);
  }

  get names(): string[] {
    return [...this.adapters.keys()];
  }

  /** The active adapters and their weights. */
  get activeAdapters(): ReadonlyMap<string, number> {
    return new Map(this.active);
  }

  /** Activates exactly `names` (others off) with one weight each (default 1) and recomputes the touched weights. */
  setAdapters(names: string | readonly string[], adapterWeights: number | readonly number[] = 1): void {
    const list = typeof names === 'string' ? [names] : [...names];
    const ws = typeof adapterWeights === 'number' ? list.map(() => adapterWeights) : [...adapterWeights];
    if (ws.length !== list.length) throw new LoraError(`setAdapters: ${list.length} adapters but ${ws.length} weights`);
    if (new Set(list).size !== list.length) throw new LoraError(`setAdapters: an adapter is listed twice in ${list.join(', ')}`);
    this.requireKnown(list);
    const touched = new Set([...this.active.map(([n]) => n), ...list].flatMap((n) => [...this.adapters.get(n)!.keys()]));
    this.active = list.map((n, i) => [n, ws[i]]);
    for (const key of touched) this.recompute(key);
  }

  /** Back to the base weights (the original arrays). */
  disable(): void {
    this.setAdapters([]);
  }

  private recompute(key: string): void {
    const contributions = this.active.flatMap(([n, scale]) => {
      const target = this.adapters.get(n)!.get(key);
      return target ? [{ target, scale }] : [];
    });
    const base = this.base.get(key)!;
    this.weights.set(key, contributions.length === 0 ? base : fusedWeight(base, contributions, key));
  }

  private requireKnown(names: readonly string[]): void {
    const unknown = names.filter((n) => !this.adapters.has(n));
    if (unknown.length > 0)
      throw new LoraError(
        `unknown adapter(s) ${unknown.map((n) => JSON.stringify(n)).join(', ')} (loaded: ${this.names.join(', ') || 'none'})`,
      );
  }
}
