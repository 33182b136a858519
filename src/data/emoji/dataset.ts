/**
 * The emoji packages as an ImageCaptionDataset: records carry the 64 px PNG bytes (so generic training code
 * can decode them and cache latents by content hash) and the caption of captions.ts. `entries` lines up with
 * `records` for code that needs more than a caption (evaluation by subcategory, the hold-out names).
 */
import { readFile } from 'node:fs/promises';
import type { ImageCaptionDataset, ImageCaptionRecord } from '../types.js';
import { EMOJI_STYLES, EmojiDataError, loadEmojiCatalog, type EmojiCatalog, type EmojiEntry, type EmojiStyle } from './catalog.js';
import { emojiCaption } from './captions.js';
import { splitEmoji } from './split.js';

export type EmojiSplitName = 'train' | 'heldout' | 'all';
export const EMOJI_SPLIT_NAMES: readonly EmojiSplitName[] = ['train', 'heldout', 'all'];

export interface EmojiDatasetOptions {
  /** Default 'train'. */
  split?: EmojiSplitName;
  /** Default both styles. */
  styles?: readonly EmojiStyle[];
  /** Default false (see LoadEmojiCatalogOptions). */
  includeSkinTones?: boolean;
  /** Where the emoji packages are resolved from (tests); default this module. */
  resolveFrom?: string;
}

export interface EmojiDataset extends ImageCaptionDataset {
  /** entries[i] is the emoji of records[i]. */
  readonly entries: readonly EmojiEntry[];
  readonly catalog: EmojiCatalog;
  readonly split: EmojiSplitName;
}

/** The entries of one split, in catalogue order. */
export function emojiEntries({ split = 'train', styles = EMOJI_STYLES, includeSkinTones = false, resolveFrom }: EmojiDatasetOptions = {}): {
  entries: EmojiEntry[];
  catalog: EmojiCatalog;
} {
  if (!EMOJI_SPLIT_NAMES.includes(split))
    throw new EmojiDataError(`unknown emoji split ${JSON.stringify(split)} (expected ${EMOJI_SPLIT_NAMES.join(', ')})`);
  const catalog = loadEmojiCatalog({ styles, includeSkinTones, resolveFrom });
  if (split === 'all') return { entries: [...catalog.entries], catalog };
  const { train, heldOut } = splitEmoji(catalog.entries);
  return { entries: split === 'train' ? train : heldOut, catalog };
}

function emojiRecord(entry: EmojiEntry): ImageCaptionRecord {
  return {
    id: entry.id,
    caption: emojiCaption(entry),
    async readBytes() {
      try {
        return await readFile(entry.imagePath);
      } catch (e) {
        throw new EmojiDataError(`${entry.id}: cannot read ${entry.imagePath} (${(e as Error).message})`);
      }
    },
  };
}

/** The emoji images of a split with their captions. */
export function emojiDataset(options: EmojiDatasetOptions = {}): EmojiDataset {
  const split = options.split ?? 'train';
  const { entries, catalog } = emojiEntries({ ...options, split });
  const source = `${Object.values(catalog.packages).join(' + ')} (${split} split${options.includeSkinTones ? ', with skin tones' : ''})`;
  return { source, records: entries.map(emojiRecord), entries, catalog, split };
}
