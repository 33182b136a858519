import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  basicClean,
  BytePairEncoder,
  byteCharsInVocabOrder,
  ClipTokenizer,
  parseMerges,
  preTokenize,
  readVocab,
  TokenizerError,
} from '../../src/tokenizer/index.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { fixture } from '../helpers/model-parity.js';
import { loadSharedJson } from '../helpers/shared.js';

interface TokenizerCase {
  text: string;
  bpe_tokens: string[];
  ids_unpadded: number[];
  input_ids: number[];
  n_tokens_before_truncation: number;
}

const cases = loadSharedJson<{ cases: TokenizerCase[] }>('fixtures', 'tokenizer-cases.json').cases;
const sd = ClipTokenizer.fromDirectory(fixture('tiny-sd', 'tokenizer'));
const sdxl2 = ClipTokenizer.fromDirectory(fixture('tiny-sdxl', 'tokenizer_2'));
const longCase = cases.find((c) => c.n_tokens_before_truncation > 75)!;

/** Rows of a [2, 77] int64 reference tensor. */
function referenceIds(file: string, name: string): number[][] {
  const ref = SafetensorsFile.open(fixture(file));
  try {
    const flat = Array.from(ref.int64(name), Number);
    return [flat.slice(0, 77), flat.slice(77)];
  } finally {
    ref.close();
  }
}

describe('tokenizer-cases.json (transformers slow CLIPTokenizer, no ftfy)', () => {
  test('15 cases, the long one truncated', () => {
    assert.equal(cases.length, 15);
    assert.equal(longCase.n_tokens_before_truncation, 144);
  });
  for (const c of cases) {
    test(`case ${JSON.stringify(c.text.length > 40 ? `${c.text.slice(0, 40)}…` : c.text)}`, () => {
      assert.deepEqual(sd.tokenize(c.text), c.bpe_tokens, 'bpe_tokens');
      assert.deepEqual(sd.encode(c.text), c.ids_unpadded, 'ids_unpadded');
      const model = sd.encodeForModel(c.text);
      assert.deepEqual(model.inputIds, c.input_ids, 'input_ids');
      assert.equal(model.tokenCount, c.n_tokens_before_truncation, 'n_tokens_before_truncation');
      assert.equal(model.truncated, c.n_tokens_before_truncation > 75, 'truncated');
    });
  }
});

