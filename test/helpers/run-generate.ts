// Runs `tdd generate` as a user would (the built bin, its own cwd and cache folder), for the CLI tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/tdd.js', import.meta.url));

export function runGenerate(args: string[], cwd = mkdtempSync(join(tmpdir(), 'tdd-gen-'))) {
  const r = spawnSync(process.execPath, [bin, 'generate', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: join(cwd, 'cache') },
  });
  return { ...r, cwd };
}

export function assertGenerateOk(r: ReturnType<typeof runGenerate>): void {
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
}
