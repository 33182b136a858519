import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatasetError, openImageFolder, type ImageCaptionDataset } from '../../src/data/index.js';
import { firstPixel, makeTempDir, solidImage, type TempDir } from './helpers.js';

async function withTemp(body: (tmp: TempDir) => Promise<void>): Promise<void> {
  const tmp = makeTempDir();
  try {
    await body(tmp);
  } finally {
    tmp.cleanup();
  }
}

/** id → [caption, first pixel]: pairing is right when each caption names its image's colour. */
async function summary(dataset: ImageCaptionDataset): Promise<Array<[string, string, number[]]>> {
  return Promise.all(
    dataset.records.map(async (r) => [r.id, r.caption, await firstPixel(await r.readBytes())] as [string, string, number[]]),
  );
}

const RED: [number, number, number] = [255, 0, 0];
const GREEN: [number, number, number] = [0, 255, 0];
const BLUE: [number, number, number] = [0, 0, 255];

test('metadata.jsonl: text column, subfolders, sorted ids, images read lazily', async () => {
  await withTemp(async (tmp) => {
    tmp.write('b.png', await solidImage(RED));
    tmp.write('sub/a.JPG', await solidImage(GREEN, 'jpeg'));
    tmp.write('c.webp', await solidImage(BLUE, 'webp'));
    tmp.write(
      'metadata.jsonl',
      [
        '{"file_name": "b.png", "text": "red", "other": "x"}',
        '',
        '{"file_name": "./sub/a.JPG", "text": "green"}',
        '{"file_name": "c.webp", "text": "blue", "caption": "ignored"}',
      ].join('\n'),
    );
    const dataset = await openImageFolder(tmp.path);
    assert.equal(dataset.source, tmp.path);
    const rows = await summary(dataset);
    assert.deepEqual(
      rows.map((r) => r.slice(0, 2)),
      [
        ['b.png', 'red'],
        ['c.webp', 'blue'],
        ['sub/a.JPG', 'green'],
      ],
    );
    assert.deepEqual(rows[0][2], RED);
    assert.deepEqual(rows[1][2], BLUE);
    assert.ok(Math.abs(rows[2][2][1] - 255) <= 2 && rows[2][2][0] <= 2, `jpeg green, got ${rows[2][2]}`);
  });
});

test('metadata.jsonl: caption column, else the only string column', async () => {
  await withTemp(async (tmp) => {
    tmp.write('a.png', await solidImage(RED));
    tmp.write('metadata.jsonl', '{"file_name": "a.png", "caption": "from caption", "score": 3}\n');
    assert.equal((await openImageFolder(tmp.path)).records[0].caption, 'from caption');
    tmp.write('metadata.jsonl', '{"file_name": "a.png", "prompt": "from prompt", "score": 3}\n');
    assert.equal((await openImageFolder(tmp.path)).records[0].caption, 'from prompt');
    tmp.write('metadata.jsonl', '{"file_name": "a.png", "prompt": "p", "title": "t"}\n');
    await assert.rejects(openImageFolder(tmp.path), /cannot tell which column is the caption.*prompt, title/);
  });
});

test('metadata.jsonl errors name the file and line', async () => {
  await withTemp(async (tmp) => {
    tmp.write('a.png', await solidImage(RED));
    tmp.write('b.png', await solidImage(GREEN));
    const meta = `${tmp.path}/metadata.jsonl`;
    const cases: Array<[string[], RegExp]> = [
      [['{"file_name": "a.png", "text": "a"}', '{"file_name": "b.png", "text": "b"', ''], /metadata\.jsonl:2: not valid JSON/],
      [['{"file_name": "a.png", "text": "a"}', '{"file_name": "b.png"}'], /metadata\.jsonl:2: missing caption column "text" for "b\.png"/],
      [['{"file_name": "a.png"}', '{"file_name": "b.png"}'], /metadata\.jsonl:1: missing caption column/],
      [['{"file_name": "a.png", "text": "a"}', '{"text": "b"}'], /metadata\.jsonl:2: missing "file_name"/],
      [
        ['{"file_name": "a.png", "text": "a"}', '{"file_name": "gone.png", "text": "b"}'],
        /metadata\.jsonl:2: file_name "gone\.png" does not exist/,
      ],
      [['{"file_name": "../a.png", "text": "a"}'], /metadata\.jsonl:1: file_name "\.\.\/a\.png" points outside the folder/],
      [['{"file_name": "sub/../../a.png", "text": "a"}'], /metadata\.jsonl:1: .* points outside the folder/],
      [['{"file_name": "/etc/passwd.png", "text": "a"}'], /metadata\.jsonl:1: .* is absolute/],
      [['{"file_name": "a.png", "text": 5}'], /metadata\.jsonl:1: caption column "text" must be a string/],
      [
        ['{"file_name": "a.png", "text": "a"}', '{"file_name": "a.png", "text": "b"}'],
        /metadata\.jsonl:2: "a\.png" is listed twice \(first at line 1\)/,
      ],
      [['{"file_name": "notes.md", "text": "a"}'], /metadata\.jsonl:1: .* not a png\/jpg\/jpeg\/webp image/],
      [['[1, 2]'], /metadata\.jsonl:1: expected a JSON object/],
    ];
    for (const [lines, pattern] of cases) {
      tmp.write('metadata.jsonl', lines.join('\n'));
      await assert.rejects(
        openImageFolder(tmp.path),
        (err: Error) => {
          assert.ok(err instanceof DatasetError, `${err.name}: ${err.message}`);
          assert.match(err.message, pattern);
          assert.ok(err.message.includes(meta), err.message);
          return true;
        },
        lines.join(' | '),
      );
    }
  });
});