describe('special tokens and folders', () => {
  test('tiny-sd tokenizer: ids from vocab.json, pad = <|endoftext|>', () => {
    assert.deepEqual(
      [sd.bosTokenId, sd.eosTokenId, sd.unkTokenId, sd.padTokenId, sd.modelMaxLength, sd.vocabSize],
      [998, 999, 999, 999, 77, 1000],
    );
  });

  test('tiny-sdxl tokenizer_2 pads with "!" (id 0), given as an AddedToken object', () => {
    assert.deepEqual([sdxl2.bosTokenId, sdxl2.eosTokenId, sdxl2.padTokenId], [998, 999, 0]);
    const ids = sdxl2.encodeForModel('a photo of a cat').inputIds;
    assert.deepEqual(ids.slice(0, 7), sd.encodeForModel('a photo of a cat').inputIds.slice(0, 7));
    assert.deepEqual(ids.slice(7), new Array(70).fill(0));
  });

  test('the reference input ids of the text encoders (tiny-sd te.*, tiny-sdxl te1.*, te2.*)', () => {
    const prompts = ['a photo of a cat', ''];
    assert.deepEqual(sd.encodeBatchForModel(prompts).inputIds, referenceIds('tiny-sd-reference.safetensors', 'te.in.input_ids'));
    const sdxl1 = ClipTokenizer.fromDirectory(fixture('tiny-sdxl', 'tokenizer'));
    assert.deepEqual(sdxl1.encodeBatchForModel(prompts).inputIds, referenceIds('tiny-sdxl-reference.safetensors', 'te1.in.input_ids'));
    assert.deepEqual(sdxl2.encodeBatchForModel(prompts).inputIds, referenceIds('tiny-sdxl-reference.safetensors', 'te2.in.input_ids'));
  });

  test('special tokens in the text are split out first and stay whole', () => {
    assert.deepEqual(sd.tokenize('a<|endoftext|>cat'), ['a</w>', '<|endoftext|>', 'cat</w>']);
    assert.deepEqual(sd.encode('<|startoftext|>a'), [998, ...sd.encode('a')]);
    // Not an exact special token: lower-cased, then the pre-tokenizer regex and BPE cache keep it whole.
    assert.deepEqual(sd.tokenize('<|ENDOFTEXT|>'), ['<|endoftext|>']);
    // transformers registers the pad token "!" of tokenizer_2 as a special token, so a typed "!" becomes id 0
    // there, while tokenizer 1 byte-pair-encodes it ("!</w>" = 256).
    assert.deepEqual(sd.encode('wow!').slice(-1), [256]);
    assert.deepEqual(sdxl2.encode('wow!').slice(-1), [0]);
  });

  test('built from data: no merges gives byte tokens; a token missing from the vocabulary becomes unk', () => {
    const vocab = readVocab(fixture('tiny-sd', 'tokenizer', 'vocab.json'));
    const bytesOnly = new ClipTokenizer({ vocab, merges: [] });
    assert.deepEqual(bytesOnly.tokenize('Cat'), ['c', 'a', 't</w>']);
    assert.deepEqual(bytesOnly.encode('Cat'), [vocab.get('c'), vocab.get('a'), vocab.get('t</w>')]);
    const withoutT = new Map([...vocab].filter(([t]) => t !== 't</w>'));
    assert.deepEqual(new ClipTokenizer({ vocab: withoutT, merges: [] }).encode('cat').slice(-1), [999]);
    assert.throws(() => new ClipTokenizer({ vocab, merges: [], special: { tokens: { eos_token: null } } }), /`eos_token` is null/);
  });

  test('byte characters are in bytes_to_unicode order (vocab ids 0–255, then the same with </w>)', () => {
    const vocab = readVocab(fixture('tiny-sd', 'tokenizer', 'vocab.json'));
    byteCharsInVocabOrder().forEach((c, i) => {
      assert.equal(vocab.get(c), i, `byte char ${JSON.stringify(c)}`);
      assert.equal(vocab.get(`${c}</w>`), 256 + i);
    });
  });

  test('decode inverts encode up to the clean-up (lower case, single spaces)', () => {
    const ids = sd.encodeForModel('  Café   au LAIT, 日本 🐱!').inputIds;
    assert.equal(sd.decode(ids, { skipSpecialTokens: true }), 'café au lait , 日 本 🐱!');
    assert.ok(sd.decode(ids).startsWith('<|startoftext|>'));
  });
});

