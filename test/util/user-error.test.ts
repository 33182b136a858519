// One error taxonomy: every failure the user causes is a UserError, and every entry point maps it the same way
// (CLI: one line + exit code; server: its HTTP status; library: instanceof). Anything else is a bug.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as api from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import { createScheduler } from '../../src/schedulers/index.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { UserError, UserFileError, isUserError } from '../../src/util/user-error.js';
import { createApp, type AppDeps } from '../../src/server/app.js';
import { captureStderr } from '../helpers/capture-stderr.js';

/** Error classes of the public API that are internal on purpose: they mean a bug in us, not in the input. */
const INTERNAL = new Set(['GraphError', 'SessionError']);

describe('user error taxonomy', () => {
  test('every error class the library exports is a UserError, except the internal ones', () => {
    const classes = (Object.entries(api) as [string, unknown][]).filter(
      (e): e is [string, typeof Error] => /Error$/.test(e[0]) && typeof e[1] === 'function' && e[1].prototype instanceof Error,
    );
    assert.ok(classes.length >= 15, `found ${classes.length}`);
    for (const [name, cls] of classes) {
      if (INTERNAL.has(name)) assert.ok(!(cls.prototype instanceof UserError), `${name} should stay internal`);
      else if (name !== 'UserError') assert.ok(cls.prototype instanceof UserError, `${name} is not a UserError`);
    }
  });

  test('file errors answer 422, request errors 400, memory and devices 503; all exit 2', () => {
    const cases: [Error, number][] = [
      [new api.SafetensorsError('x'), 422],
      [new api.UNetConfigError('in_channels', 'is bad'), 422],
      [new api.GenerationError('width'), 400],
      [new api.SchedulerOptionError('steps'), 400],
      [new api.ModelMemoryError('unet', 1e9), 503],
      [new api.DeviceUnavailableError('webgpu', 'no adapter'), 503],
    ];
    for (const [e, status] of cases) {
      assert.ok(isUserError(e), e.name);
      assert.equal(e.httpStatus, status, e.name);
      assert.equal(e.exitCode, 2, e.name);
      assert.equal(e.name, e.constructor.name);
    }
    assert.ok(new api.LoaderError('x') instanceof UserFileError);
  });

  test('input checks that used to be RangeErrors are user errors now; invariants are not', () => {
    const tdd = createScheduler('tdd');
    assert.throws(
      () => tdd.setTimesteps(0),
      (e) => isUserError(e) && /steps must be a positive integer/.test((e as Error).message),
    );
    assert.throws(
      () => tdd.setTimesteps(4, { eta: 2 } as never),
      (e) => isUserError(e) && /eta/.test((e as Error).message),
    );
    assert.throws(
      () => createScheduler('nope'),
      (e) => isUserError(e) && /unknown scheduler "nope"/.test((e as Error).message),
    );
    assert.throws(
      () => new TorchGenerator().manualSeed(2 ** 64 * 2),
      (e) => isUserError(e) && /seed/.test((e as Error).message),
    );
  });

  test('the server answers a user error with its status and anything else with 500', async () => {
    let thrown: Error = new Error('x');
    const images = {
      get: () => {
        throw thrown;
      },
    };
    const app = createApp({ registry: {}, queue: {}, pool: {}, page: {}, images, version: '0' } as unknown as AppDeps);
    const fetchImage = async () => app.request('/api/images/00000000-0000-4000-8000-000000000000.png');
    thrown = new api.ModelMemoryError('unet', 1e9);
    assert.equal((await fetchImage()).status, 503);
    thrown = new api.SafetensorsError('model.safetensors: truncated');
    const file = await fetchImage();
    assert.equal(file.status, 422);
    assert.deepEqual(await file.json(), { message: 'model.safetensors: truncated' });
    thrown = new TypeError('a bug');
    const { result: bug, stderr } = await captureStderr(fetchImage);
    assert.equal(bug.status, 500);
    assert.match(stderr, /internal error on GET .*TypeError: a bug\n\s+at /s, 'a bug is logged with its stack');
  });

  test('the CLI prints a user error as one line with its exit code', async () => {
    for (const argv of [
      ['schedule', '--scheduler', 'nope'],
      ['schedule', '--steps', '0'],
      ['schedule', '--eta', '3'],
    ]) {
      const { result, stderr } = await captureStderr(() => main(argv));
      assert.equal(result, 2, argv.join(' '));
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr, /^error: /);
    }
  });
});
