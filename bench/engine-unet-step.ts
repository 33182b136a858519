/**
 * Engine benchmark (2): the tiny-UNet distillation step of ../shared/BASELINES.md, side by side with
 * PyTorch CPU (../shared/baselines/bench_train.py, same architecture, batch, shapes and work per step):
 * two teacher forwards (cond, uncond) with CFG, a stand-in solver step, one target forward, the student
 * forward + backward against MSE, and AdamW on every student parameter — all in one ORT session.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Graph, Value } from '../src/ir/index.js';
import { parseUNetConfig, randomUNetWeights, unet2DConditionModel } from '../src/models/unet/index.js';
import { Scope } from '../src/nn/index.js';
import { concat, createGraph } from '../src/ops/index.js';
import type { HostTensor } from '../src/runtime/tensors.js';
import { TrainStep } from '../src/train/index.js';
import { TorchGenerator } from '../src/util/torch-generator.js';
import { formatMs } from './timing.js';

const BATCH = 8;
const SEQ = 77;
/** TINY_UNET of ../shared/baselines/common.py (attention at the 32×32 level: 1024 tokens). */
const TINY_UNET = parseUNetConfig({
  sample_size: 32,
  in_channels: 4,
  out_channels: 4,
  layers_per_block: 2,
  block_out_channels: [32, 64],
  cross_attention_dim: 32,
  attention_head_dim: 8,
  down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
});

function buildStep(graph: Graph) {
  const input = (name: string, shape: number[]) => graph.input(name, shape);
  const x = input('x', [BATCH, 4, 32, 32]);
  const t = input('t', [BATCH]);
  const s = input('s', [BATCH]);
  const cond = input('cond', [BATCH, SEQ, 32]);
  const uncond = input('uncond', [BATCH, SEQ, 32]);
  const unet = (prefix: string, sample: Value, timestep: Value, states: Value) =>
    unet2DConditionModel(new Scope(graph, prefix), TINY_UNET, { sample, timestep, encoderHiddenStates: states });
  const w = 7.5;
  // Both teacher passes as one batch of 2·B (what CFG pipelines do); same work as two calls.
  const [epsCond, epsUncond] = unet('teacher', concat([x, x], 0), concat([t, t], 0), concat([cond, uncond], 0)).split([BATCH, BATCH], 0);
  const eps = epsUncond.add(epsCond.sub(epsUncond).mul(w));
  const xPrev = x.sub(eps.mul(0.02)); // the stand-in solver step of bench_train.py
  const target = unet('target', xPrev, s, cond).stopGradient();
  const studentStart = graph.params.length;
  const pred = unet('', x, t, cond);
  const err = pred.sub(target);
  return { loss: err.mul(err).mean(), student: graph.params.slice(studentStart) };
}

function batchFeeds(): Record<string, HostTensor> {
  const g = new TorchGenerator(0);
  const f = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });
  const t = Float32Array.from({ length: BATCH }, (_, i) => (i * 997 + 13) % 1000);
  return {
    x: f([BATCH, 4, 32, 32], g.randn([BATCH, 4, 32, 32])),
    cond: f([BATCH, SEQ, 32], g.randn([BATCH, SEQ, 32])),
    uncond: f([BATCH, SEQ, 32], g.randn([BATCH, SEQ, 32])),
    t: f([BATCH], t),
    s: f(
      [BATCH],
      t.map((v) => Math.max(0, v - 20)),
    ),
  };
}

export interface StepTimes {
  compileMs: number;
  firstStepMs: number;
  stepMs: number[];
}

