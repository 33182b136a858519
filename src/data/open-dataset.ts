/** One entry point for `--data`: picks the layout from what is on disk. */
import { readdir } from 'node:fs/promises';
import { DatasetError, type DatasetOpenOptions } from './errors.js';
import { isImageFileName, statOrUndefined } from './files.js';
import { openImageFolder } from './image-folder.js';
import type { ImageCaptionDataset } from './types.js';
import { openWebDataset } from './webdataset.js';

export type { DatasetOpenOptions } from './errors.js';

const isTar = (name: string): boolean => /\.tar$/i.test(name);

/**
 * A .tar file or a list of them → webdataset; a folder whose top level holds .tar shards (and no images,
 * metadata.jsonl or subfolders; other files such as a README are ignored) → webdataset; any other folder →
 * image folder (metadata.jsonl or .txt sidecars).
 */
export async function openDataset(path: string | readonly string[], options: DatasetOpenOptions = {}): Promise<ImageCaptionDataset> {
  if (typeof path !== 'string') return openWebDataset(path, options);
  const info = await statOrUndefined(path);
  if (!info) throw new DatasetError(`${path}: no such file or folder`);
  if (!info.isDirectory()) {
    if (isTar(path)) return openWebDataset(path, options);
    throw new DatasetError(`${path}: not a dataset: expected a folder (images with metadata.jsonl or .txt captions, or .tar shards) or a .tar webdataset shard`);
  }
  const entries = (await readdir(path, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const tars = entries.filter((e) => !e.isDirectory() && isTar(e.name));
  if (tars.length === 0) return openImageFolder(path, options);
  const folderish = entries.filter((e) => e.isDirectory() || isImageFileName(e.name) || e.name === 'metadata.jsonl');
  if (folderish.length > 0) {
    throw new DatasetError(
      `${path}: holds both .tar shards (${tars[0].name}, …) and image-folder content (${folderish[0].name}, …); ` +
        'keep webdataset shards and image folders in separate folders',
    );
  }
  return openWebDataset(path, options);
}
