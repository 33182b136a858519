/**
 * The emoji catalogue: every emoji of the emoji-datasource packages (iamcal/emoji-data) that has a 64 px image
 * in a given style (Twemoji = "twitter", Noto = "google"). Both packages ship the same emoji.json; each brings
 * only its own style's images. The packages are devDependencies: only training and evaluation need them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DatasetError } from '../errors.js';

export type EmojiStyle = 'twitter' | 'google';
export const EMOJI_STYLES: readonly EmojiStyle[] = ['twitter', 'google'];

/** Any problem with the emoji data: missing packages, a malformed emoji.json, an unreadable image. */
export class EmojiDataError extends DatasetError {
  override name = 'EmojiDataError';
}

export interface EmojiEntry {
  /** `<style>/<image name without .png>`, e.g. "twitter/1f34e" or "google/1f385-1f3fb". */
  readonly id: string;
  /** Code points of this image, e.g. "1F34E" or "1F385-1F3FB" for a skin-tone variant. */
  readonly unified: string;
  /** Code points of the emoji without skin tone: the hold-out split keys on it. */
  readonly baseUnified: string;
  /** As emoji.json spells it ("RED APPLE", "Andorra Flag"), plus ": <tone>" for a skin-tone variant. */
  readonly name: string;
  readonly shortNames: readonly string[];
  /** e.g. "Food & Drink". */
  readonly category: string;
  /** e.g. "food-fruit". */
  readonly subcategory: string;
  readonly style: EmojiStyle;
  /** Absolute path of the 64×64 RGBA PNG. */
  readonly imagePath: string;
  /** emoji.json sort_order (the Unicode emoji ordering). */
  readonly sortOrder: number;
  /** Skin-tone modifier code points ("1F3FB", "1F3FB-1F3FF"), null for the base emoji. */
  readonly skinTone: string | null;
}

export interface EmojiSkipCounts {
  /** Entries with `obsoleted_by` (a newer emoji replaces them, e.g. RUNNER → MAN RUNNING). */
  obsolete: number;
  /** emoji.json says the style has no image (has_img_<style> false). */
  noImageInStyle: number;
  /** emoji.json promises an image but the PNG is not in the package. */
  missingFile: number;
}

export interface EmojiCatalog {
  /** Style by style (in the order asked), each in emoji.json order (base emoji followed by its skin tones). */
  readonly entries: readonly EmojiEntry[];
  /** Per style asked for. */
  readonly skipped: Readonly<Partial<Record<EmojiStyle, EmojiSkipCounts>>>;
  /** Package name@version per style, for dataset descriptions. */
  readonly packages: Readonly<Partial<Record<EmojiStyle, string>>>;
}

export interface LoadEmojiCatalogOptions {
  styles?: readonly EmojiStyle[];
  /** Add every skin-tone variant as its own entry (default false: base emoji only, ~1.9k per style). */
  includeSkinTones?: boolean;
  /** Where package resolution starts (a file or folder path); default: this module. Tests use it. */
  resolveFrom?: string;
}

const PACKAGE_OF: Record<EmojiStyle, string> = { twitter: 'emoji-datasource-twitter', google: 'emoji-datasource-google' };
const IMAGE_SIZE_FOLDER = '64';

/** CLDR's names of the five Fitzpatrick modifiers. */
const SKIN_TONE_NAMES: Readonly<Record<string, string>> = {
  '1F3FB': 'light skin tone',
  '1F3FC': 'medium-light skin tone',
  '1F3FD': 'medium skin tone',
  '1F3FE': 'medium-dark skin tone',
  '1F3FF': 'dark skin tone',
};

interface RawImageFields {
  unified: string;
  image: string;
  obsoleted_by?: string;
  has_img_twitter?: boolean;
  has_img_google?: boolean;
}

interface RawEmoji extends RawImageFields {
  name: string | null;
  short_names?: string[];
  category: string;
  subcategory: string;
  sort_order: number;
  skin_variations?: Record<string, RawImageFields>;
}

/** The folder of a style's package, or an error saying how to install it. */
export function emojiPackageDir(style: EmojiStyle, resolveFrom?: string): string {
  const pkg = PACKAGE_OF[style];
  if (!pkg) throw new EmojiDataError(`unknown emoji style ${JSON.stringify(style)} (expected one of ${EMOJI_STYLES.join(', ')})`);
  const require = createRequire(resolveFrom ?? import.meta.url);
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new EmojiDataError(
      `the emoji training data needs the package ${pkg}, which is not installed; ` +
        'run `npm i -D emoji-datasource-twitter emoji-datasource-google` in the project folder',
    );
  }
}

