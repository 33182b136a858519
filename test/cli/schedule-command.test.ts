// Runs the built `tdd` binary as a user would (npm test builds dist/ first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/tdd.js', import.meta.url));
const tdd = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

test('tdd schedule --json prints the TDD plan with intermediate timesteps', () => {
  const out = JSON.parse(
    execFileSync(process.execPath, [bin, 'schedule', '--scheduler', 'tdd', '--steps', '4', '--eta', '0.2', '--json'], { encoding: 'utf8' }),
  );
  assert.deepEqual(
    out.rows.slice(0, 4).map((r: any) => r.timestep),
    [999, 751, 499, 251],
  );
  assert.deepEqual(
    out.rows.slice(0, 4).map((r: any) => r.timestep_s),
    [799, 600, 399, 200],
  );
  assert.equal(out.rows[4].sigma, 0);
});

test('tdd schedule --special-jump uses the non-equidistant 6-step schedule', () => {
  const out = JSON.parse(tdd('schedule', '-s', 'tdd', '-n', '6', '--special-jump', '--json').stdout);
  assert.deepEqual(
    out.rows.slice(0, 6).map((r: any) => r.timestep),
    [999, 875, 751, 627, 499, 251],
  );
});

test('tdd schedule prints a table and reads a model folder config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdd-cli-'));
  mkdirSync(join(dir, 'scheduler'));
  // diffusers writes Python's Infinity literal; the reader must accept it.
  writeFileSync(
    join(dir, 'scheduler', 'scheduler_config.json'),
    '{"_class_name": "PNDMScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "steps_offset": 1, "lambda_min_clipped": -Infinity, "timestep_spacing": "leading"}',
  );
  const r = tdd('schedule', '-s', 'ddim', '-n', '4', '--config', dir);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /step\s+timestep/);
  assert.deepEqual(
    lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[1])),
    [751, 501, 251, 1],
  );
});

test('bad arguments give a one-line error and exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['schedule', '-s', 'nope'], /unknown scheduler "nope"/],
    [['schedule', '--steps', 'x'], /--steps must be an integer/],
    [['schedule', '-s', 'tdd', '--steps', '300'], /steps \(300\) cannot exceed tdd_train_step \(250\)/],
    [['schedule', '-s', 'lcm', '--special-jump'], /apply only to --scheduler tdd/],
    [['schedule', '--config', '/nonexistent/x.json'], /--config: \/nonexistent\/x.json does not exist/],
    [['schedule', '-s', 'tdd', '--tdd-train-step', '50', '--special-jump'], /special_jump/],
  ];
  for (const [args, message] of cases) {
    const r = tdd(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('tdd --help lists the commands', () => {
  const r = tdd('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /schedule/);
});
