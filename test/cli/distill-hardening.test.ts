// `tdd distill` start-up failures are one line (issue 19), through main() in this process: out-of-range numbers
// name their flag, an unusable --out is refused before the teacher loads, and a failed start leaves no
// config.json or empty folder behind. Every case fails before training starts (tiny-sd fixture, 2 images).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { captureStderr } from '../helpers/capture-stderr.js';
import { sharedPath } from '../helpers/shared.js';
import { writeToyDataset } from '../distill/toy-dataset.js';

const teacher = sharedPath('fixtures', 'tiny-sd');
let root: string;
let data: string;

/** Exit code and stderr of `tdd distill ...`; an error main() lets through (a bug: a stack trace) fails the test. */
async function distill(args: string[]): Promise<{ code: number; stderr: string }> {
  let thrown: unknown;
  const { result, stderr } = await captureStderr(() => main(['distill', '--quiet', ...args]).catch((e: unknown) => ((thrown = e), -1)));
  if (thrown !== undefined) assert.fail(`tdd distill ${args.join(' ')} threw (a stack trace for the user): ${(thrown as Error).stack}`);
  return { code: result, stderr };
}

function assertOneLine(r: { code: number; stderr: string }, pattern: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit code (stderr: ${r.stderr})`);
  assert.equal(r.stderr.split('\n').length, 2, `${what}: one line: ${r.stderr}`);
  assert.match(r.stderr, pattern, what);
}

describe('tdd distill start-up failures', () => {
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'tdd-distill-hardening-'));
    data = join(root, 'data');
    await writeToyDataset(data, 2);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('out-of-range numbers name their flag and the allowed range, and leave no output folder', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--resolution', '100000'],
        /^error: --resolution: must be an integer in \[8, 4096\] and a multiple of the model's size factor .*\(got 100000\)$/m,
      ],
      [['--resolution', '66'], /^error: --resolution: 66 must be a multiple of \d+ /m],
      [['--resolution', '4'], /^error: --resolution: must be an integer in \[8, 4096\]/m],
      [['--steps', '0'], /^error: --steps: must be an integer ≥ 1 \(got 0\)$/m],
      [['--steps', '1.5'], /^error: --steps: must be an integer ≥ 1 \(got 1.5\)$/m],
      [['--batch', '0'], /^error: --batch: must be an integer in \[1, 1024\] \(got 0\)$/m],
      [['--batch', '100000'], /^error: --batch: must be an integer in \[1, 1024\] \(got 100000\)$/m],
      [['--rank', '0'], /^error: --rank: must be an integer in \[1, 1024\] \(got 0\)$/m],
      [['--rank', '100000'], /^error: --rank: must be an integer in \[1, 1024\] \(got 100000\)$/m],
      [['--lr', '0'], /^error: --lr: must be > 0 \(got 0\)$/m],
      [['--lr', '-1e-4'], /^error: --lr: must be > 0/m],
      [['--lr', 'Infinity'], /^error: --lr: expected a number/m],
      [['--grad-accumulation', '0'], /^error: --grad-accumulation: /m],
      [['--alpha', '0'], /^error: --alpha: must be > 0/m],
      [['--k-min', '5', '--k-max', '4'], /^error: --k-max: must be an integer ≥ 5 \(got 4\)$/m],
      [
        ['--num-ddim-timesteps', '5000'],
        /^error: --num-ddim-timesteps: must be an integer in \[1, 1000\] \(the teacher's training timesteps\) \(got 5000\)$/m,
      ],
      [['--validation-steps', '2,2000'], /^error: --validation-steps: must be an integer in \[1, 1000\] \(got 2000\)$/m],
      [['--weight-decay', '2'], /^error: --weight-decay: must be in \[0, 1\]/m],
      [['--seed', '-1'], /^error: --seed: must be an integer ≥ 0/m],
    ];
    for (const [i, [extra, message]] of cases.entries()) {
      const out = join(root, `range-${i}`, 'out');
      const r = await distill(['--teacher', teacher, '--data', data, '--out', out, ...extra]);
      assertOneLine(r, message, extra.join(' '));
      assert.ok(!existsSync(join(root, `range-${i}`)), `${extra.join(' ')}: no output folder left`);
    }
  });

  test('--out that is a file, or under a file, is refused with one line before the teacher loads', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    // A teacher that does not exist: the --out check must come first.
    const missingTeacher = join(root, 'no-such-teacher');
    const onFile = await distill(['--teacher', missingTeacher, '--data', data, '--out', file]);
    assertOneLine(onFile, new RegExp(`^error: --out ${escape(file)}: exists and is a file, not a folder$`, 'm'), 'file');
    const underFile = await distill(['--teacher', missingTeacher, '--data', data, '--out', join(file, 'sub')]);
    assertOneLine(underFile, new RegExp(`^error: --out ${escape(join(file, 'sub'))}: .*(not a folder|a file).*$`, 'm'), 'under a file');
  });

  test('--out where folders cannot be created (/proc) is one line naming the path and the reason', async () => {
    const out = `/proc/tdd-distill-out-${process.pid}/run`;
    const r = await distill(['--teacher', join(root, 'no-such-teacher'), '--data', data, '--out', out]);
    assertOneLine(r, new RegExp(`^error: --out ${escape(out)}: cannot create the folder: .* \\(E[A-Z]+\\)$`, 'm'), '/proc');
  });

  test('--out on a read-only file system is one line naming the path and the reason', async (t) => {
    const dir = join(root, 'read-only');
    mkdirSync(dir);
    if (process.getuid?.() === 0) {
      // root ignores permission bits: a read-only tmpfs instead, where mounting is permitted.
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir], { stdio: 'ignore' });
      } catch {
        t.skip('running as root and mount is not permitted here');
        return;
      }
      t.after(() => execFileSync('umount', [dir], { stdio: 'ignore' }));
    } else {
      chmodSync(dir, 0o555);
      t.after(() => chmodSync(dir, 0o755));
    }
    const missingTeacher = join(root, 'no-such-teacher');
    const inside = await distill(['--teacher', missingTeacher, '--data', data, '--out', join(dir, 'run')]);
    assertOneLine(
      inside,
      new RegExp(
        `^error: --out ${escape(join(dir, 'run'))}: cannot create the folder: (read-only file system \\(EROFS\\)|permission denied \\(EACCES\\))$`,
        'm',
      ),
      'new folder',
    );
    const itself = await distill(['--teacher', missingTeacher, '--data', data, '--out', dir]);
    assertOneLine(
      itself,
      new RegExp(
        `^error: --out ${escape(dir)}: cannot write in the folder: (read-only file system \\(EROFS\\)|permission denied \\(EACCES\\))$`,
        'm',
      ),
      'existing folder',
    );
  });

  test('a failed start leaves no config.json and removes only the folders it created', async () => {
    // A wrong teacher path, in a fresh nested folder: nothing of it is left.
    const fresh = join(root, 'fresh');
    const badTeacher = await distill(['--teacher', join(root, 'no-such-teacher'), '--data', data, '--out', join(fresh, 'a', 'b')]);
    assertOneLine(badTeacher, /no-such-teacher/, 'bad teacher');
    assert.ok(!existsSync(fresh), 'the folders this run made are removed');
    // Invalid data (after the teacher loaded).
    const badData = await distill(['--teacher', teacher, '--data', join(root, 'nothing-here'), '--out', fresh]);
    assertOneLine(badData, /nothing-here/, 'bad data');
    assert.ok(!existsSync(fresh), 'the folder this run made is removed');
    // An existing folder (a --resume of an earlier run, say) keeps what it had, and gets no config.json.
    const existing = join(root, 'existing');
    mkdirSync(join(existing, 'checkpoints'), { recursive: true });
    writeFileSync(join(existing, 'log.jsonl'), '');
    const resumed = await distill(['--teacher', teacher, '--data', join(root, 'nothing-here'), '--out', existing, '--resume']);
    assertOneLine(resumed, /nothing-here/, 'bad data on resume');
    assert.deepEqual(readdirSync(existing).sort(), ['checkpoints', 'log.jsonl']);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
