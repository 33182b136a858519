/**
 * The inverse direction: diffusers components → one single-file checkpoint in a family's layout, from the
 * same key-map tables (fused OpenCLIP q/k/v, 1×1-conv VAE attention, transposed text projection included).
 */
import { float32ToDType, isFloatDType, type FloatDType, type SafetensorsDType } from '../../weights/dtype-convert.js';
import { writeSafetensorsStreamed } from '../../weights/safetensors-writer.js';
import { missingKeyError, type TensorSource } from '../../weights/tensor-source.js';
import { keyMapperFor } from './component-maps.js';
import { DerivedTensorSource, type DerivedTensor } from './derived-source.js';
import { SingleFileError } from './errors.js';
import { ARCHITECTURE_LAYOUTS, type Architecture, type ComponentName, type ComponentPlacement } from './keymaps/checkpoint.js';
import { inverseDerivation } from './transforms.js';

export interface DiffusersComponent {
  /** Tensors under diffusers/transformers keys (e.g. a component folder's weights). */
  source: TensorSource;
  /** Its diffusers config.json (decides the block numbering). */
  config: Readonly<Record<string, unknown>>;
}

export interface SingleFileExport {
  /** Every tensor under its single-file key; reading one reads (and fuses) the diffusers tensors behind it. */
  source: TensorSource;
  /** Diffusers keys that no table places in the single file. */
  unmatched: { component: ComponentName; key: string }[];
}

/** Several sources with disjoint keys seen as one. */
class UnionTensorSource implements TensorSource {
  private readonly owner = new Map<string, TensorSource>();
  constructor(
    readonly origin: string,
    sources: readonly TensorSource[],
  ) {
    for (const s of sources) for (const k of s.keys()) this.owner.set(k, s);
  }
  keys(): string[] {
    return [...this.owner.keys()];
  }
  has(key: string): boolean {
    return this.owner.has(key);
  }
  shape(key: string): readonly number[] {
    return this.of(key).shape(key);
  }
  dtype(key: string): SafetensorsDType {
    return this.of(key).dtype(key);
  }
  float32(key: string): Float32Array {
    return this.of(key).float32(key);
  }
  close(): void {
    for (const s of new Set(this.owner.values())) s.close();
  }
  private of(key: string): TensorSource {
    const s = this.owner.get(key);
    if (!s) throw missingKeyError(this, key);
    return s;
  }
}

function exportComponent(placement: ComponentPlacement, c: DiffusersComponent, unmatched: SingleFileExport['unmatched']): TensorSource {
  const where = `${c.source.origin} [${placement.component}]`;
  const mapper = keyMapperFor(placement.layout, c.config, where);
  const tensors = new Map<string, DerivedTensor>();
  for (const key of c.source.keys()) {
    const m = mapper.toFile(key);
    if (!m || !m.siblings.every((s) => c.source.has(s))) {
      unmatched.push({ component: placement.component, key });
      continue;
    }
    const fileKey = placement.prefix + m.file;
    if (!tensors.has(fileKey)) tensors.set(fileKey, { inputs: m.siblings, derivation: inverseDerivation(m.transform, m.siblings.length) });
  }
  // The caller owns the component sources: closing the export must not close them.
  return new DerivedTensorSource(where, c.source, tensors, () => {});
}

/** Lays diffusers components out as `architecture`'s single files do. */
export function toSingleFile(components: Partial<Record<ComponentName, DiffusersComponent>>, architecture: Architecture): SingleFileExport {
  const placements = ARCHITECTURE_LAYOUTS[architecture];
  for (const name of Object.keys(components)) {
    if (!placements.some((p) => p.component === name)) {
      throw new SingleFileError(
        `${architecture} single files have no place for a "${name}" (they hold ${placements.map((p) => p.component).join(', ')})`,
      );
    }
  }
  const unmatched: SingleFileExport['unmatched'] = [];
  const parts = placements.flatMap((p) => {
    const c = components[p.component];
    return c ? [exportComponent(p, c, unmatched)] : [];
  });
  return { source: new UnionTensorSource(`${architecture} single file`, parts), unmatched };
}

export interface WriteSingleFileOptions {
  /** Stored float type (default: each tensor's own, F32 for non-float sources). */
  dtype?: FloatDType;
  metadata?: Record<string, string>;
}

/** Writes the components as one single-file checkpoint; refuses when a diffusers key has no single-file place. */
export function writeSingleFile(
  path: string,
  components: Partial<Record<ComponentName, DiffusersComponent>>,
  architecture: Architecture,
  options: WriteSingleFileOptions = {},
): void {
  const { source, unmatched } = toSingleFile(components, architecture);
  if (unmatched.length > 0) {
    const list = unmatched
      .slice(0, 5)
      .map((u) => `${u.component}: ${u.key}`)
      .join(', ');
    throw new SingleFileError(
      `${path}: ${unmatched.length} tensor(s) have no place in a ${architecture} single file (${list}${unmatched.length > 5 ? ', ...' : ''})`,
    );
  }
  const dtypeOf = (name: string): FloatDType => {
    const stored = source.dtype(name);
    return options.dtype ?? (isFloatDType(stored) ? stored : 'F32');
  };
  // Streamed: a multi-gigabyte checkpoint is converted one tensor at a time.
  const specs = source.keys().map((name) => ({ name, dtype: dtypeOf(name), shape: [...source.shape(name)] }));
  writeSafetensorsStreamed(
    path,
    specs,
    (spec) => float32ToDType(source.float32(spec.name), spec.dtype as FloatDType),
    options.metadata ?? { format: 'pt' },
  );
}
