/**
 * `npm run bench -- real-size`: `tdd generate` as a user runs it, on diffusers folders with the real SD1.5 and
 * SDXL configs and random fp16 weights (written once into the cache folder), timed as a subprocess with its
 * peak RSS. Cold is the first run after the page cache is dropped (where the OS lets us; the weight files are
 * then read from disk), warm the same command again. The FLOP-bound time is the run's FLOPs (UNet steps with
 * CFG, VAE decode, text encoders; bench/flops.ts) at the GFLOP/s one large ORT Conv reaches in this same run.
 * `sd15-512-single-file` (run only when named) reads the SD1.5 weights from one A1111-style checkpoint.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Graph, Value } from '../src/ir/index.js';
import { clipTextModel, clipTextModelWithProjection, parseClipTextConfig } from '../src/models/clip/index.js';
import { parseUNetConfig, unet2DConditionModel } from '../src/models/unet/index.js';
import { parseAutoencoderKLConfig, vaeDecode } from '../src/models/vae/index.js';
import { Scope } from '../src/nn/index.js';
import { createGraph } from '../src/ops/index.js';
import { defaultCacheDir } from '../src/runtime/session-cache.js';
import { packageRoot } from '../src/util/package-root.js';
import { graphFlops } from './flops.js';
import { convPeak } from './generate.js';
import { ensureRealSizeModel, ensureRealSizeSingleFile, fp32WeightBytes, REAL_SIZE_MODELS } from './real-size-models.js';

interface RealSizeCase {
  name: string;
  model: 'sd15' | 'sdxl';
  /** Read from one A1111-style checkpoint instead of the diffusers folder (run only when named). */
  singleFile?: boolean;
  size: number;
  steps: number;
  guidance: number;
}

export const REAL_SIZE_CASES: RealSizeCase[] = [
  { name: 'sd15-512', model: 'sd15', size: 512, steps: 4, guidance: 1.7 },
  { name: 'sdxl-1024', model: 'sdxl', size: 1024, steps: 4, guidance: 1.7 },
  { name: 'sd15-512-single-file', model: 'sd15', size: 512, steps: 4, guidance: 1.7, singleFile: true },
];

function flopsOf(build: (g: Graph) => Value[]): number {
  const g = createGraph();
  return graphFlops(g, build(g));
}

/** FLOPs of one generation: text encoders (prompt + negative), UNet at batch 2 per step, one VAE decode. */
export function caseFlops(c: RealSizeCase): number {
  const spec = REAL_SIZE_MODELS[c.model];
  const unet = parseUNetConfig(spec.unet);
  const latent = c.size / 8;
  const batch = c.guidance > 1 ? 2 : 1;
  const unetFlops = flopsOf((g) => {
    const xl = unet.addition_embed_type === 'text_time';
    return [
      unet2DConditionModel(new Scope(g), unet, {
        sample: g.input('sample', [batch, 4, latent, latent]),
        timestep: g.input('t', []),
        encoderHiddenStates: g.input('e', [batch, 77, Number(spec.unet.cross_attention_dim)]),
        ...(xl ? { textEmbeds: g.input('te', [batch, 1280]), timeIds: g.input('ti', [batch, 6]) } : {}),
      }),
    ];
  });
  const vaeFlops = flopsOf((g) => [vaeDecode(new Scope(g), parseAutoencoderKLConfig(spec.vae), g.input('z', [1, 4, latent, latent]))]);
  const textFlops = spec.textEncoders.reduce(
    (s, te) =>
      s +
      flopsOf((g) => {
        const ids = g.input('ids', [1, 77], 'int64');
        const config = parseClipTextConfig(te.config);
        return [
          te.withProjection
            ? clipTextModelWithProjection(new Scope(g), config, ids).textEmbeds
            : clipTextModel(new Scope(g), config, ids).lastHiddenState,
        ];
      }),
    0,
  );
  return c.steps * unetFlops + vaeFlops + batch * textFlops;
}

interface Run {
  seconds: number;
  peakRssBytes: number;
}

