import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { DatasetError, openDataset, openWebDataset, TarError } from '../../src/data/index.js';
import { buildTar, firstPixel, makeTempDir, solidImage, type TarEntry, type TempDir } from './helpers.js';

async function withTemp(body: (tmp: TempDir) => Promise<void>): Promise<void> {
  const tmp = makeTempDir();
  try {
    await body(tmp);
  } finally {
    tmp.cleanup();
  }
}

const COLORS: Record<string, [number, number, number]> = {
  red: [255, 0, 0],
  green: [0, 255, 0],
  blue: [0, 0, 255],
  white: [255, 255, 255],
};
const LONG_DIR = `${'nested-folder/'.repeat(8)}end`; // >100 bytes with the key

async function shardA(): Promise<TarEntry[]> {
  return [
    { name: 's/0001.png', data: await solidImage(COLORS.red) },
    { name: 's/0001.txt', data: 'red\n' },
    { name: 's/0002.jpg', data: await solidImage(COLORS.blue, 'jpeg') },
    { name: 's/0002.json', data: JSON.stringify({ caption: 'blue', width: 4 }) },
    { name: `${LONG_DIR}/0003.webp`, data: await solidImage(COLORS.green, 'webp'), longName: 'gnu' },
    { name: `${LONG_DIR}/0003.json`, data: JSON.stringify({ text: 'green' }), longName: 'pax' },
    { name: 's/0004.seg.png', data: await solidImage(COLORS.white) }, // key s/0004, extension "seg.png": not an image
    { name: 's/0004.png', data: await solidImage(COLORS.white) },
    { name: 's/0004.txt', data: 'white' },
    { name: 's/0005.png', data: await solidImage(COLORS.blue) }, // jpg is preferred over png
    { name: 's/0005.jpg', data: await solidImage(COLORS.red, 'jpeg') },
    { name: 's/0005.txt', data: 'red' },
  ];
}

async function pairs(path: string | string[], options = {}): Promise<Array<[string, string, number[]]>> {
  const dataset = await openWebDataset(path, options);
  return Promise.all(
    dataset.records.map(async (r) => [r.id, r.caption, await firstPixel(await r.readBytes())] as [string, string, number[]]),
  );
}

const near = (a: number[], b: number[]): boolean => a.every((v, i) => Math.abs(v - b[i]) <= 3);

test('groups members by key, image + txt/json captions, ids are shard/key, order kept', async () => {
  await withTemp(async (tmp) => {
    const path = tmp.write('shard-00.tar', buildTar(await shardA()));
    const rows = await pairs(path);
    assert.deepEqual(
      rows.map((r) => r.slice(0, 2)),
      [
        ['shard-00/s/0001', 'red'],
        ['shard-00/s/0002', 'blue'],
        [`shard-00/${LONG_DIR}/0003`, 'green'],
        ['shard-00/s/0004', 'white'],
        ['shard-00/s/0005', 'red'],
      ],
    );
    for (const [, caption, pixel] of rows) assert.ok(near(pixel, COLORS[caption]), `${caption}: ${pixel}`);
  });
});

test('a folder of shards is read in name order; several paths in the given order; GNU tar shards work', async () => {
  await withTemp(async (tmp) => {
    tmp.write('src/k1.png', await solidImage(COLORS.green));
    tmp.write('src/k1.txt', 'green');
    tmp.write('src/k2.jpeg', await solidImage(COLORS.red, 'jpeg'));
    tmp.write('src/k2.json', JSON.stringify({ caption: 'red' }));
    tmp.write('shards/README.md', 'ignored');
    execFileSync('tar', [
      '--format',
      'pax',
      '-cf',
      `${tmp.path}/shards/b.tar`,
      '-C',
      `${tmp.path}/src`,
      'k1.png',
      'k1.txt',
      'k2.jpeg',
      'k2.json',
    ]);
    tmp.write(
      'shards/a.tar',
      buildTar([
        { name: 'x.png', data: await solidImage(COLORS.blue) },
        { name: 'x.txt', data: 'blue' },
      ]),
    );
    const rows = await pairs(`${tmp.path}/shards`);
    assert.deepEqual(
      rows.map((r) => r.slice(0, 2)),
      [
        ['a/x', 'blue'],
        ['b/k1', 'green'],
        ['b/k2', 'red'],
      ],
    );
    for (const [, caption, pixel] of rows) assert.ok(near(pixel, COLORS[caption]), `${caption}: ${pixel}`);
    const reversed = await openWebDataset([`${tmp.path}/shards/b.tar`, `${tmp.path}/shards/a.tar`]);
    assert.deepEqual(
      reversed.records.map((r) => r.id),
      ['b/k1', 'b/k2', 'a/x'],
    );
  });
});

