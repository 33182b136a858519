import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { indexTar, readTarMember, TarError } from '../../src/data/index.js';
import { buildTar, makeTempDir } from './helpers.js';

const LONG = `${'deep/'.repeat(15)}${'x'.repeat(60)}.txt`; // 135 bytes: too long for the 100-byte name field

async function readAll(path: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const m of await indexTar(path)) out[m.name] = (await readTarMember(path, m)).toString('utf8');
  return out;
}

test('indexes regular files with offsets; long names via GNU L, pax x and the ustar prefix; folders skipped', async () => {
  const tmp = makeTempDir();
  try {
    const big = 'b'.repeat(1300); // spans three blocks plus padding
    const path = tmp.write(
      'a.tar',
      buildTar([
        { name: 'dir/', type: '5' },
        { name: './dir/small.txt', data: 'hello' },
        { name: `gnu/${LONG}`, data: 'via L', longName: 'gnu' },
        { name: `pax/${LONG}`, data: 'via pax', longName: 'pax' },
        { name: `ustar/${LONG}`, data: 'via prefix', longName: 'prefix' },
        { name: 'dir/big.bin', data: big },
        { name: 'empty.txt', data: '' },
      ]),
    );
    const members = await indexTar(path);
    assert.deepEqual(
      members.map((m) => m.name),
      ['dir/small.txt', `gnu/${LONG}`, `pax/${LONG}`, `ustar/${LONG}`, 'dir/big.bin', 'empty.txt'],
    );
    assert.equal(members[0].dataOffset, 1024); // after the folder header and its own header
    assert.ok(members.every((m) => m.dataOffset % 512 === 0));
    const contents = await readAll(path);
    assert.equal(contents['dir/small.txt'], 'hello');
    assert.equal(contents[`gnu/${LONG}`], 'via L');
    assert.equal(contents[`pax/${LONG}`], 'via pax');
    assert.equal(contents[`ustar/${LONG}`], 'via prefix');
    assert.equal(contents['dir/big.bin'], big);
    assert.equal(contents['empty.txt'], '');
  } finally {
    tmp.cleanup();
  }
});

test('reads archives written by GNU tar in gnu and pax formats (long names, non-ASCII names)', async () => {
  const tmp = makeTempDir();
  try {
    const files: Record<string, string> = { [LONG]: 'long one', 'café/ünï.txt': 'unicode', 'plain.txt': 'p'.repeat(700) };
    for (const [name, data] of Object.entries(files)) tmp.write(`src/${name}`, data);
    for (const format of ['gnu', 'pax'] as const) {
      const tarPath = `${tmp.path}/${format}.tar`;
      execFileSync('tar', ['--format', format, '-cf', tarPath, '-C', `${tmp.path}/src`, ...Object.keys(files)]);
      const marker = format === 'gnu' ? '././@LongLink' : ' path=';
      assert.ok(readFileSync(tarPath).includes(marker), `${format} archive should use ${marker} for the long name`);
      assert.deepEqual(await readAll(tarPath), files, format);
    }
  } finally {
    tmp.cleanup();
  }
});

test('a missing end-of-archive is tolerated; truncation names the shard and the offset', async () => {
  const tmp = makeTempDir();
  try {
    const whole = buildTar(
      [
        { name: 'a.txt', data: 'a'.repeat(600) },
        { name: 'b.txt', data: 'bb' },
      ],
      false,
    );
    const untrailed = tmp.write('untrailed.tar', whole);
    assert.deepEqual(Object.keys(await readAll(untrailed)), ['a.txt', 'b.txt']);

    const cutData = tmp.write('cut-data.tar', whole.subarray(0, 512 + 300));
    await assert.rejects(
      indexTar(cutData),
      (err: Error) =>
        err instanceof TarError &&
        err.message.includes('cut-data.tar') &&
        /truncated at offset 812/.test(err.message) &&
        err.message.includes('offset 0'),
    );

    const cutHeader = tmp.write('cut-header.tar', whole.subarray(0, 1536 + 100));
    await assert.rejects(
      indexTar(cutHeader),
      (err: Error) => err instanceof TarError && err.message.includes('cut-header.tar') && err.message.includes('truncated at offset 1536'),
    );
  } finally {
    tmp.cleanup();
  }
});

test('garbage is rejected by the header checksum, naming the offset', async () => {
  const tmp = makeTempDir();
  try {
    const archive = buildTar([
      { name: 'a.txt', data: 'aaa' },
      { name: 'b.txt', data: 'bbb' },
    ]);
    archive[1024 + 10] ^= 0xff; // damage the second header's name
    const path = tmp.write('bad.tar', archive);
    await assert.rejects(indexTar(path), /bad\.tar: bad tar header at offset 1024/);
    const notTar = tmp.write('not.tar', Buffer.from('x'.repeat(2000)));
    await assert.rejects(indexTar(notTar), /not\.tar: bad tar header at offset 0/);
  } finally {
    tmp.cleanup();
  }
});

test('a member read after the file shrank fails clearly', async () => {
  const tmp = makeTempDir();
  try {
    const archive = buildTar([{ name: 'a.txt', data: 'a'.repeat(700) }]);
    const path = tmp.write('s.tar', archive);
    const [member] = await indexTar(path);
    tmp.write('s.tar', archive.subarray(0, 800));
    await assert.rejects(readTarMember(path, member), /s\.tar: truncated at offset 800: member "a\.txt" needs 700 bytes/);
  } finally {
    tmp.cleanup();
  }
});
