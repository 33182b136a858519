/**
 * `npm run bench -- generate`: the SD-1.5 architecture (random weights, held in memory) generating one
 * 512×512 image in 4 TDD steps with classifier-free guidance, end to end on CPU, split into text encoding,
 * UNet steps and VAE decode; compared with the FLOP-bound time (the run's FLOPs ÷ the peak GFLOP/s one large
 * ORT Conv reaches on this machine, measured in the same invocation). Cold (compile) and warm runs are
 * reported separately; peak RSS at the end.
 */
import { parseClipTextConfig, clipTextModel } from '../src/models/clip/index.js';
import { randomUNetWeights, unet2DConditionModel } from '../src/models/unet/index.js';
import { vaeDecode } from '../src/models/vae/index.js';
import { Scope } from '../src/nn/index.js';
import { conv2d, createGraph } from '../src/ops/index.js';
import { StableDiffusionPipeline, type PipelineComponents } from '../src/pipelines/index.js';
import { compileGraph } from '../src/runtime/compile-graph.js';
import { sdNoiseDefaults } from '../src/schedulers/config.js';
import { ClipTokenizer } from '../src/tokenizer/index.js';
import { MemoryTensorSource, type MemoryTensor } from '../src/weights/tensor-source.js';
import type { Graph, Value } from '../src/ir/index.js';
import { fileURLToPath } from 'node:url';
import { baselineGflop, randn } from './models-unet.js';
import { SD15_UNET, SD_VAE } from './sd15-cases.js';
import { formatMs } from './timing.js';

/** CLIP ViT-L/14's text tower, as in SD-1.5's text_encoder/config.json. */
const CLIP_L = parseClipTextConfig({
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  vocab_size: 49408,
  max_position_embeddings: 77,
  hidden_act: 'quick_gelu',
  bos_token_id: 49406,
  eos_token_id: 49407,
});

function randomSource(name: string, build: (g: Graph) => void, seed: number): MemoryTensorSource {
  const g = createGraph();
  build(g);
  const weights = randomUNetWeights(g.params, seed);
  const tensors = new Map<string, MemoryTensor>(g.params.map((p: Value) => [p.name!, { shape: p.shape, data: weights.get(p.name!)! }]));
  return new MemoryTensorSource(tensors, `random ${name}`);
}

function sd15Components(): PipelineComponents {
  // Real SD-1.5 ids come from CLIP's 49k vocabulary; the fixture tokenizer's ids are a subset of that range,
  // which changes nothing about the cost of encoding 77 tokens.
  const tokenizer = ClipTokenizer.fromDirectory(fileURLToPath(new URL('../../shared/fixtures/tiny-sd/tokenizer', import.meta.url)));
  const unetSource = randomSource(
    'unet',
    (g) =>
      unet2DConditionModel(new Scope(g), SD15_UNET, {
        sample: g.input('s', [1, 4, 8, 8]),
        timestep: g.input('t', []),
        encoderHiddenStates: g.input('e', [1, 77, 768]),
      }),
    0,
  );
  const vaeSource = randomSource('vae', (g) => vaeDecode(new Scope(g), SD_VAE, g.input('z', [1, 4, 8, 8])), 1);
  const teSource = randomSource('text_encoder', (g) => clipTextModel(new Scope(g), CLIP_L, g.input('ids', [1, 77], 'int64')), 2);
  return {
    path: 'random SD-1.5',
    family: 'sd',
    unet: { config: SD15_UNET, rawConfig: {}, source: unetSource },
    vae: { config: SD_VAE, source: vaeSource },
    textEncoders: [{ name: 'text_encoder', config: CLIP_L, withProjection: false, tokenizer, source: teSource }],
    schedulerConfig: { ...sdNoiseDefaults, steps_offset: 1 },
    forceZerosForEmptyPrompt: false,
  };
}

/** GFLOP/s of one large 3×3 Conv (512→512 channels at 64×64), the machine's practical peak for ORT CPU. */
export async function convPeak(threads = 2): Promise<number> {
  const g = createGraph();
  const y = conv2d(g.input('x', [1, 512, 64, 64]), g.param('w', [512, 512, 3, 3]), { padding: 1 });
  const weights = new Map([['w', randn([512, 512, 3, 3], 9).data as Float32Array]]);
  await using session = (await compileGraph(g, [y], { weights, session: { intraOpThreads: threads } })).session;
  const feeds = { x: randn([1, 512, 64, 64], 8) };
  await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  const gflop = (2 * 512 * 512 * 9 * 64 * 64) / 1e9;
  return gflop / (Math.min(...times) / 1000);
}

export async function runGenerateBench(rounds: number): Promise<void> {
  const peak = await convPeak();
  console.log(`\ngenerate: ORT conv peak ${peak.toFixed(0)} GFLOP/s (3×3, 512→512, 64×64)`);
  await using pipe = StableDiffusionPipeline.fromComponents(sd15Components(), { intraOpThreads: 2 });
  const parts = { text: 0, unet: 0, decode: 0 };
  const timed =
    <T>(key: keyof typeof parts, f: () => Promise<T>) =>
    async (): Promise<T> => {
      const t0 = performance.now();
      try {
        return await f();
      } finally {
        parts[key] += performance.now() - t0;
      }
    };
  const encode = pipe.encodePrompts.bind(pipe);
  const predict = pipe.predictNoise.bind(pipe);
  const decode = pipe.decodeLatents.bind(pipe);
  pipe.encodePrompts = (...a) => timed('text', () => encode(...a))();
  pipe.predictNoise = (...a) => timed('unet', () => predict(...a))();
  pipe.decodeLatents = (...a) => timed('decode', () => decode(...a))();
  const request = {
    prompt: 'a red fox in snow',
    negativePrompt: '',
    steps: 4,
    scheduler: 'tdd',
    guidanceScale: 1.7,
    eta: 0.2,
    seed: 0,
    width: 512,
    height: 512,
  };
  const gflop = 4 * baselineGflop('sd15_unet_64', 2, 803) + baselineGflop('sd_vae_decoder_64', 1, 2515) + (2 * 2 * 77 * 123e6) / 1e9;
  for (let r = 0; r <= rounds; r++) {
    Object.assign(parts, { text: 0, unet: 0, decode: 0 });
    const t0 = performance.now();
    await pipe.txt2img(request);
    const total = performance.now() - t0;
    const label = r === 0 ? 'cold (compiles sessions)' : `warm run ${r}`;
    console.log(
      `  ${label.padEnd(26)} total ${formatMs(total).padStart(9)}  text ${formatMs(parts.text)}  unet ${formatMs(parts.unet)} (4 steps × batch 2)  decode ${formatMs(parts.decode)}` +
        (r > 0 ? `  → ${(total / 1000 / (gflop / peak)).toFixed(2)}× the FLOP-bound ${(gflop / peak).toFixed(1)} s (target ≤ 1.3×)` : ''),
    );
  }
  console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(2)} GiB`);
}
