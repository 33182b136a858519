/** Directory walking and the image extensions every dataset layout shares. */
import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

/** In webdataset's order of preference when a sample has several. */
export const IMAGE_EXTENSIONS: readonly string[] = ['jpg', 'jpeg', 'png', 'webp'];

/** Lower-case extension without the dot ('' when none). */
export function extensionOf(name: string): string {
  return extname(name).slice(1).toLowerCase();
}

export function isImageFileName(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extensionOf(name));
}

/** Code-unit order: the same on every machine and locale, unlike localeCompare. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Files under `dir` as '/'-joined relative paths, sorted. Dotfiles and dot-folders are skipped (.DS_Store,
 * macOS "._cat.png" resource forks that look like images but are not); symlinked files are followed,
 * symlinked folders are not (no cycles).
 */
export async function listFilesRecursively(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(dir, relative), { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile()) out.push(rel);
      else if (entry.isSymbolicLink() && (await stat(join(dir, rel)).catch(() => undefined))?.isFile()) out.push(rel);
    }
  };
  await walk('');
  return out.sort(compareStrings);
}

/** stat that answers undefined for a missing path instead of throwing. */
export async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}
