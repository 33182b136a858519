import { statSync } from 'node:fs';

/** Whether `path` is a regular file (following links); false when it is missing or cannot be read. */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
