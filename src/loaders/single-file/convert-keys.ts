/**
 * Maps the keys of one component of a single file through its key map: each covered key becomes one or
 * more diffusers tensors (with the table's transform), the rest are dropped with a reason or reported.
 */
import type { TensorSource } from '../../weights/tensor-source.js';
import type { DerivedTensor } from './derived-source.js';
import { SingleFileError } from './errors.js';
import type { KeyMapper } from './key-mapper.js';
import { forwardDerivation } from './transforms.js';

export interface IgnoredKey {
  key: string;
  reason: string;
}

export interface ConvertedKeys {
  /** Diffusers key → how to compute it from the file. */
  tensors: Map<string, DerivedTensor>;
  ignored: IgnoredKey[];
  /** Full file keys under the component prefix that no table covers. */
  unmatched: string[];
}

/** `drop` names keys (without prefix) a family rule leaves out, with the reason. */
export function convertKeys(
  file: TensorSource,
  prefix: string,
  keys: readonly string[],
  mapper: KeyMapper,
  drop?: (key: string) => string | null,
): ConvertedKeys {
  const tensors = new Map<string, DerivedTensor>();
  const sourceOf = new Map<string, string>();
  const out: ConvertedKeys = { tensors, ignored: [], unmatched: [] };
  for (const key of keys) {
    const full = prefix + key;
    const reason = drop?.(key);
    if (reason) {
      out.ignored.push({ key: full, reason });
      continue;
    }
    const mapping = mapper.toDiffusers(key);
    if (!mapping) {
      out.unmatched.push(full);
      continue;
    }
    mapping.diffusers.forEach((name, part) => {
      const earlier = sourceOf.get(name);
      if (earlier)
        throw new SingleFileError(
          `${file.origin}: ${JSON.stringify(earlier)} and ${JSON.stringify(full)} both map to ${JSON.stringify(name)}`,
        );
      sourceOf.set(name, full);
      tensors.set(name, { inputs: [full], derivation: forwardDerivation(mapping.transform, part, mapping.diffusers.length) });
    });
  }
  return out;
}
