import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePythonJson } from '../../src/util/python-json.js';

test('Python float literals become numbers; strings that spell them stay strings', () => {
  const parsed = parsePythonJson('{"a": -Infinity, "b": [Infinity, NaN, 1], "c": "Infinity", "d": "x: NaN"}') as Record<string, unknown>;
  assert.equal(parsed.a, -Infinity);
  assert.deepEqual(parsed.b, [Infinity, NaN, 1]);
  assert.equal(parsed.c, 'Infinity');
  assert.equal(parsed.d, 'x: NaN');
});

test('malformed JSON still throws', () => {
  assert.throws(() => parsePythonJson('{"a": Infinityx}'), SyntaxError);
  assert.throws(() => parsePythonJson('{"a": inf}'), SyntaxError);
});