export async function benchOurStep(runs: number): Promise<StepTimes> {
  const t0 = performance.now();
  const graph = createGraph();
  const { loss, student } = buildStep(graph);
  const frozenParams = graph.params.filter((p) => !student.includes(p));
  const frozen = new Map([...randomUNetWeights(frozenParams, 1)]);
  await using step = await TrainStep.create({
    graph,
    loss,
    trainable: student,
    initial: randomUNetWeights(student, 0),
    frozen,
    optimizer: { lr: 1e-5, weightDecay: 1e-2 },
  });
  const compileMs = performance.now() - t0;
  const feeds = batchFeeds();
  const t1 = performance.now();
  await step.run(feeds);
  const firstStepMs = performance.now() - t1;
  const stepMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const ts = performance.now();
    await step.run(feeds);
    stepMs.push(performance.now() - ts);
  }
  return { compileMs, firstStepMs, stepMs };
}

/** Runs ../shared/baselines/bench_train.py in its tuned configuration, or explains what is missing. */
export function benchTorchStep(runs: number, warmup: number): { stepMs: number[] } | { skipped: string } {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const baselines = path.resolve(process.env.TDD_SHARED_DIR ?? path.join(here, '..', '..', 'shared'), 'baselines');
  const work = process.env.BENCH_WORK ?? path.join(process.env.TMPDIR ?? '/tmp', 'bench');
  const python = process.env.PY ?? '/usr/bin/python3';
  const missing = [
    [existsSync(path.join(baselines, 'bench_train.py')), `${baselines}/bench_train.py`],
    [existsSync(path.join(work, 'src', 'diffusers')), `${work}/src/diffusers (run ${baselines}/setup.sh with DIFFUSERS_GIT_DIR)`],
    [existsSync(path.join(work, 'openblas')), `${work}/openblas (setup.sh)`],
    [existsSync(python), `${python} with torch (apt-get install python3-torch)`],
  ].filter(([ok]) => !ok);
  if (missing.length > 0) return { skipped: `PyTorch baseline not set up: missing ${missing.map(([, what]) => what).join('; ')}` };
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tdd-bench-'));
  const results = path.join(tmp, 'results.jsonl');
  try {
    execFileSync(python, ['bench_train.py', String(runs), String(warmup)], {
      cwd: baselines,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        BENCH_WORK: work,
        DIFFUSERS_SRC: path.join(work, 'src'),
        BENCH_STUBS: path.join(work, 'stubs'),
        BENCH_RESULTS: results,
        BENCH_CONFIG: 'torch_openblas_malloc',
        LD_LIBRARY_PATH: path.join(work, 'openblas'),
        MALLOC_MMAP_MAX_: '0',
        MALLOC_TRIM_THRESHOLD_: '100000000000',
        MALLOC_TOP_PAD_: '1073741824',
      },
    });
    const record = JSON.parse(readFileSync(results, 'utf8').trim().split('\n').at(-1)!) as { times: number[] };
    return { stepMs: record.times.map((s) => s * 1000) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runUnetStepBench(runs: number): Promise<void> {
  console.log(
    `\ntiny-UNet distillation step (baselines TINY_UNET, batch ${BATCH}, 32×32 latents, 2 teacher fwd + 1 target fwd + student fwd/bwd + AdamW)`,
  );
  const ours = await benchOurStep(runs);
  const torch = benchTorchStep(runs, 2);
  const ourMedian = median(ours.stepMs);
  console.log(
    `  ours   : ${formatMs(ourMedian)}/step median (best ${formatMs(Math.min(...ours.stepMs))}), ${(BATCH / (ourMedian / 1000)).toFixed(2)} samples/s; compile ${formatMs(ours.compileMs)}, first step ${formatMs(ours.firstStepMs)}`,
  );
  if ('skipped' in torch) {
    console.log(`  torch  : skipped — ${torch.skipped}`);
    return;
  }
  const torchMedian = median(torch.stepMs);
  console.log(
    `  torch  : ${formatMs(torchMedian)}/step median (best ${formatMs(Math.min(...torch.stepMs))}), ${(BATCH / (torchMedian / 1000)).toFixed(2)} samples/s (OpenBLAS + tuned malloc)`,
  );
  console.log(`  speed-up vs PyTorch: ${(torchMedian / ourMedian).toFixed(2)}× (target ≥ 1.0×, aim 2×)`);
}
