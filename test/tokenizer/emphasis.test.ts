/**
 * A1111's emphasis syntax: the parse of prompts written from the rules of its `parse_prompt_attention` (the
 * docstring examples verbatim, float rounding included), and the chunked ids with one weight per token.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClipTokenizer, encodeWeightedChunks, isPlainPrompt, parsePromptAttention, type WeightedText } from '../../src/tokenizer/index.js';
import { fixture } from '../helpers/model-parity.js';

/** [prompt, expected parse]; weights compared to 1e-12 (A1111's own values are checked exactly below). */
const CASES: [string, WeightedText[]][] = [
  ['normal text', [['normal text', 1]]],
  [
    'an (important) word',
    [
      ['an ', 1],
      ['important', 1.1],
      [' word', 1],
    ],
  ],
  ['(unbalanced', [['unbalanced', 1.1]]],
  ['\\(literal\\]', [['(literal]', 1]]],
  ['(unnecessary)(parens)', [['unnecessaryparens', 1.1]]],
  [
    'a (b:1.5) c',
    [
      ['a ', 1],
      ['b', 1.5],
      [' c', 1],
    ],
  ],
  ['((x))', [['x', 1.21]]],
  ['(((x)))', [['x', 1.331]]],
  ['[x]', [['x', 1 / 1.1]]],
  ['[[x]]', [['x', 1 / 1.21]]],
  ['\\(x\\)', [['(x)', 1]]],
  ['\\[x\\]', [['[x]', 1]]],
  [
    'a BREAK b',
    [
      ['a', 1],
      ['BREAK', -1],
      ['b', 1],
    ],
  ],
  [
    'a, BREAK, b',
    [
      ['a,', 1],
      ['BREAK', -1],
      [', b', 1],
    ],
  ],
  [
    'BREAK',
    [
      ['', 1],
      ['BREAK', -1],
      ['', 1],
    ],
  ],
  ['aBREAK b', [['aBREAK b', 1]]],
  ['a break b', [['a break b', 1]]],
  ['(a', [['a', 1.1]]],
  ['[a', [['a', 1 / 1.1]]],
  ['a)', [['a)', 1]]],
  ['a]', [['a]', 1]]],
  [
    '(a [b] c)',
    [
      ['a ', 1.1],
      ['b', 1],
      [' c', 1.1],
    ],
  ],
  [
    '(a:1.2) (b:0.8)',
    [
      ['a', 1.2],
      [' ', 1],
      ['b', 0.8],
    ],
  ],
  ['(a:1.2)(b:1.2)', [['ab', 1.2]]],
  [
    '((a) b)',
    [
      ['a', 1.21],
      [' b', 1.1],
    ],
  ],
  [
    'a [b (c:2)]',
    [
      ['a ', 1],
      ['b ', 1 / 1.1],
      ['c', 2 / 1.1],
    ],
  ],
  ['(a: 1.5 )', [['a', 1.5]]],
  ['(a:0)', [['a', 0]]],
  ['(a:.5)', [['a', 0.5]]],
  ['[a:1.5]', [['a:1.5', 1 / 1.1]]],
  ['a:b', [['a:b', 1]]],
  ['a:1.3)', [['a:1.3)', 1]]],
  ['', [['', 1]]],
  ['()', [['', 1]]],
  ['a\\\\b', [['a\\b', 1]]],
  ['a\\b', [['ab', 1]]],
  [
    '(a BREAK b)',
    [
      ['a', 1.1],
      ['BREAK', -1.1],
      ['b', 1.1],
    ],
  ],
  // A weight that is not a number crashes A1111; here it is text (and the bracket stays open).
  ['(x:1.2.3)', [['x:1.2.3)', 1.1]]],
];