/** Drops the page cache so the cold run reads the weights from disk (needs root; skipped, and said, elsewhere). */
function dropPageCache(): boolean {
  try {
    spawnSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

function runGenerate(c: RealSizeCase, modelDir: string, outDir: string, device: string): Run {
  const args = [
    join(packageRoot(), 'bin', 'tdd.js'),
    'generate',
    'a photograph of a red fox in the snow',
    '--model',
    modelDir,
    '--scheduler',
    'tdd',
    '--steps',
    String(c.steps),
    '--guidance',
    String(c.guidance),
    '--eta',
    '0.2',
    '--width',
    String(c.size),
    '--height',
    String(c.size),
    '--seed',
    '0',
    '--out',
    outDir,
    '--json',
    ...(device === 'cpu' ? [] : ['--device', device]),
  ];
  const time = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = time
    ? spawnSync('/usr/bin/time', ['-v', process.execPath, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 })
    : spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`tdd generate (${c.name}) failed with status ${r.status}:\n${r.stderr.slice(-3000)}`);
  const rssKb = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1];
  return { seconds, peakRssBytes: rssKb ? Number(rssKb) * 1024 : NaN };
}

export async function runRealSizeBench(only?: readonly string[], device = 'cpu'): Promise<void> {
  const cacheDir = join(defaultCacheDir(), 'bench');
  const cases = REAL_SIZE_CASES.filter((c) => (only?.length ? only.includes(c.name) : !c.singleFile));
  const modelOf = (c: RealSizeCase, log?: (line: string) => void) =>
    c.singleFile ? ensureRealSizeSingleFile(cacheDir, log) : ensureRealSizeModel(cacheDir, c.model, log);
  for (const c of cases) modelOf(c, (line) => console.log(line));
  const threads = os.availableParallelism();
  // The peak is the best one large Conv reaches: measured before and after the cases (a busy moment lowers one).
  const before = await convPeak(threads);
  console.log(
    `real-size: /usr/bin/time ${existsSync('/usr/bin/time') ? 'found' : 'missing: no peak RSS'}; device ${device}; ${threads} threads`,
  );
  const outDir = mkdtempSync(join(os.tmpdir(), 'tdd-real-size-'));
  try {
    const results: { c: RealSizeCase; cold: Run; warm: Run; dropped: boolean }[] = [];
    for (const c of cases) {
      const dir = modelOf(c);
      const dropped = dropPageCache();
      const cold = runGenerate(c, dir, outDir, device);
      const warm = runGenerate(c, dir, outDir, device);
      results.push({ c, cold, warm, dropped });
      console.log(
        `  ${c.name}: cold ${cold.seconds.toFixed(1)} s, warm ${warm.seconds.toFixed(1)} s (ratios once the peak is measured again)`,
      );
    }
    const after = await convPeak(threads);
    const peak = Math.max(before, after);
    console.log(
      `real-size: ORT conv peak ${peak.toFixed(0)} GFLOP/s (3×3, 512→512, 64×64; ${before.toFixed(0)} before the cases, ${after.toFixed(0)} after)`,
    );
    for (const { c, cold, warm, dropped } of results) {
      const flops = caseFlops(c);
      const bound = flops / 1e9 / peak;
      const rss = Math.max(cold.peakRssBytes, warm.peakRssBytes);
      const weights = fp32WeightBytes(c.model);
      console.log(
        `real-size ${c.name}${device === 'cpu' ? '' : ` (${device})`}: cold ${cold.seconds.toFixed(1)} s, warm ${warm.seconds.toFixed(1)} s = ${(warm.seconds / bound).toFixed(2)}x FLOP-bound, peak RSS ${(rss / 2 ** 30).toFixed(2)} GiB = ${(rss / weights).toFixed(2)}x fp32 weights`,
      );
      console.log(
        `  (${(flops / 1e12).toFixed(1)} TFLOP, FLOP-bound ${bound.toFixed(1)} s; fp32 weights ${(weights / 2 ** 30).toFixed(2)} GiB; cold run ${dropped ? 'after dropping the page cache' : 'with the page cache as it was (cannot drop it here)'})`,
      );
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
