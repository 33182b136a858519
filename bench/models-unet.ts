/**
 * Model benchmark (`npm run bench -- unet`): the SD1.5-config UNet forward (batch 2, 64×64 latents = 512 px
 * with CFG) and the SD VAE decode to 512×512, random weights, ORT CPU at 2 threads — our emitted graphs side
 * by side with the ONNX graphs torch.onnx.export makes of the same diffusers modules
 * (../shared/baselines/export_onnx.py), loaded into the same runtime with the same session options and timed
 * in alternation. Needs the exported baseline models under $BENCH_WORK/onnx (see README "Benchmarks");
 * without them only our side is timed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Graph, Value } from '../src/ir/index.js';
import { emitModel } from '../src/onnx/emit.js';
import { saveModel } from '../src/onnx/save.js';
import { createSession, type Session } from '../src/runtime/session.js';
import type { HostTensor } from '../src/runtime/tensors.js';
import { TorchGenerator } from '../src/util/torch-generator.js';
import { formatMs, timeInterleaved, type Timing } from './timing.js';

export interface ModelCase {
  /** Key of the model in the baseline's flops.json and directory name under $BENCH_WORK/onnx. */
  label: string;
  baselineDir: string;
  /** GFLOP of one call at the benchmarked shape (multiply-add = 2), for GFLOP/s. */
  gflop: number;
  build: (graph: Graph) => { output: Value; params: readonly Value[] };
  weights: (params: readonly Value[]) => Map<string, Float32Array>;
  /** Feeds for our graph and for the baseline graph (their input names differ). */
  feeds: () => { ours: Record<string, HostTensor>; baseline: Record<string, HostTensor> };
}

const benchWork = (): string => process.env.BENCH_WORK ?? path.join(os.tmpdir(), 'bench');

export const randn = (dims: number[], seed: number): HostTensor => ({ dtype: 'float32', dims, data: new TorchGenerator(seed).randn(dims) });

/** Emits our graph with baked weights to a temp file (external data: SD models are past 2 GB) and opens it. */
async function openOurs(c: ModelCase, graph: Graph, dir: string): Promise<{ session: Session; createMs: number }> {
  const { output, params } = c.build(graph);
  const { model } = emitModel(graph, [output], { weights: c.weights(params) });
  const file = path.join(dir, `${c.label}.onnx`);
  saveModel(model, file);
  const t0 = performance.now();
  const session = await createSession(file, { intraOpThreads: 2, graphOptimizationLevel: 'all' });
  return { session, createMs: performance.now() - t0 };
}

function report(c: ModelCase, timings: Timing[], createMs: Record<string, number>): void {
  console.log(`\n${c.label}: ${c.gflop.toFixed(0)} GFLOP per call`);
  for (const t of timings) {
    const gflops = c.gflop / (t.medianMs / 1000);
    console.log(
      `  ${t.name.padEnd(32)} median ${formatMs(t.medianMs).padStart(9)}  min ${formatMs(t.minMs).padStart(9)}  ${gflops.toFixed(0)} GFLOP/s  (session ${formatMs(createMs[t.name])})`,
    );
  }
  if (timings.length === 2) {
    const speed = timings[1].medianMs / timings[0].medianMs;
    console.log(`  speed vs ORT-export: ${speed.toFixed(3)}× (target ≥ 0.9×; >1 = ours faster)`);
  }
}

/** Times one model case: ours alone, or ours and the baseline export interleaved. */
export async function benchModelCase(c: ModelCase, graph: Graph, rounds: number): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tdd-bench-'));
  const sessions: Session[] = [];
  try {
    const feeds = c.feeds();
    const ours = await openOurs(c, graph, dir);
    sessions.push(ours.session);
    const candidates = [{ name: 'ours (IR → ONNX)', run: () => ours.session.run(feeds.ours) }];
    const createMs: Record<string, number> = { 'ours (IR → ONNX)': ours.createMs };
    const baselineModel = path.join(benchWork(), 'onnx', c.baselineDir, 'model.onnx');
    if (existsSync(baselineModel)) {
      const t0 = performance.now();
      const baseline = await createSession(baselineModel, { intraOpThreads: 2, graphOptimizationLevel: 'all' });
      createMs['torch.onnx.export graph'] = performance.now() - t0;
      sessions.push(baseline);
      candidates.push({ name: 'torch.onnx.export graph', run: () => baseline.run(feeds.baseline) });
    } else {
      console.log(`  (no baseline export at ${baselineModel}: run ../shared/baselines/setup.sh and export_onnx.py; timing ours only)`);
    }
    report(c, await timeInterleaved(candidates, { warmup: 1, rounds }), createMs);
  } finally {
    for (const s of sessions) await s.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GFLOP (2·GMAC) from the baseline's flops.json when present (same counting as BASELINES.md), else the fallback. */
export function baselineGflop(key: string, batch: number, fallbackPerItem: number): number {
  const file = path.join(benchWork(), 'flops.json');
  if (existsSync(file)) {
    const table = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { gmac?: unknown } | undefined>;
    const gmac = table[key]?.gmac;
    if (typeof gmac === 'number') return 2 * gmac * batch;
  }
  return fallbackPerItem * batch;
}