function readEmojiJson(dir: string): RawEmoji[] {
  const path = join(dir, 'emoji.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new EmojiDataError(`${path}: cannot read the emoji list (${(e as Error).message})`);
  }
  if (!Array.isArray(raw)) throw new EmojiDataError(`${path}: expected a JSON array of emoji`);
  raw.forEach((e: Partial<RawEmoji>, i) => {
    const ok =
      typeof e?.unified === 'string' && typeof e.image === 'string' && typeof e.category === 'string' && typeof e.subcategory === 'string';
    if (!ok) throw new EmojiDataError(`${path}: entry ${i} lacks unified/image/category/subcategory strings`);
  });
  return raw as RawEmoji[];
}

function skinToneName(tone: string): string {
  const parts = tone.split('-').map((cp) => SKIN_TONE_NAMES[cp] ?? cp);
  // Two people of the same tone are named once, as CLDR does.
  return parts.length === 2 && parts[0] === parts[1] ? parts[0] : parts.join(', ');
}

/** Counts why an image is unusable, or returns its path. */
function usableImage(fields: RawImageFields, style: EmojiStyle, imageDir: string, skipped: EmojiSkipCounts): string | null {
  if (fields.obsoleted_by) {
    skipped.obsolete++;
    return null;
  }
  if (fields[`has_img_${style}`] !== true) {
    skipped.noImageInStyle++;
    return null;
  }
  const path = join(imageDir, fields.image);
  if (!existsSync(path)) {
    skipped.missingFile++;
    return null;
  }
  return path;
}

function styleEntries(
  style: EmojiStyle,
  includeSkinTones: boolean,
  resolveFrom: string | undefined,
  skipped: EmojiSkipCounts,
): EmojiEntry[] {
  const dir = emojiPackageDir(style, resolveFrom);
  const imageDir = join(dir, 'img', style, IMAGE_SIZE_FOLDER);
  const entries: EmojiEntry[] = [];
  for (const raw of readEmojiJson(dir)) {
    const name = raw.name ?? raw.short_names?.[0] ?? raw.unified;
    const common = {
      baseUnified: raw.unified,
      shortNames: raw.short_names ?? [],
      category: raw.category,
      subcategory: raw.subcategory,
      style,
      sortOrder: raw.sort_order,
    };
    const variants: [RawImageFields, string | null][] = [[raw, null]];
    // A variant of an obsolete emoji is obsolete too, whatever its own fields say.
    if (includeSkinTones && !raw.obsoleted_by) for (const [tone, v] of Object.entries(raw.skin_variations ?? {})) variants.push([v, tone]);
    for (const [fields, tone] of variants) {
      const imagePath = usableImage(fields, style, imageDir, skipped);
      if (imagePath === null) continue;
      const id = `${style}/${fields.image.replace(/\.png$/i, '')}`;
      entries.push({
        ...common,
        id,
        unified: fields.unified,
        name: tone ? `${name}: ${skinToneName(tone)}` : name,
        imagePath,
        skinTone: tone,
      });
    }
  }
  return entries;
}

function packageLabel(style: EmojiStyle, resolveFrom: string | undefined): string {
  const manifest = JSON.parse(readFileSync(join(emojiPackageDir(style, resolveFrom), 'package.json'), 'utf8')) as { version?: string };
  return `${PACKAGE_OF[style]}@${manifest.version ?? '?'}`;
}

/** Reads emoji.json of each style's package and lists the emoji whose 64 px PNG is there. */
export function loadEmojiCatalog({
  styles = EMOJI_STYLES,
  includeSkinTones = false,
  resolveFrom,
}: LoadEmojiCatalogOptions = {}): EmojiCatalog {
  if (styles.length === 0) throw new EmojiDataError('loadEmojiCatalog: `styles` is empty; pass at least one of ' + EMOJI_STYLES.join(', '));
  const entries: EmojiEntry[] = [];
  const skipped: Partial<Record<EmojiStyle, EmojiSkipCounts>> = {};
  const packages: Partial<Record<EmojiStyle, string>> = {};
  for (const style of new Set(styles)) {
    const counts: EmojiSkipCounts = { obsolete: 0, noImageInStyle: 0, missingFile: 0 };
    entries.push(...styleEntries(style, includeSkinTones, resolveFrom, counts));
    skipped[style] = counts;
    packages[style] = packageLabel(style, resolveFrom);
  }
  return { entries, skipped, packages };
}