test('images missing from metadata.jsonl: error listing them, or empty captions when allowed', async () => {
  await withTemp(async (tmp) => {
    for (const name of ['a.png', 'b.png', 'c.png', 'd.png', 'e.png', 'f.png', 'g.png', 'h.png']) tmp.write(name, await solidImage(RED));
    tmp.write('metadata.jsonl', '{"file_name": "a.png", "text": "a"}\n');
    await assert.rejects(
      openImageFolder(tmp.path),
      /7 image\(s\) have no caption \(not listed in metadata\.jsonl\): b\.png, c\.png, d\.png, e\.png, f\.png and 2 more/,
    );
    const dataset = await openImageFolder(tmp.path, { allowMissingCaptions: true });
    assert.deepEqual(
      dataset.records.map((r) => r.caption),
      ['a', '', '', '', '', '', '', ''],
    );
    tmp.write('metadata.jsonl', '{"file_name": "a.png", "text": "a"}\n{"file_name": "b.png"}\n');
    const allowed = await openImageFolder(tmp.path, { allowMissingCaptions: true });
    assert.equal(allowed.records[1].caption, '');
  });
});

test('.txt sidecars, recursive, trimmed; dotfiles and non-images ignored', async () => {
  await withTemp(async (tmp) => {
    tmp.write('cat.png', await solidImage(RED));
    tmp.write('cat.txt', 'a red cat\n');
    tmp.write('x/dog.jpeg', await solidImage(BLUE, 'jpeg'));
    tmp.write('x/dog.TXT', '  a blue dog ');
    tmp.write('x/y/bird.PNG', await solidImage(GREEN));
    tmp.write('x/y/bird.txt', 'a green bird');
    tmp.write('._cat.png', 'not an image'); // macOS resource fork
    tmp.write('.cache/z.png', 'hidden');
    tmp.write('notes.md', '# not data');
    const rows = await summary(await openImageFolder(tmp.path));
    assert.deepEqual(
      rows.map((r) => r.slice(0, 2)),
      [
        ['cat.png', 'a red cat'],
        ['x/dog.jpeg', 'a blue dog'],
        ['x/y/bird.PNG', 'a green bird'],
      ],
    );
    assert.deepEqual(rows[0][2], RED);
    assert.deepEqual(rows[2][2], GREEN);
  });
});

test('sidecar layout: images without .txt fail listing them unless allowed', async () => {
  await withTemp(async (tmp) => {
    tmp.write('a.png', await solidImage(RED));
    tmp.write('a.txt', 'a');
    tmp.write('sub/b.png', await solidImage(RED));
    await assert.rejects(
      openImageFolder(tmp.path),
      /1 image\(s\) have no caption \(no \.txt file beside it\): sub\/b\.png; .*allowMissingCaptions/,
    );
    const dataset = await openImageFolder(tmp.path, { allowMissingCaptions: true });
    assert.deepEqual(
      dataset.records.map((r) => [r.id, r.caption]),
      [
        ['a.png', 'a'],
        ['sub/b.png', ''],
      ],
    );
  });
});

test('empty, missing and non-folder paths fail clearly', async () => {
  await withTemp(async (tmp) => {
    await assert.rejects(openImageFolder(tmp.path), /no images found/);
    tmp.write('only.txt', 'caption without image');
    await assert.rejects(openImageFolder(tmp.path), /no images found/);
    await assert.rejects(openImageFolder(`${tmp.path}/nope`), /nope: no such folder/);
    await assert.rejects(openImageFolder(`${tmp.path}/only.txt`), /only\.txt: not a folder/);
  });
});
