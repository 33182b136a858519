/** `--data emoji[:split]` opens the bundled emoji set; a real path of that name still wins. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { emojiDataset } from '../../src/data/emoji/index.js';
import { DatasetError } from '../../src/data/errors.js';
import { openDataset } from '../../src/data/index.js';

test('emoji and emoji:<split> name the bundled splits; the captions and images pair up as in emojiDataset', async () => {
  const train = await openDataset('emoji');
  const heldout = await openDataset('emoji:heldout');
  const reference = emojiDataset({ split: 'heldout' });
  assert.equal(train.records.length, emojiDataset({ split: 'train' }).records.length);
  assert.deepEqual(
    heldout.records.map((r) => [r.id, r.caption]),
    reference.records.map((r) => [r.id, r.caption]),
  );
  const apple = heldout.records.length > 0 ? heldout.records[0] : train.records[0];
  assert.ok((await apple.readBytes()).subarray(1, 4).toString() === 'PNG');
  await assert.rejects(
    openDataset('emoji:test'),
    (e: Error) => e instanceof DatasetError && /emoji:test: no such file or folder/.test(e.message),
  );
});

test('a folder called emoji in the working directory is read as a dataset, not the bundled set', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tdd-emoji-dir-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const cwd = process.cwd();
  process.chdir(root);
  t.after(() => process.chdir(cwd));
  mkdirSync('emoji');
  writeFileSync(join('emoji', 'metadata.jsonl'), '');
  await assert.rejects(openDataset('emoji'), (e: Error) => e instanceof DatasetError && !/bundled/.test(e.message));
});
