/**
 * The fixed hold-out split: about 10% of the emoji never seen in training, for evaluating generalisation to
 * unseen names. The side is a hash of the base code points, so both styles and every skin tone of an emoji
 * fall on the same side, and the split never changes when entries are added, removed or reordered.
 */
import type { EmojiEntry } from './catalog.js';

/** One in HELD_OUT_MODULUS emoji (by hash) is held out. */
export const HELD_OUT_MODULUS = 10;

/** 32-bit FNV-1a over the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Whether the emoji with these base code points ("1F34E", as emoji.json spells them) is held out. */
export function isHeldOutEmoji(baseUnified: string): boolean {
  return fnv1a32(baseUnified.toUpperCase()) % HELD_OUT_MODULUS === 0;
}

export interface EmojiSplit<T> {
  train: T[];
  heldOut: T[];
}

/** Splits entries into training and held-out ones, each in the input order. */
export function splitEmoji<T extends Pick<EmojiEntry, 'baseUnified'>>(entries: readonly T[]): EmojiSplit<T> {
  const split: EmojiSplit<T> = { train: [], heldOut: [] };
  for (const entry of entries) (isHeldOutEmoji(entry.baseUnified) ? split.heldOut : split.train).push(entry);
  return split;
}
