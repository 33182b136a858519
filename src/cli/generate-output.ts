// Where `tdd generate` writes: --out FILE.png for one image, else a folder (default ./outputs/) with
// `<timestamp>-<seed>-<index>.png` names that never replace an existing file. Every write is atomic.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import type { GeneratedImage } from '../pipelines/image.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { UsageError } from './errors.js';

export const DEFAULT_OUTPUT_DIR = 'outputs';

export type OutputPlan = { kind: 'file'; path: string } | { kind: 'dir'; path: string };

/** An existing folder or a name without extension is a folder; a .png name is one file. */
export function planOutput(out: string | undefined, imageCount: number, overwrite = false): OutputPlan {
  if (out === undefined) return { kind: 'dir', path: DEFAULT_OUTPUT_DIR };
  if (existsSync(out) && statSync(out).isDirectory()) return { kind: 'dir', path: out };
  const ext = extname(out).toLowerCase();
  if (ext === '') return { kind: 'dir', path: out };
  if (ext !== '.png') throw new UsageError(`--out: only PNG output is supported (got "${out}")`);
  if (imageCount > 1) throw new UsageError(`--out names one file but this run makes ${imageCount} images; give a folder instead`);
  // Checked before the model loads, so a long run never ends in a refusal; the write itself stays atomic.
  if (existsSync(out) && !overwrite) throw new UsageError(`--out: ${out} already exists; pass --overwrite to replace it`);
  return { kind: 'file', path: out };
}

/** Local time as YYYYMMDD-HHMMSS (sorts by time, safe in every file system). */
export function fileTimestamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/** File-system failures a user fixes (permissions, a read-only or full disk): one line, not a stack trace. */
const WRITE_FAILURES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  ENAMETOOLONG: 'name too long',
  EEXIST: 'a part of the path exists and is not a folder', // mkdir -p through a file
  ENOENT: 'files cannot be created there', // the folder exists (just made) but refuses new files, e.g. /proc
};

/** Runs a write of `path`; a user-fixable file-system error becomes a UsageError naming the path and the reason. */
function writing<T>(path: string, work: () => T): T {
  try {
    return work();
  } catch (e) {
    const reason = WRITE_FAILURES[(e as NodeJS.ErrnoException).code ?? ''];
    if (reason) throw new UsageError(`cannot write ${path}: ${reason} (${(e as NodeJS.ErrnoException).code})`);
    throw e;
  }
}

/** The image paths of a run; creates the folder. In a folder, an existing name gets a `-2`, `-3`... suffix. */
export function outputPaths(plan: OutputPlan, count: number, seed: bigint, date: Date): string[] {
  if (plan.kind === 'file') {
    writing(plan.path, () => mkdirSync(dirname(plan.path), { recursive: true }));
    return [plan.path];
  }
  writing(plan.path, () => mkdirSync(plan.path, { recursive: true }));
  const stem = `${fileTimestamp(date)}-${seed}`;
  return Array.from({ length: count }, (_, i) => {
    let path = join(plan.path, `${stem}-${i}.png`);
    for (let n = 2; existsSync(path) || existsSync(sidecarPath(path)); n++) path = join(plan.path, `${stem}-${i}-${n}.png`);
    return path;
  });
}

/** `image.png` → `image.json`. */
export function sidecarPath(pngPath: string): string {
  return pngPath.replace(/\.png$/i, '') + '.json';
}

export interface ImageOutput {
  image: GeneratedImage;
  path: string;
  /** A1111 `parameters` text for the PNG. */
  parameters: string;
  /** Written as the JSON sidecar when given. */
  sidecar?: Record<string, unknown>;
}

export async function writeImages(outputs: readonly ImageOutput[]): Promise<void> {
  for (const o of outputs) {
    const png = await o.image.toPng({ parameters: o.parameters });
    writing(o.path, () => writeFileAtomically(o.path, png));
    if (o.sidecar)
      writing(sidecarPath(o.path), () => writeFileAtomically(sidecarPath(o.path), Buffer.from(`${JSON.stringify(o.sidecar, null, 2)}\n`)));
  }
}
