import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildCaptionVocabulary, captionBpeWords, emojiDataset, writeCaptionVocabulary } from '../../src/data/emoji/index.js';
import { ClipTokenizer, END_OF_WORD, fromByteChars } from '../../src/tokenizer/index.js';

const dir = mkdtempSync(join(tmpdir(), 'emoji-vocab-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const trainCaptions = emojiDataset({ split: 'train' }).records.map((r) => r.caption);
const heldOutCaptions = emojiDataset({ split: 'heldout' }).records.map((r) => r.caption);
const vocabulary = buildCaptionVocabulary(trainCaptions);
writeCaptionVocabulary(vocabulary, dir, { modelMaxLength: 32 });
const tokenizer = ClipTokenizer.fromDirectory(dir);
const withoutSpaces = (s: string): string => s.replace(/\s+/g, '');

describe('caption vocabulary for the CLIP tokenizer', () => {
  test('every word of every training caption is one token', (t) => {
    t.diagnostic(
      `train split: ${trainCaptions.length} captions, ${vocabulary.words.length} distinct words, vocabulary ${tokenizer.vocabSize}, ${vocabulary.merges.length} merges`,
    );
    for (const caption of trainCaptions) {
      const words = captionBpeWords(caption);
      assert.deepEqual(
        tokenizer.tokenize(caption),
        words.map((w) => w + END_OF_WORD),
        caption,
      );
      const ids = tokenizer.encode(caption);
      assert.ok(!ids.includes(tokenizer.unkTokenId), caption);
      assert.equal(tokenizer.decode(ids), words.map(fromByteChars).join(' '));
    }
  });

  test('the folder is a CLIP tokenizer: specials last, bytes first, settings read back', () => {
    assert.equal(tokenizer.vocabSize, vocabulary.vocab.size);
    assert.equal(tokenizer.bosTokenId, vocabulary.vocab.size - 2);
    assert.equal(tokenizer.eosTokenId, vocabulary.vocab.size - 1);
    assert.equal(tokenizer.padTokenId, tokenizer.eosTokenId);
    assert.equal(tokenizer.modelMaxLength, 32);
    assert.equal(tokenizer.tokenToId('!'), 0);
    assert.equal(tokenizer.tokenToId('!</w>'), 256);
    const row = tokenizer.encodeForModel('red apple, noto style', { maxLength: 32 });
    assert.deepEqual(row.inputIds.slice(0, 7), [tokenizer.bosTokenId, ...tokenizer.encode('red apple, noto style'), tokenizer.eosTokenId]);
    assert.equal(row.tokenCount, 5);
  });

  test('unseen words fall back to smaller pieces, never to the unknown token', () => {
    for (const text of ['zyxwvq', 'café', 'snowboarding unicorn', 'ü 7 ☃']) {
      const tokens = tokenizer.tokenize(text);
      const ids = tokenizer.encode(text);
      assert.ok(!ids.includes(tokenizer.unkTokenId), text);
      assert.equal(withoutSpaces(tokenizer.decode(ids)), withoutSpaces(text));
      if (text === 'zyxwvq') assert.ok(tokens.length > 1, tokens.join(' '));
    }
    for (const caption of heldOutCaptions) {
      const ids = tokenizer.encode(caption);
      assert.ok(!ids.includes(tokenizer.unkTokenId), caption);
      assert.equal(withoutSpaces(tokenizer.decode(ids)), withoutSpaces(caption));
    }
    const unseen = heldOutCaptions.flatMap(captionBpeWords).filter((w) => !vocabulary.words.includes(w));
    assert.ok(unseen.length > 0, 'some held-out words are new');
    assert.ok(unseen.some((w) => tokenizer.tokenize(fromByteChars(w)).length > 1));
  });

  test('the same captions in another order give the same files', () => {
    const again = buildCaptionVocabulary([...trainCaptions].reverse());
    assert.deepEqual(again.merges, vocabulary.merges);
    assert.deepEqual([...again.vocab], [...vocabulary.vocab]);
  });

  test('a small corpus: overlapping words each become one token', () => {
    const small = buildCaptionVocabulary(['ab abc bc', 'cab, abcab', 'b']);
    const smallDir = join(dir, 'small');
    writeCaptionVocabulary(small, smallDir);
    const tok = ClipTokenizer.fromDirectory(smallDir);
    for (const word of ['ab', 'abc', 'bc', 'cab', 'abcab', 'b', ',']) assert.deepEqual(tok.tokenize(word), [word + END_OF_WORD]);
    assert.ok(tok.tokenize('ca').length === 2);
  });
});
