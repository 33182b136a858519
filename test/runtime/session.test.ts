import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { encodeModel } from '../../src/onnx/encode.js';
import { OnnxDataType as DT } from '../../src/onnx/model.js';
import os from 'node:os';
import { createSession, defaultIntraOpThreads, DeviceUnavailableError, SessionError, type Session } from '../../src/runtime/session.js';
import { deviceProblem } from '../../src/runtime/device.js';
import { hostTensor, type HostTensor } from '../../src/runtime/tensors.js';
import { UserError } from '../../src/util/user-error.js';

/** y = a + b (a: [batch, 3] float32), n = Neg(k) (k: [2] int64). */
const modelBytes = encodeModel({
  graph: {
    name: 'two-inputs',
    nodes: [
      { opType: 'Add', inputs: ['a', 'b'], outputs: ['y'] },
      { opType: 'Neg', inputs: ['k'], outputs: ['n'] },
    ],
    inputs: [
      { name: 'a', dataType: DT.FLOAT, shape: ['batch', 3] },
      { name: 'b', dataType: DT.FLOAT, shape: ['batch', 3] },
      { name: 'k', dataType: DT.INT64, shape: [2] },
    ],
    outputs: [
      { name: 'y', dataType: DT.FLOAT, shape: ['batch', 3] },
      { name: 'n', dataType: DT.INT64, shape: [2] },
    ],
    initializers: [],
  },
});

describe('createSession / Session', () => {
  let session: Session | undefined;
  afterEach(async () => {
    await session?.release();
    session = undefined;
  });

  const feeds = (batch = 2) => ({
    a: hostTensor('float32', [batch, 3], new Float32Array(batch * 3).fill(1)),
    b: hostTensor('float32', [batch, 3], new Float32Array(batch * 3).fill(2)),
    k: hostTensor('int64', [2], new BigInt64Array([5n, -6n])),
  });

  test('reports names and metadata, runs with defaults', async () => {
    session = await createSession(modelBytes);
    assert.deepEqual(session.inputNames, ['a', 'b', 'k']);
    assert.deepEqual(session.outputNames, ['y', 'n']);
    assert.equal(session.executionProvider, 'cpu');
    assert.deepEqual(session.inputs[0], { name: 'a', dtype: 'float32', shape: ['batch', 3] });
    const out = await session.run(feeds(3));
    assert.deepEqual(out.y.dims, [3, 3]);
    assert.deepEqual([...(out.y.data as Float32Array)], Array(9).fill(3));
    assert.equal(out.n.dtype, 'int64');
    assert.deepEqual([...(out.n.data as BigInt64Array)], [-5n, 6n]);
  });

  test('explicit options are accepted', async () => {
    session = await createSession(modelBytes, { intraOpThreads: 1, graphOptimizationLevel: 'disabled', executionProvider: 'cpu' });
    const out = await session.run(feeds(1));
    assert.deepEqual(out.y.dims, [1, 3]);
  });

  test('feed validation errors name the input', async () => {
    session = await createSession(modelBytes);
    const s = session;
    const { a, b, k } = feeds();
    await assert.rejects(s.run({ a, b }), (e: Error) => e instanceof SessionError && /missing input 'k'/.test(e.message));
    await assert.rejects(s.run({ a, b, k, extra: k }), /unknown input 'extra'; model inputs: a, b, k/);
    await assert.rejects(s.run({ a, b, k: hostTensor('int32', [2]) }), /input 'k': expected dtype int64, got int32/);
    await assert.rejects(s.run({ a: hostTensor('float32', [6]), b, k }), /input 'a': expected rank 2 \[batch, 3\], got dims \[6\]/);
    await assert.rejects(s.run({ a: hostTensor('float32', [3, 2]), b, k }), /input 'a': dim 1 must be 3/);
    await assert.rejects(
      s.run({ a, b: hostTensor('float32', [1, 3]), k }),
      /input 'b': dim 0 \('batch'\) is 1 but input 'a' has 'batch' = 2/,
    );
    const bad: HostTensor = { dtype: 'float32', dims: [2, 3], data: new Float32Array(5) };
    await assert.rejects(s.run({ a: bad, b, k }), /input 'a': data has 5 elements/);
  });

  test('release() is idempotent; run after release fails clearly; asyncDispose releases', async () => {
    const s = await createSession(modelBytes);
    await s.release();
    await s.release();
    await assert.rejects(s.run(feeds()), /session has been released/);
    const s2 = await createSession(modelBytes);
    await s2[Symbol.asyncDispose]();
    await assert.rejects(s2.run(feeds()), /released/);
    await s2.release();
  });

  test('corrupt model bytes give a SessionError', async () => {
    await assert.rejects(
      createSession(new Uint8Array([1, 2, 3])),
      (e: Error) => e instanceof SessionError && /failed to create/.test(e.message),
    );
  });

  test('unavailable accelerator fails instead of falling back to CPU, in one line that says what it needs', async (t) => {
    // CUDA's provider files are not in the npm package; a machine with them installed (and a GPU) may succeed.
    try {
      session = await createSession(modelBytes, { executionProvider: 'cuda' });
      t.diagnostic('CUDA execution provider is available here; fallback check skipped');
    } catch (e) {
      assert.ok(e instanceof DeviceUnavailableError && e instanceof UserError && e.httpStatus === 503, String(e));
      assert.match(e.message, /^device 'cuda' is not available: /);
      assert.doesNotMatch(e.message, /\n/);
      if (deviceProblem('cuda')) assert.match(e.message, /npm ci --onnxruntime-node-install=cuda12/);
    }
  });

  test('threads: the default is every core the process may use; a bad count is refused', async () => {
    assert.equal(defaultIntraOpThreads(), os.availableParallelism());
    for (const n of [0, -1, 1.5])
      await assert.rejects(
        createSession(modelBytes, { intraOpThreads: n }),
        new RegExp(`intraOpThreads must be a positive integer \\(got ${n}\\)`),
      );
  });
});
