/**
 * Captions for the emoji: "<name>, <category>, <subcategory>, <style words>", all lower case, e.g.
 * "red apple, food and drink, food fruit, twemoji style". The commas separate the fields only: commas, colons
 * and hyphens inside a field become spaces ("FAMILY: MAN, BOY" → "family man boy"), so a caption splits back
 * into its four fields. Accents are folded to ASCII ("Åland" → "aland"), which keeps the tokenizer's
 * vocabulary to plain letters; the emoji names themselves are kept whole (no words dropped), since the name is
 * what a user types.
 */
import type { EmojiEntry, EmojiStyle } from './catalog.js';

/** The words that name each image style in captions (the user's prompt switches style with them). */
export const EMOJI_STYLE_WORDS: Readonly<Record<EmojiStyle, string>> = { twitter: 'twemoji style', google: 'noto style' };

/** Symbols that carry meaning in a name become words; all other punctuation becomes a space. */
const SYMBOL_WORDS: Readonly<Record<string, string>> = { '&': 'and', '*': 'asterisk', '#': 'hash' };

/**
 * A name, category or subcategory as caption words: lower case, accents folded, typographic apostrophes
 * made ASCII (kept: "rescue worker's helmet"), other punctuation (- _ : , . ( )) as spaces.
 */
export function captionWords(text: string): string {
  const folded = text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[\u2018\u2019]/g, "'")
    .toLowerCase();
  let out = '';
  for (const ch of folded) {
    if (/[a-z0-9']/.test(ch)) out += ch;
    else out += SYMBOL_WORDS[ch] !== undefined ? ` ${SYMBOL_WORDS[ch]} ` : ' ';
  }
  return out
    .split(/\s+/)
    .filter((w) => w.length > 0 && w !== "'")
    .join(' ');
}

/** The caption of one emoji image. */
export function emojiCaption(entry: Pick<EmojiEntry, 'name' | 'category' | 'subcategory' | 'style'>): string {
  return [captionWords(entry.name), captionWords(entry.category), captionWords(entry.subcategory), EMOJI_STYLE_WORDS[entry.style]].join(
    ', ',
  );
}

/**
 * The class an evaluation classifier predicts: the emoji.json subcategory ("food-fruit"), which is unique
 * across categories and fine enough to tell a fruit from a vegetable, coarse enough to have several members.
 */
export function subcategoryLabel(entry: Pick<EmojiEntry, 'subcategory'>): string {
  return entry.subcategory;
}

/** The distinct classes of `entries`, sorted: index i is class i of a classifier. */
export function subcategoryLabels(entries: readonly Pick<EmojiEntry, 'subcategory'>[]): string[] {
  return [...new Set(entries.map(subcategoryLabel))].sort();
}
