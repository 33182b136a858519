import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  EMOJI_STYLES,
  EMOJI_STYLE_WORDS,
  EMOJI_TRAINING_DATA_NOTICE,
  EmojiDataError,
  captionWords,
  emojiCaption,
  emojiDataset,
  emojiPackageDir,
  fnv1a32,
  loadEmojiCatalog,
  splitEmoji,
  subcategoryLabels,
  type EmojiEntry,
} from '../../src/data/emoji/index.js';

const catalog = loadEmojiCatalog();
const withSkinTones = loadEmojiCatalog({ includeSkinTones: true });
const byStyle = (entries: readonly EmojiEntry[], style: string): EmojiEntry[] => entries.filter((e) => e.style === style);

describe('emoji catalogue', () => {
  test('lists every non-obsolete emoji of both styles, with an existing 64 px PNG each', (t) => {
    for (const style of EMOJI_STYLES) {
      const base = byStyle(catalog.entries, style);
      const toned = byStyle(withSkinTones.entries, style);
      t.diagnostic(`${style}: ${base.length} emoji, ${toned.length} with skin tones, skipped ${JSON.stringify(catalog.skipped[style])}`);
      assert.ok(base.length > 1800, `${style}: ${base.length} base emoji`);
      assert.ok(toned.length > 3000, `${style}: ${toned.length} entries with skin tones`);
      for (const e of toned) {
        assert.ok(existsSync(e.imagePath), e.imagePath);
        assert.ok(e.imagePath.endsWith(join('img', style, '64', `${e.id.slice(style.length + 1)}.png`)), e.imagePath);
      }
    }
    assert.equal(new Set(withSkinTones.entries.map((e) => e.id)).size, withSkinTones.entries.length, 'ids are unique');
    assert.equal(withSkinTones.entries.filter((e) => e.skinTone === null).length, catalog.entries.length);
  });

  test('skips the obsolete emoji that emoji.json marks', () => {
    const raw = JSON.parse(readFileSync(join(emojiPackageDir('twitter'), 'emoji.json'), 'utf8')) as {
      unified: string;
      obsoleted_by?: string;
    }[];
    const obsolete = new Set(raw.filter((e) => e.obsoleted_by).map((e) => e.unified));
    assert.ok(obsolete.size > 0);
    assert.equal(catalog.skipped.twitter?.obsolete, obsolete.size);
    assert.ok(withSkinTones.entries.every((e) => !obsolete.has(e.baseUnified)));
    assert.equal(catalog.entries.length, EMOJI_STYLES.length * (raw.length - obsolete.size));
  });

  test('1F34E is the red apple, a fruit, in both styles', () => {
    const apples = catalog.entries.filter((e) => e.unified === '1F34E');
    assert.deepEqual(apples.map((e) => e.id).sort(), ['google/1f34e', 'twitter/1f34e']);
    for (const apple of apples) {
      assert.equal(apple.name, 'RED APPLE');
      assert.equal(apple.category, 'Food & Drink');
      assert.equal(apple.subcategory, 'food-fruit');
      assert.ok(apple.shortNames.includes('apple'));
    }
  });

  test('skin-tone variants keep the base code points and name the tone', () => {
    const santa = withSkinTones.entries.find((e) => e.id === 'twitter/1f385-1f3fb');
    assert.ok(santa);
    assert.equal(santa.baseUnified, '1F385');
    assert.equal(santa.skinTone, '1F3FB');
    assert.match(santa.name, /: light skin tone$/);
  });

  test('a missing package names the npm command; a bad style is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'emoji-missing-'));
    try {
      assert.throws(
        () => loadEmojiCatalog({ resolveFrom: join(dir, 'x.js') }),
        (e: Error) => e instanceof EmojiDataError && /npm i -D emoji-datasource-twitter emoji-datasource-google/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => loadEmojiCatalog({ styles: ['apple' as never] }), /unknown emoji style "apple"/);
    assert.throws(() => loadEmojiCatalog({ styles: [] }), /styles/);
  });
});

