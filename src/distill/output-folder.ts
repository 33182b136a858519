/**
 * `tdd distill --out`: the output folder is made (and proven writable with a probe file) before the teacher
 * loads, so a read-only disk, a missing permission or a file in the way is one line naming the path, not a
 * stack trace after minutes of work. A start-up that fails afterwards removes the folders this run made,
 * if they are still empty; nothing that existed before is touched (e.g. a folder given with --resume).
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DistillConfigError } from './config.js';

/** File-system failures a user fixes (permissions, a read-only or full disk, a file in the way). */
const FOLDER_FAILURES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a part of the path exists and is not a folder',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  ENOENT: 'folders and files cannot be created there', // the parent exists but refuses new entries, e.g. /proc
};

function folderError(flag: string, path: string, what: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const reason = FOLDER_FAILURES[code];
  return reason ? new DistillConfigError(`${flag} ${path}: ${what}: ${reason} (${code})`) : (e as Error);
}

export interface PreparedFolder {
  readonly path: string;
  /** Removes the folders this call created, deepest first, where they are (still) empty of files. */
  undo(): void;
}

/**
 * Creates `dir` (and missing parents) and writes and removes a probe file in it. Node's own recursive mkdir
 * loops forever under /proc, so the missing levels are made one at a time.
 */
export function prepareOutputFolder(dir: string, flag = '--out'): PreparedFolder {
  const path = resolve(dir);
  const missing: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && dirname(p) !== p) {
        missing.push(p);
        continue;
      }
      throw folderError(flag, dir, 'cannot use it as the output folder', e);
    }
    if (!isDir) {
      throw new DistillConfigError(
        p === path ? `${flag} ${dir}: exists and is a file, not a folder` : `${flag} ${dir}: ${p} is a file, not a folder`,
      );
    }
    break;
  }
  const created: string[] = [];
  const undo = () => {
    for (const p of created.slice().reverse()) removeIfEmpty(p);
  };
  try {
    for (const p of missing.reverse()) {
      mkdirSync(p);
      created.push(p);
    }
  } catch (e) {
    undo();
    throw folderError(flag, dir, 'cannot create the folder', e);
  }
  const probe = join(path, `.tdd-write-probe-${process.pid}-${Date.now()}`);
  try {
    writeFileSync(probe, 'probe');
  } catch (e) {
    undo();
    throw folderError(flag, dir, 'cannot write in the folder', e);
  } finally {
    rmSync(probe, { force: true });
  }
  return { path, undo };
}

/** Removes `dir` if it holds nothing but (recursively) empty folders. */
function removeIfEmpty(dir: string): void {
  if (!existsSync(dir)) return;
  try {
    for (const name of readdirSync(dir)) {
      const child = join(dir, name);
      if (!statSync(child).isDirectory()) return;
      removeIfEmpty(child);
    }
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // Best effort: the start-up error that called this is the one to report.
  }
}
