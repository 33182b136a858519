/** One entry point for `--data`: picks the layout from what is on disk. */
import { readdir } from 'node:fs/promises';
import { DatasetError, type DatasetOpenOptions } from './errors.js';
import { isImageFileName, statOrUndefined } from './files.js';
import { openImageFolder } from './image-folder.js';
import type { ImageCaptionDataset } from './types.js';
import { openWebDataset } from './webdataset.js';
import { emojiDataset, type EmojiSplitName } from './emoji/dataset.js';

export type { DatasetOpenOptions } from './errors.js';

const isTar = (name: string): boolean => /\.tar$/i.test(name);

/** `emoji` or `emoji:<split>`: the emoji images bundled with the package (when no such file exists). */
const BUNDLED_EMOJI = /^emoji(?::(train|heldout|all))?$/;

/**
 * `emoji[:split]` → the bundled emoji set (see BUNDLED_EMOJI); a .tar file or a list of them → webdataset; a folder whose top level holds .tar shards (and no images,
 * metadata.jsonl or subfolders; other files such as a README are ignored) → webdataset; any other folder →
 * image folder (metadata.jsonl or .txt sidecars).
 */
export async function openDataset(path: string | readonly string[], options: DatasetOpenOptions = {}): Promise<ImageCaptionDataset> {
  if (typeof path !== 'string') return openWebDataset(path, options);
  const info = await statOrUndefined(path);
  const bundled = BUNDLED_EMOJI.exec(path);
  if (!info && bundled) return emojiDataset({ split: (bundled[1] ?? 'train') as EmojiSplitName });
  if (!info) throw new DatasetError(`${path}: no such file or folder`);
  if (!info.isDirectory()) {
    if (isTar(path)) return openWebDataset(path, options);
    throw new DatasetError(
      `${path}: not a dataset: expected a folder (images with metadata.jsonl or .txt captions, or .tar shards) or a .tar webdataset shard`,
    );
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
