// Device checks: what can be told without a GPU (platform, provider files), the one-line messages, and the
// RuntimeOptions → session options mapping. A machine with a usable GPU skips the "unavailable" assertions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkDevice, deviceProblem, ortReason, sessionOptionsFor } from '../../src/runtime/device.js';
import { DeviceUnavailableError } from '../../src/runtime/errors.js';

describe('devices', () => {
  test('cpu is always there', async () => {
    assert.equal(deviceProblem('cpu'), undefined);
    await checkDevice('cpu');
  });

  test('cuda without its provider files: one line naming the install command', async (t) => {
    const problem = deviceProblem('cuda');
    if (!problem) return t.skip('CUDA provider files are installed here');
    assert.doesNotMatch(problem, /\n/);
    if (process.platform === 'linux' && process.arch === 'x64') {
      assert.match(
        problem,
        /CUDA execution provider files are not installed .*npm ci --onnxruntime-node-install=cuda12.*CUDA 12 and cuDNN 9/,
      );
    }
    await assert.rejects(
      checkDevice('cuda'),
      (e: Error) => e instanceof DeviceUnavailableError && e.device === 'cuda' && e.reason === problem,
    );
  });

  test('webgpu: usable, or one line saying what is missing', async (t) => {
    try {
      await checkDevice('webgpu');
      t.diagnostic('a WebGPU adapter is available here');
    } catch (e) {
      assert.ok(e instanceof DeviceUnavailableError, String(e));
      assert.match(e.message, /^device 'webgpu' is not available: /);
      assert.doesNotMatch(e.message, /\n/);
      assert.match(e.reason, /GPU|WebGPU support/);
    }
  });

  test('ORT messages are cut to their useful line', () => {
    const dawn = new Error(
      '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\n',
    );
    assert.equal(ortReason(dawn), 'Failed to get a WebGPU adapter: No supported adapters');
    assert.equal(
      ortReason('OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library'),
      'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library',
    );
  });

  test('RuntimeOptions map onto session options; unset values stay unset (the session defaults apply)', () => {
    assert.deepEqual(sessionOptionsFor({ device: 'webgpu', threads: 3 }), { executionProvider: 'webgpu', intraOpThreads: 3 });
    assert.deepEqual(sessionOptionsFor({}), {});
    assert.deepEqual(sessionOptionsFor(undefined), {});
  });
});
