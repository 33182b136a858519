// `serve --out`: a folder that cannot be written is a one-line error at start-up (exit 2); a write that fails
// later (a full disk) keeps the finished image, served from memory, with one warning.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ServeError } from '../../src/server/errors.js';
import { ImageStore } from '../../src/server/image-store.js';
import { startServer } from '../../src/server/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tdd-out-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const blocker = join(dir, 'a-file');
writeFileSync(blocker, 'x');
const unwritable = join(blocker, 'out'); // as root a read-only mode is no obstacle; a file in the path is

test('an --out folder that cannot be written is refused at start-up with one line', async () => {
  await assert.rejects(startServer({ port: 0, outDir: unwritable, modelDirs: [], embedded: null, hashCacheFile: null }), (e: Error) => {
    assert.ok(e instanceof ServeError);
    assert.equal(e.message, `--out ${unwritable}: cannot write there (a part of the path is a file)`);
    return true;
  });
});

test('tdd serve --out <unwritable>: exit 2, one line on stderr', () => {
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const script = `import(${JSON.stringify(main)}).then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script, 'serve', '--port', '0', '--out', unwritable], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /--out .*a-file\/out: cannot write there \(a part of the path is a file\)/);
});

test('a full disk at write time: the image is kept and served, one warning for repeated failures', () => {
  const warnings: string[] = [];
  const full = () => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  const store = new ImageStore({ outDir: join(dir, 'out'), writeFile: full, warn: (m) => warnings.push(m) });
  const png = new Uint8Array([137, 80, 78, 71]);
  const a = store.add(png, { jobId: 'j', width: 8, height: 8, fileStem: 'a' });
  const b = store.add(png, { jobId: 'j', width: 8, height: 8, fileStem: 'b' });
  assert.equal(store.get(a.id)?.png, png);
  assert.equal(store.get(b.id)?.png, png);
  assert.equal(a.file, undefined);
  assert.match(a.writeError!, /could not write .*a\.png \(ENOSPC\); the image is kept in memory only/);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^--out: could not write .* \(ENOSPC\); the image is kept in memory only: the disk is full$/);
});