describe('encodeForModel options and chunks', () => {
  const longIds = longCase.ids_unpadded;

  test('truncation off keeps every id; padding off leaves BOS + ids + EOS', () => {
    const full = sd.encodeForModel(longCase.text, { truncation: false });
    assert.deepEqual(full.inputIds, [998, ...longIds, 999]);
    assert.equal(full.truncated, false);
    assert.deepEqual(sd.encodeForModel('a cat', { padding: false }).inputIds, [998, ...sd.encode('a cat'), 999]);
    const short = sd.encodeForModel('a photo of a cat', { maxLength: 5 });
    assert.deepEqual(short, { inputIds: [998, ...sd.encode('a photo of'), 999], truncated: true, tokenCount: 5 });
    assert.throws(() => sd.encodeForModel('a', { maxLength: 1 }), /maxLength must be an integer >= 2/);
  });

  test('long prompts: 75-token chunks, each BOS + chunk + EOS padded to 77', () => {
    const chunks = sd.encodeChunks(longCase.text);
    assert.equal(chunks.length, 2);
    assert.deepEqual(chunks[0], [998, ...longIds.slice(0, 75), 999]);
    assert.deepEqual(chunks[0], longCase.input_ids, 'the first chunk is the truncated encoding');
    assert.deepEqual(chunks[1], [998, ...longIds.slice(75), 999, ...new Array(6).fill(999)]);
    assert.deepEqual(sdxl2.encodeChunks(longCase.text)[1].slice(-6), new Array(6).fill(0), 'tokenizer_2 pads chunks with its pad id');
  });

  test('an empty prompt is one chunk; exactly 75 ids are one chunk; chunkLength is checked', () => {
    assert.deepEqual(sd.encodeChunks(''), [cases.find((c) => c.text === '')!.input_ids]);
    const exactly75 = Array.from({ length: 75 }, (_, i) => String(i % 10)).join(' ');
    assert.equal(sd.encode(exactly75).length, 75);
    assert.equal(sd.encodeChunks(exactly75).length, 1);
    assert.equal(sd.encodeChunks(`${exactly75} 1`).length, 2);
    assert.deepEqual(
      sd.encodeChunks('a photo of a cat', { chunkLength: 2 }).map((c) => c.length),
      [4, 4, 4],
    );
    assert.throws(() => sd.encodeChunks('a', { chunkLength: 0 }), /chunkLength must be a positive integer, got 0/);
  });
});

describe('pieces', () => {
  test('BPE merges the lowest-ranked pair first, every occurrence left to right, </w> on the last symbol', () => {
    // "abc" → a b c</w>; (b, c</w>) has rank 0 so it merges before (a, b) would: a bc</w> → abc</w>.
    const bpe = new BytePairEncoder([
      ['b', 'c</w>'],
      ['a', 'b'],
      ['a', 'bc</w>'],
    ]);
    assert.deepEqual(bpe.encode('abc'), ['abc</w>']);
    assert.deepEqual(bpe.encode('abab'), ['ab', 'a', 'b</w>']);
    assert.deepEqual(new BytePairEncoder([['a', 'a']]).encode('aaaa'), ['aa', 'a', 'a</w>']);
    assert.deepEqual(bpe.encode('x'), ['x</w>']);
    assert.equal(bpe.encode('abc'), bpe.encode('abc'), 'cached');
  });

  test('clean-up: controls and U+200B dropped, Zs → space, CJK spaced, NFC, Python-style lower case', () => {
    assert.equal(basicClean('a\u0000b\u200bc\ufffd\u0007d'), 'abcd');
    assert.equal(basicClean('a\u00a0b\u2003c\td\r\ne'), 'a b c d e');
    assert.equal(basicClean('中文abc'), '中 文 abc');
    assert.equal(basicClean('e\u0301'), '\u00e9');
    // Python: 'İSTANBUL'.lower() == 'i\u0307stanbul', 'ΟΔΟΣ ΣΑΣ'.lower() == 'οδος σας' (final sigma).
    assert.equal(basicClean('İSTANBUL ΟΔΟΣ ΣΑΣ'), 'i\u0307stanbul οδος σας');
    assert.deepEqual(preTokenize("it's 12 cats!!"), ['it', "'s", '1', '2', 'cats', '!!']);
  });

  test('merges.txt: the header line is skipped, malformed lines name the line', () => {
    assert.deepEqual(parseMerges('#version: 0.2\na b\r\nab c</w>\n\n'), [
      ['a', 'b'],
      ['ab', 'c</w>'],
    ]);
    assert.throws(() => parseMerges('#version: 0.2\na b\nabc\n', '/x/merges.txt'), /\/x\/merges.txt: line 3 must be two symbols/);
  });
});