describe('parsePromptAttention', () => {
  for (const [prompt, expected] of CASES) {
    test(JSON.stringify(prompt), () => {
      const got = parsePromptAttention(prompt);
      assert.deepEqual(
        got.map(([t]) => t),
        expected.map(([t]) => t),
      );
      got.forEach(([, w], i) => assert.ok(Math.abs(w - expected[i][1]) < 1e-12, `${prompt}: weight ${i} ${w} ≠ ${expected[i][1]}`));
    });
  }

  test("A1111's docstring example, its floats exactly", () => {
    assert.deepEqual(parsePromptAttention('a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).'), [
      ['a ', 1.0],
      ['house', 1.5730000000000004],
      [' ', 1.1],
      ['on', 1.0],
      [' a ', 1.1],
      ['hill', 0.55],
      [', sun, ', 1.1],
      ['sky', 1.4641000000000006],
      ['.', 1.1],
    ]);
  });

  test('plain prompts are those that parse to themselves at weight 1', () => {
    for (const p of ['a photo of a cat', 'a: b', 'a, b; c', '']) assert.ok(isPlainPrompt(p), p);
    for (const p of ['(a)', 'a (b:1) c', '\\(a\\)', 'a BREAK b', '[a]', 'a)', 'a\\b']) assert.equal(isPlainPrompt(p), p === 'a)', p);
  });
});

describe('encodeWeightedChunks', () => {
  const tok = ClipTokenizer.fromDirectory(fixture('tiny-sd', 'tokenizer'));
  const chunk = (p: string, o = {}) => encodeWeightedChunks(tok, parsePromptAttention(p), o);
  const empty = tok.encodeChunks('')[0];
  const row = (ids: number[]) => [tok.bosTokenId, ...ids, tok.eosTokenId, ...empty.slice(ids.length + 2)];

  test('a weighted word of several BPE tokens: every one of its tokens carries the weight', () => {
    const word = tok.encode('unbelievable');
    assert.ok(word.length > 3);
    const r = chunk('a (unbelievable:1.5) cat');
    const ids = [...tok.encode('a'), ...word, ...tok.encode('cat')];
    assert.deepEqual(r.chunks, [row(ids)]);
    const weights = [1, 1, ...word.map(() => 1.5), 1, 1, ...Array<number>(75 - ids.length).fill(1)]; // BOS a word cat EOS padding
    assert.deepEqual(r.weights, [weights]);
    assert.equal(r.weights[0].length, 77);
    assert.equal(r.truncated, false);
  });

  test('pieces are tokenized on their own, as A1111 does', () => {
    const r = chunk('hippo(potamus)');
    assert.deepEqual(r.chunks[0].slice(1, r.chunks[0].indexOf(tok.eosTokenId)), [...tok.encode('hippo'), ...tok.encode('potamus')]);
    assert.notDeepEqual(tok.encode('hippo').concat(tok.encode('potamus')), tok.encode('hippopotamus'));
  });

  test('an unweighted prompt gives the rows of encodeChunks and weights of 1', () => {
    const text = 'a photo of a cat riding a horse';
    const r = chunk(text);
    assert.deepEqual(r.chunks, tok.encodeChunks(text));
    assert.ok(r.weights.flat().every((w) => w === 1));
  });

  test('BREAK pads the chunk and starts a new one; a leading BREAK leaves an empty chunk, a trailing one none', () => {
    const [a, cat] = [tok.encode('a'), tok.encode('cat')];
    assert.deepEqual(chunk('a BREAK cat').chunks, [row(a), row(cat)]);
    assert.deepEqual(chunk('BREAK a').chunks, [row([]), row(a)]);
    assert.deepEqual(chunk('a BREAK').chunks, [row(a)]);
    assert.deepEqual(chunk('a BREAK BREAK cat').chunks, [row(a), row([]), row(cat)]);
    const w = chunk('(a) BREAK [cat]').weights;
    assert.deepEqual([w[0][1], w[1][1], w.length], [1.1, 1 / 1.1, 2]);
  });

  test('long prompts: 75 ids a chunk, or cut per BREAK section with truncate', () => {
    const cats = Array<string>(80).fill('cat').join(' ');
    const cat = tok.encode('cat')[0];
    const long = chunk(`(${cats}:1.2)`);
    assert.deepEqual(long.chunks, [row(Array<number>(75).fill(cat)), row(Array<number>(5).fill(cat))]);
    assert.deepEqual(long.weights[1].slice(0, 8), [1, 1.2, 1.2, 1.2, 1.2, 1.2, 1, 1]);
    const cut = chunk(`(${cats}:1.2) BREAK a`, { truncate: true });
    assert.deepEqual([cut.chunks, cut.truncated], [[row(Array<number>(75).fill(cat)), row(tok.encode('a'))], true]);
    assert.equal(chunk('(a:1.2) BREAK b', { truncate: true }).truncated, false);
  });
});