describe('emoji captions', () => {
  test('the spec example', () => {
    const apple = catalog.entries.find((e) => e.id === 'twitter/1f34e')!;
    assert.equal(emojiCaption(apple), 'red apple, food and drink, food fruit, twemoji style');
    assert.equal(emojiCaption({ ...apple, style: 'google' }), 'red apple, food and drink, food fruit, noto style');
  });

  test('punctuation inside a field becomes words or spaces', () => {
    assert.equal(captionWords('FAMILY: MAN, BOY'), 'family man boy');
    assert.equal(captionWords('Côte d’Ivoire Flag'), "cote d'ivoire flag");
    assert.equal(captionWords('KEYCAP: *'), 'keycap asterisk');
    assert.equal(captionWords('Food & Drink'), 'food and drink');
    assert.equal(captionWords('St. Barthélemy Flag'), 'st barthelemy flag');
    assert.equal(captionWords('Cocos (Keeling) Islands Flag'), 'cocos keeling islands flag');
  });

  test('every caption is four clean fields ending with its style words', () => {
    for (const e of withSkinTones.entries) {
      const caption = emojiCaption(e);
      assert.match(caption, /^[a-z0-9' ]+(, [a-z0-9' ]+){3}$/, `${e.id}: ${caption}`);
      const fields = caption.split(', ');
      assert.equal(fields[3], EMOJI_STYLE_WORDS[e.style]);
      assert.ok(fields[0].length > 0 && !/ {2}/.test(caption), `${e.id}: ${caption}`);
    }
  });

  test('subcategory labels are sorted, distinct and cover every entry', () => {
    const labels = subcategoryLabels(catalog.entries);
    assert.deepEqual(labels, [...new Set(labels)].sort());
    assert.ok(labels.length > 50, `${labels.length} labels`);
    assert.ok(catalog.entries.every((e) => labels.includes(e.subcategory)));
  });
});

describe('emoji hold-out split', () => {
  test('FNV-1a matches the published test vectors', () => {
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  });

  test('about 10% of the code points, deterministic, order-independent, never split across sides', (t) => {
    const { train, heldOut } = splitEmoji(withSkinTones.entries);
    const heldKeys = new Set(heldOut.map((e) => e.baseUnified));
    const trainKeys = new Set(train.map((e) => e.baseUnified));
    assert.equal([...heldKeys].filter((k) => trainKeys.has(k)).length, 0, 'no code point on both sides');
    const ratio = heldKeys.size / (heldKeys.size + trainKeys.size);
    const base = splitEmoji(catalog.entries);
    t.diagnostic(
      `held out: ${heldKeys.size} of ${heldKeys.size + trainKeys.size} code points (${(100 * ratio).toFixed(1)}%); base entries ${base.train.length} train / ${base.heldOut.length} held out`,
    );
    assert.ok(ratio >= 0.08 && ratio <= 0.12, `ratio ${ratio}`);
    for (const key of heldKeys)
      assert.deepEqual(new Set(base.heldOut.filter((e) => e.baseUnified === key).map((e) => e.style)), new Set(EMOJI_STYLES), key);
    const reversed = splitEmoji([...withSkinTones.entries].reverse());
    assert.deepEqual(new Set(reversed.heldOut.map((e) => e.id)), new Set(heldOut.map((e) => e.id)));
  });
});

describe('emoji dataset', () => {
  const train = emojiDataset({ split: 'train' });
  const heldOut = emojiDataset({ split: 'heldout' });
  const all = emojiDataset({ split: 'all', styles: ['google'] });

  test('splits partition the records; entries line up with records', () => {
    assert.equal(train.records.length + heldOut.records.length, catalog.entries.length);
    const trainIds = new Set(train.records.map((r) => r.id));
    assert.ok(heldOut.records.every((r) => !trainIds.has(r.id)));
    train.records.forEach((r, i) => assert.equal(r.id, train.entries[i].id));
    assert.equal(train.records[0].caption, emojiCaption(train.entries[0]));
    assert.ok(all.records.every((r) => r.id.startsWith('google/')));
    assert.match(train.source, /emoji-datasource-twitter@\d+.*emoji-datasource-google@\d+.*train/);
    assert.throws(() => emojiDataset({ split: 'test' as never }), /unknown emoji split "test"/);
  });

  test('readBytes returns the package PNG', async () => {
    const record = heldOut.records[7];
    const bytes = await record.readBytes();
    assert.deepEqual(bytes, readFileSync(heldOut.entries[7].imagePath));
    assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  });
});

describe('emoji licences', () => {
  test('the notice matches what the installed packages state', () => {
    const dir = emojiPackageDir('twitter');
    assert.match(readFileSync(join(dir, 'LICENSE'), 'utf8'), /Copyright \(c\) 2013 Cal Henderson/);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    assert.match(readme, /Twitter images are available under the \[Creative Commons Attribution 4\.0 license\]/);
    assert.match(readme, /Google\/Noto images, are available under the \[Apache License 2\.0\]/);
    for (const phrase of [
      'Copyright (c) 2013 Cal Henderson',
      'CC-BY 4.0',
      'Apache License 2.0',
      'https://github.com/jdecked/twemoji',
      'https://github.com/googlefonts/noto-emoji',
    ]) {
      assert.ok(EMOJI_TRAINING_DATA_NOTICE.includes(phrase), phrase);
    }
  });
});
