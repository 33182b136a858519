/**
 * Decoding paths: tiling (diffusers' tiled_decode rule) and the TAESD fast decoder. The tiny-sd VAE has
 * sample_size 64 and factor 2, so its latent tile is 32 cells, the stride 24, the blend 16 pixels and the crop 48.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadPipeline, type StableDiffusionPipeline } from '../../src/pipelines/index.js';
import { LatentDecoder } from '../../src/pipelines/latent-decoder.js';
import { tiledDecode } from '../../src/pipelines/vae-tiling.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { SafetensorsFile, writeSafetensors } from '../../src/weights/index.js';
import { compare, fixture } from '../helpers/model-parity.js';

describe('tiledDecode stitching', () => {
  test('tiles of a fake decoder are blended linearly over the overlap and cropped to the stride', async () => {
    // Fake "decoder": a constant image per tile (its top-left latent value), factor 1, tile 4 → stride 3,
    // blend 1, crop 3. With blend extent 1 the only blended column has weight y/e = 0 for the new tile, so it
    // takes the neighbour's edge value.
    const z = Float32Array.from({ length: 7 * 7 }, (_, i) => i);
    const calls: [number, number][] = [];
    const out = await tiledDecode(z, 1, 1, 7, 7, {
      tile: 4,
      factor: 1,
      decodeTile: async (t, th, tw) => {
        calls.push([th, tw]);
        return new Float32Array(3 * th * tw).fill(t[0]);
      },
    });
    assert.deepEqual(calls, [
      [4, 4],
      [4, 4],
      [4, 1],
      [4, 4],
      [4, 4],
      [4, 1],
      [1, 4],
      [1, 4],
      [1, 1],
    ]);
    assert.equal(out.length, 3 * 49);
    // Output row 1: tiles start at columns 0, 3, 6 (values 0, 3, 6); columns 3 and 6 carry the left edge.
    assert.deepEqual([...out.subarray(7, 14)], [0, 0, 0, 0, 3, 3, 3]);
    // Output row 4 (tile row 1, its row 1: not blended vertically): values 21, 24, 27 with the same column rule.
    assert.deepEqual([...out.subarray(4 * 7, 5 * 7)], [21, 21, 21, 21, 24, 24, 24]);
  });

  test('a 2-pixel blend mixes the neighbours as diffusers does: a·(1 − y/e) + b·(y/e)', async () => {
    // factor 1, tile 8: stride 6, extent 2, crop 6; two tiles across a 12-wide latent.
    const out = await tiledDecode(new Float32Array(12 * 1), 1, 1, 1, 12, {
      tile: 8,
      factor: 1,
      decodeTile: async (_t, th, tw) => Float32Array.from({ length: 3 * th * tw }, (_, i) => (tw === 8 ? 10 : 20) + (i % tw)),
    });
    // Tile A (columns 0–7) = 10..17; tile B (starts at column 6, width 6) = 20..25, its first 2 columns blended
    // with A's last 2: x=0 → A[6]·1 + B[0]·0 = 16, x=1 → A[7]·½ + B[1]·½ = (17 + 21)/2 = 19.
    assert.deepEqual([...out.subarray(0, 12)], [10, 11, 12, 13, 14, 15, 16, 19, 22, 23, 24, 25]);
  });
});

describe('pipeline decoding', () => {
  let pipe: StableDiffusionPipeline;
  let dir: string;
  before(async () => {
    pipe = await loadPipeline(fixture('tiny-sd'));
    dir = mkdtempSync(join(tmpdir(), 'tdd-decode-'));
  });
  after(async () => {
    await pipe.release();
    rmSync(dir, { recursive: true, force: true });
  });

  test('tiling a latent no larger than the tile changes nothing; larger ones stay close to the full decode', async () => {
    const z = new TorchGenerator(3).randn([1, 4, 48, 48]);
    const small = z.subarray(0, 4 * 32 * 32);
    const full32 = await pipe.decodeLatents(small, 1, 32, 32, { tiling: false });
    assert.deepEqual(await pipe.decodeLatents(small, 1, 32, 32, { tiling: true }), full32);
    const full = await pipe.decodeLatents(z, 1, 48, 48, { tiling: false });
    const tiled = await pipe.decodeLatents(z, 1, 48, 48, { tiling: true });
    assert.equal(tiled.length, full.length);
    let mean = 0;
    for (let i = 0; i < full.length; i++) mean += Math.abs(full[i] - tiled[i]);
    mean /= full.length;
    // Tiles see less context at their borders (the mid-block attention is global), so they differ a little.
    assert.ok(mean > 0 && mean < 0.5, `mean |tiled − full| = ${mean}`);
  });

  test('the TAESD decoder decodes when loaded and is required for fast decoding', async () => {
    await assert.rejects(pipe.decodeLatents(new Float32Array(4 * 8 * 8), 1, 8, 8, { fast: true }), /needs a TAESD decoder/);
    const golden = JSON.parse(readFileSync(new URL('../golden/taesd-tiny.json', import.meta.url), 'utf8'));
    const weights = SafetensorsFile.open(new URL('../golden/taesd-tiny.safetensors', import.meta.url).pathname);
    const tensors = [...weights.tensors.keys()].filter((k) => k.startsWith('encoder.') || k.startsWith('decoder.'));
    writeSafetensors(
      join(dir, 'diffusion_pytorch_model.safetensors'),
      tensors.map((k) => ({ name: k, dtype: 'F32' as const, shape: weights.info(k).shape, data: weights.float32(k) })),
    );
    weights.close();
    writeFileSync(join(dir, 'config.json'), JSON.stringify(golden.config));
    // The golden TAESD upsamples ×4, tiny-sd's VAE ×2: the pipeline refuses the pair.
    assert.throws(() => pipe.useTinyDecoder(dir), /upsamples ×4 from 4 latent channels; the model's VAE is ×2/);
    // Beside a VAE with three levels (×4) it is accepted, and its fast path reproduces the golden decode
    // (diffusers AutoencoderTiny.decode); the full VAE is not touched on that path.
    const decoder = new LatentDecoder(pipe.vae, { ...pipe.components.vae.config, block_out_channels: [32, 64, 64] });
    decoder.useTinyDecoder(dir);
    const ref = SafetensorsFile.open(new URL('../golden/taesd-tiny.safetensors', import.meta.url).pathname);
    try {
      const [n, , h, w] = ref.info('taesd.in.latents').shape;
      const image = await decoder.decode(ref.float32('taesd.in.latents'), n, h, w, { fast: true });
      compare('taesd decode via LatentDecoder', image, ref.float32('taesd.decode.sample'));
    } finally {
      ref.close();
      await decoder.release();
    }
  });
});
