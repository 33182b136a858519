/**
 * A folder of images with captions: the Hugging Face imagefolder layout (metadata.jsonl at the top) or
 * kohya-style .txt sidecars (cat.png + cat.txt, in any subfolder). Images are read only when used.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { DatasetError, listFirst } from './errors.js';
import { compareStrings, isImageFileName, listFilesRecursively, statOrUndefined } from './files.js';
import { parseMetadataJsonl } from './metadata-jsonl.js';
import type { ImageCaptionDataset, ImageCaptionRecord } from './types.js';

export interface ImageFolderOptions {
  /** Images without a caption get '' instead of failing the open. */
  allowMissingCaptions?: boolean;
}

const METADATA_FILE = 'metadata.jsonl';

function fileRecord(dir: string, id: string, caption: string): ImageCaptionRecord {
  const path = join(dir, ...id.split('/'));
  return Object.freeze({ id, caption, readBytes: () => readFile(path) });
}

/** A metadata file_name as a '/'-joined path inside the folder, or an error naming the line. */
function folderRelativeId(fileName: string, where: string): string {
  const slashed = fileName.replace(/\\/g, '/');
  if (isAbsolute(fileName) || slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) {
    throw new DatasetError(`${where}: file_name "${fileName}" is absolute; it must be relative to the folder`);
  }
  const normal = posix.normalize(slashed);
  if (normal === '..' || normal.startsWith('../') || normal === '.' || normal.endsWith('/')) {
    throw new DatasetError(`${where}: file_name "${fileName}" points outside the folder (it must stay inside it)`);
  }
  return normal.replace(/^\.\//, '');
}

function missingCaptionsError(dir: string, ids: readonly string[], why: string): DatasetError {
  return new DatasetError(
    `${dir}: ${ids.length} image(s) have no caption (${why}): ${listFirst(ids)}; add captions or pass allowMissingCaptions`,
  );
}

async function fromMetadata(dir: string, images: readonly string[], allowMissing: boolean): Promise<ImageCaptionRecord[]> {
  const metadataPath = join(dir, METADATA_FILE);
  const { rows } = parseMetadataJsonl(await readFile(metadataPath, 'utf8'), metadataPath, allowMissing);
  const onDisk = new Set(images);
  const firstLine = new Map<string, number>();
  const records: ImageCaptionRecord[] = [];
  for (const row of rows) {
    const where = `${metadataPath}:${row.line}`;
    const id = folderRelativeId(row.fileName, where);
    if (!isImageFileName(id)) throw new DatasetError(`${where}: file_name "${row.fileName}" is not a png/jpg/jpeg/webp image`);
    const seen = firstLine.get(id);
    if (seen !== undefined) throw new DatasetError(`${where}: "${id}" is listed twice (first at line ${seen})`);
    firstLine.set(id, row.line);
    if (!onDisk.has(id) && !(await statOrUndefined(join(dir, id)))?.isFile()) {
      throw new DatasetError(`${where}: file_name "${row.fileName}" does not exist in ${dir}`);
    }
    records.push(fileRecord(dir, id, row.caption ?? ''));
  }
  const unlisted = images.filter((id) => !firstLine.has(id));
  if (unlisted.length > 0 && !allowMissing) throw missingCaptionsError(dir, unlisted, `not listed in ${METADATA_FILE}`);
  for (const id of unlisted) records.push(fileRecord(dir, id, ''));
  return records;
}

async function fromSidecars(
  dir: string,
  files: readonly string[],
  images: readonly string[],
  allowMissing: boolean,
): Promise<ImageCaptionRecord[]> {
  // Sidecar lookup ignores the case of ".txt" (cat.png + cat.TXT), not of the stem.
  const sidecars = new Map<string, string>();
  for (const f of files) if (/\.txt$/i.test(f)) sidecars.set(f.slice(0, -4), f);
  const missing: string[] = [];
  const records: ImageCaptionRecord[] = [];
  for (const id of images) {
    const sidecar = sidecars.get(id.slice(0, id.lastIndexOf('.')));
    if (sidecar === undefined) missing.push(id);
    // Editors leave trailing newlines; surrounding whitespace never belongs to a caption.
    const caption = sidecar === undefined ? '' : (await readFile(join(dir, sidecar), 'utf8')).trim();
    records.push(fileRecord(dir, id, caption));
  }
  if (missing.length > 0 && !allowMissing) throw missingCaptionsError(dir, missing, 'no .txt file beside it');
  return records;
}

/** Opens an image folder; records are sorted by id (the '/'-joined path inside the folder). */
export async function openImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<ImageCaptionDataset> {
  const root = resolve(dir);
  const info = await statOrUndefined(root);
  if (!info) throw new DatasetError(`${dir}: no such folder`);
  if (!info.isDirectory()) throw new DatasetError(`${dir}: not a folder`);
  const files = await listFilesRecursively(root);
  const images = files.filter(isImageFileName);
  if (images.length === 0) throw new DatasetError(`${dir}: no images found (looked for png, jpg, jpeg, webp in all subfolders)`);
  const allowMissing = options.allowMissingCaptions ?? false;
  const records = files.includes(METADATA_FILE)
    ? await fromMetadata(root, images, allowMissing)
    : await fromSidecars(root, files, images, allowMissing);
  records.sort((a, b) => compareStrings(a.id, b.id));
  return { source: dir, records };
}
