// Other tools import the built package by name; the documented entry points must be there.
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('the package entry exports createScheduler, schedulerNames and TorchGenerator', async () => {
  const api = await import('tdd-diffusion');
  assert.deepEqual([...api.schedulerNames].sort(), ['ddim', 'dmd', 'dpmsolver++', 'dpmsolver-singlestep', 'euler', 'lcm', 'tcd', 'tdd']);
  const s = api.createScheduler('tdd', { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 });
  assert.deepEqual([...s.setTimesteps(4).timesteps], [999, 751, 499, 251]);
  const z = new api.TorchGenerator(42).randn([1, 4, 8, 8]);
  assert.equal(z.length, 256);
});

test('the package entry exports the engine: graphs, autodiff, training, sessions, UNet, safetensors', async () => {
  const api = await import('tdd-diffusion');
  for (const name of [
    'createGraph',
    'conv2d',
    'attention',
    'grad',
    'checkpoint',
    'TrainStep',
    'createSession',
    'createCachedSession',
    'emitModel',
    'encodeModel',
    'evaluate',
    'Scope',
    'unet2DConditionModel',
    'SafetensorsFile',
    'writeSafetensors',
  ]) {
    assert.equal(typeof (api as Record<string, unknown>)[name], 'function', name);
  }
  const g = api.createGraph();
  const x = g.input('x', [3]);
  const [dx] = api.grad(x.mul(x).sum(), [x]);
  assert.deepEqual([...api.evaluate(g, [dx], { x: { shape: [3], dtype: 'float32', data: Float64Array.of(1, 2, 3) } })[0].data], [2, 4, 6]);
});

test('the package entry exports models, tokenizer, loaders, LoRA and the pipeline', async () => {
  const api = (await import('tdd-diffusion')) as Record<string, unknown>;
  const names = [
    'vaeEncode',
    'vaeDecode',
    'taesdDecode',
    'parseAutoencoderKLConfig',
    'clipTextModel',
    'clipTextModelWithProjection',
    'ClipTokenizer',
    'parseLora',
    'matchLora',
    'fuseLora',
    'LoraAdapterSet',
    'UnfusedLora',
    'writeLora',
    'openSingleFile',
    'writeSingleFile',
    'loadPipeline',
    'StableDiffusionPipeline',
    'txt2img',
    'GeneratedImage',
  ];
  for (const name of names) assert.equal(typeof api[name], 'function', name);
});