test('samples without an image are skipped with a warning; without a caption they fail unless allowed', async () => {
  await withTemp(async (tmp) => {
    const path = tmp.write(
      'w.tar',
      buildTar([
        { name: 'a.png', data: await solidImage(COLORS.red) },
        { name: 'a.txt', data: 'red' },
        { name: 'b.txt', data: 'caption only' },
        { name: 'c.cls', data: '3' },
        { name: 'd.png', data: await solidImage(COLORS.red) },
        { name: 'e.png', data: await solidImage(COLORS.red) },
        { name: 'e.json', data: '{"score": 1}' },
      ]),
    );
    await assert.rejects(openWebDataset(path), /2 sample\(s\) have an image but no caption .*: w\/d, w\/e; .*allowMissingCaptions/);
    const warnings: string[] = [];
    const dataset = await openWebDataset(path, { allowMissingCaptions: true, onWarning: (m) => warnings.push(m) });
    assert.deepEqual(
      dataset.records.map((r) => [r.id, r.caption]),
      [
        ['w/a', 'red'],
        ['w/d', ''],
        ['w/e', ''],
      ],
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /w\.tar: skipped 2 sample\(s\) without an image: w\/b, w\/c/);
  });
});

test('errors: nothing usable, bad json, truncated shard, duplicate members, clashing shard names', async () => {
  await withTemp(async (tmp) => {
    const noImages = tmp.write(
      'n.tar',
      buildTar([
        { name: 'a.txt', data: 'x' },
        { name: 'b.txt', data: 'y' },
      ]),
    );
    await assert.rejects(
      openWebDataset(noImages, { onWarning: () => {} }),
      /n\.tar: no usable samples \(2 key\(s\) without a jpg\/jpeg\/png\/webp image: n\/a, n\/b\)/,
    );
    const empty = tmp.write('e.tar', buildTar([]));
    await assert.rejects(openWebDataset(empty), /e\.tar: no usable samples/);

    const badJson = tmp.write(
      'j.tar',
      buildTar([
        { name: 'a.png', data: await solidImage(COLORS.red) },
        { name: 'a.json', data: '{nope' },
      ]),
    );
    await assert.rejects(
      openWebDataset(badJson),
      (err: Error) => err instanceof DatasetError && /j\.tar: member "a\.json" is not valid JSON/.test(err.message),
    );

    const whole = buildTar([
      { name: 'a.png', data: await solidImage(COLORS.red, 'png', 32, 32) },
      { name: 'a.txt', data: 'red' },
    ]);
    const cut = tmp.write('cut.tar', whole.subarray(0, 600));
    await assert.rejects(
      openWebDataset(cut),
      (err: Error) => err instanceof TarError && /cut\.tar: truncated at offset 600/.test(err.message),
    );

    const dup = tmp.write(
      'd.tar',
      buildTar([
        { name: 'a.png', data: 'x' },
        { name: 'a.png', data: 'y' },
      ]),
    );
    await assert.rejects(openWebDataset(dup), /d\.tar: member "a\.png" appears twice/);

    tmp.write('one/s.tar', whole);
    tmp.write('two/s.tar', whole);
    await assert.rejects(openWebDataset([`${tmp.path}/one/s.tar`, `${tmp.path}/two/s.tar`]), /same name "s"/);
    await assert.rejects(openWebDataset(`${tmp.path}/one/missing.tar`), /missing\.tar: no such file or folder/);
    await assert.rejects(openWebDataset(tmp.write('x.zip', 'zip')), /x\.zip: not a \.tar shard/);
    await assert.rejects(openWebDataset(tmp.write('emptydir/readme.md', 'r').replace('/readme.md', '')), /emptydir: no \.tar shards/);
  });
});

test('openDataset dispatches by what is on disk', async () => {
  await withTemp(async (tmp) => {
    const shard = buildTar([
      { name: 'a.png', data: await solidImage(COLORS.red) },
      { name: 'a.txt', data: 'red' },
    ]);
    const tarFile = tmp.write('tars/s0.tar', shard);
    tmp.write('tars/s1.tar', shard);
    tmp.write('tars/index.json', '{}');
    tmp.write('folder/a.png', await solidImage(COLORS.red));
    tmp.write('folder/a.txt', 'red');
    tmp.write('mixed/a.png', await solidImage(COLORS.red));
    tmp.write('mixed/s.tar', shard);

    assert.deepEqual(
      (await openDataset(`${tmp.path}/tars`)).records.map((r) => r.id),
      ['s0/a', 's1/a'],
    );
    assert.deepEqual(
      (await openDataset(tarFile)).records.map((r) => r.id),
      ['s0/a'],
    );
    assert.deepEqual(
      (await openDataset([tarFile])).records.map((r) => r.id),
      ['s0/a'],
    );
    assert.deepEqual(
      (await openDataset(`${tmp.path}/folder`)).records.map((r) => [r.id, r.caption]),
      [['a.png', 'red']],
    );
    await assert.rejects(openDataset(`${tmp.path}/mixed`), /mixed: holds both \.tar shards .* and image-folder content/);
    await assert.rejects(openDataset(`${tmp.path}/folder/a.png`), /a\.png: not a dataset/);
    await assert.rejects(openDataset(`${tmp.path}/nothing`), /nothing: no such file or folder/);
    const allowed = await openDataset(`${tmp.path}/folder`, { allowMissingCaptions: true });
    assert.equal(allowed.records.length, 1);
  });
});