describe('folder errors name the file', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A copy of tiny-sd/tokenizer with some files replaced (null = removed). */
  function folder(changes: Record<string, string | null>): string {
    const dir = mkdtempSync(join(tmpdir(), 'clip-tokenizer-'));
    dirs.push(dir);
    for (const f of ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
      if (changes[f] === undefined) copyFileSync(fixture('tiny-sd', 'tokenizer', f), join(dir, f));
      else if (changes[f] !== null) writeFileSync(join(dir, f), changes[f]!);
    }
    return dir;
  }
  const fails = (changes: Record<string, string | null>, message: RegExp): void => {
    assert.throws(
      () => ClipTokenizer.fromDirectory(folder(changes)),
      (e: unknown) => e instanceof TokenizerError && message.test(e.message),
    );
  };

  test('missing or malformed vocab.json / merges.txt', () => {
    fails({ 'vocab.json': null }, /vocab\.json: file not found/);
    fails({ 'merges.txt': null }, /merges\.txt: file not found/);
    fails({ 'vocab.json': '{"a": 1,' }, /vocab\.json: not valid JSON/);
    fails({ 'vocab.json': '[1, 2]' }, /vocab\.json: must be a JSON object/);
    fails({ 'vocab.json': '{"a": -1}' }, /vocab\.json: id of token "a" must be a non-negative integer, got -1/);
    fails({ 'merges.txt': '#version: 0.2\nt h e\n' }, /merges\.txt: line 2 must be two symbols/);
  });

  test('malformed special tokens name the file and the field', () => {
    fails(
      { 'tokenizer_config.json': '{"pad_token": 5}' },
      /tokenizer_config\.json: `pad_token` must be a string, null or an object with a string "content", got 5/,
    );
    fails({ 'special_tokens_map.json': '{"eos_token": {"id": 3}}' }, /special_tokens_map\.json: `eos_token` must be a string/);
    fails(
      { 'tokenizer_config.json': '{"model_max_length": -1}' },
      /tokenizer_config\.json: `model_max_length` must be a positive number, got -1/,
    );
    fails({ 'special_tokens_map.json': '{"bos_token": null}' }, /tokenizer-.*: `bos_token` is null; a CLIP tokenizer needs one/);
  });

  test('the config files are optional; special_tokens_map.json overrides tokenizer_config.json', () => {
    const bare = ClipTokenizer.fromDirectory(folder({ 'tokenizer_config.json': null, 'special_tokens_map.json': null }));
    assert.deepEqual([bare.bosTokenId, bare.eosTokenId, bare.padTokenId, bare.modelMaxLength], [998, 999, 999, null]);
    const pad = ClipTokenizer.fromDirectory(folder({ 'special_tokens_map.json': JSON.stringify({ pad_token: { content: '!' } }) }));
    assert.equal(pad.padTokenId, 0);
    const none = ClipTokenizer.fromDirectory(folder({ 'special_tokens_map.json': '{"pad_token": null}' }));
    assert.equal(none.padTokenId, null);
    assert.deepEqual(none.encodeForModel('a', { padding: false }).inputIds, [998, 320, 999]);
    assert.throws(() => none.encodeForModel('a'), /padding needs a pad token/);
  });

  test('a special token outside the vocabulary gets the next id, as transformers adds it', () => {
    const extra = ClipTokenizer.fromDirectory(folder({ 'special_tokens_map.json': JSON.stringify({ pad_token: '<|pad|>' }) }));
    assert.equal(extra.padTokenId, 1000);
    assert.deepEqual(extra.encode('a<|pad|>'), [320, 1000]);
  });

  test('a missing folder names vocab.json in it', () => {
    assert.throws(() => ClipTokenizer.fromDirectory('/nonexistent/tokenizer'), /\/nonexistent\/tokenizer\/vocab\.json: file not found/);
  });
});

test('tokenizer files of tiny-sd and tiny-sdxl are the same vocabulary', () => {
  assert.equal(
    readFileSync(fixture('tiny-sd', 'tokenizer', 'vocab.json'), 'utf8'),
    readFileSync(fixture('tiny-sdxl', 'tokenizer_2', 'vocab.json'), 'utf8'),
  );
});
