// A bounded, seeded fuzz of POST /api/generate: ~300 random and malformed bodies (wrong types, huge and
// negative numbers, NaN strings, unicode, deep nesting, missing and extra fields, strings up to the body
// limit, broken JSON). Every answer must be a 2xx/4xx with a JSON body, never a 5xx, and the server must
// still answer afterwards. The server refuses every job on memory (usableMemoryBytes: 1), so nothing runs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { testServer, type TestServer } from './helpers.js';
import { prng } from '../helpers/prng.js';

const SEED = 0x19f022;
const CASES = 300;
const BODY_LIMIT = 64 * 1024;

const rng = prng;

const FIELDS = [
  'prompt',
  'negativePrompt',
  'preset',
  'scheduler',
  'steps',
  'guidance',
  'eta',
  'seed',
  'width',
  'height',
  'batch',
  'model',
  'loras',
];

function generator(random: () => number) {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const nested = (depth: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = random() < 0.5 ? [v] : { a: v };
    return v;
  };
  const unicode = () => pick(['猫の写真', '🐱‍👤🏳️‍🌈', '\u0000\u0001\u001f', '\ud800', 'e\u0301', 'R\u202eTL', '\uffff', '𝕏'.repeat(50)]);
  const value = (): unknown =>
    pick<() => unknown>([
      () => int(100),
      () => -int(1e6) - 1,
      () => 1e308,
      () => -1e308,
      () => Number.MAX_SAFE_INTEGER + 2,
      () => 2 ** 64,
      () => 1e-300,
      () => random() * 100,
      () => 'NaN',
      () => 'Infinity',
      () => '-0',
      () => '1e400',
      () => '',
      () => unicode(),
      () => 'x'.repeat(int(3000)),
      () => null,
      () => true,
      () => [],
      () => ({}),
      () => [int(10), 'a', null],
      () => ({ id: unicode(), weight: 'heavy' }),
      () => [{ id: '../../etc/passwd', weight: 1 }],
      () => nested(1 + int(200)),
      () => '__proto__',
      () => ({ __proto__: { polluted: true } }),
    ])();
  const validish = (): Record<string, unknown> => ({ prompt: 'a cat', width: 64, height: 64, steps: 2, seed: 1 });
  return (): { body: string; type?: string } => {
    const kind = int(10);
    if (kind === 0) {
      // Raw text that is not (or not quite) JSON.
      const raw = pick([
        '',
        '{',
        '{"prompt":',
        'null',
        '[]',
        '"x"',
        '1',
        'NaN',
        '{"prompt":"x",}',
        '\u0000',
        '{"prompt":"a"}{"prompt":"b"}',
        '['.repeat(5000),
        '{"a":'.repeat(3000),
      ]);
      return { body: raw };
    }
    if (kind === 1) {
      // Deep nesting, written as text (JSON.stringify itself would run out of stack), at the top or in a field.
      const depth = 1 + int(20_000);
      const deep = random() < 0.5 ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      return { body: pick([deep, `{"prompt":"a cat","loras":${deep}}`, `{"prompt":${deep}}`]) };
    }
    if (kind === 2) {
      // Close to or over the body limit.
      const n = BODY_LIMIT - 40 + int(80);
      return { body: JSON.stringify({ prompt: 'p'.repeat(Math.max(1, n)) }) };
    }
    if (kind === 3)
      return {
        body: JSON.stringify(validish()),
        type: pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', '']),
      };
    const body: Record<string, unknown> = int(3) === 0 ? {} : validish();
    const edits = 1 + int(4);
    for (let i = 0; i < edits; i++) {
      const r = int(10);
      if (r < 6) body[pick(FIELDS)] = value();
      else if (r < 8) delete body[pick(FIELDS)];
      else body[pick(['extra', 'modelPath', 'constructor', '__proto__', unicode(), 'x'.repeat(200)])] = value();
    }
    return { body: JSON.stringify(body) };
  };
}

let server: TestServer;
before(async () => {
  server = await testServer({ usableMemoryBytes: 1, maxQueued: 0, previews: false });
});
after(() => server.stop());

test(`${CASES} seeded random/malformed bodies: never a 5xx, always JSON, and the server keeps answering`, { timeout: 60_000 }, async () => {
  const next = generator(rng(SEED));
  const statuses = new Map<number, number>();
  for (let i = 0; i < CASES; i++) {
    const { body, type = 'application/json' } = next();
    const res = await server.api('/api/generate', { method: 'POST', headers: type ? { 'Content-Type': type } : {}, body });
    const text = await res.text();
    const what = `case ${i} (seed ${SEED}): ${body.slice(0, 120)}`;
    assert.ok(res.status < 500, `${what} → ${res.status} ${text.slice(0, 200)}`);
    assert.ok((res.status >= 200 && res.status < 300) || (res.status >= 400 && res.status < 500), `${what} → ${res.status}`);
    let parsed: unknown;
    assert.doesNotThrow(() => (parsed = JSON.parse(text)), `${what}: not JSON: ${text.slice(0, 200)}`);
    if (res.status >= 400) assert.equal(typeof (parsed as { message?: unknown }).message, 'string', what);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  }
  const status = await server.api('/api/status');
  assert.equal(status.status, 200);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  assert.ok((statuses.get(400) ?? 0) > CASES / 3, JSON.stringify([...statuses]));
});
