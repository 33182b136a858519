// Access to ../shared (golden data and fixtures), which CI places beside the clone.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const sharedDir = process.env.TDD_SHARED_DIR ?? resolve(repoRoot, '../shared');

export function sharedPath(...parts: string[]): string {
  return resolve(sharedDir, ...parts);
}

const jsonCache = new Map<string, unknown>();

/** Parses a golden/fixture JSON file once; "NaN"/"Infinity" strings stay strings (see toNumber). */
export function loadSharedJson<T = any>(...parts: string[]): T {
  const path = sharedPath(...parts);
  let value = jsonCache.get(path);
  if (value === undefined) {
    value = JSON.parse(readFileSync(path, 'utf8'));
    jsonCache.set(path, value);
  }
  return value as T;
}

/** Golden files write non-finite floats as strings. */
export function toNumber(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new Error(`not a golden number: ${JSON.stringify(v)}`);
}

export function toFloat32Array(values: (number | string)[]): Float32Array {
  return Float32Array.from(values, toNumber);
}
