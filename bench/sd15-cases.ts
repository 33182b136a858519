/**
 * The SD-1.5 architecture at the benchmark shapes of ../shared/BASELINES.md: UNet (runwayml config,
 * random weights) at batch 2 × 64×64 latents (512 px with CFG).
 */
import { parseUNetConfig, randomUNetWeights, unet2DConditionModel } from '../src/models/unet/index.js';
import { parseAutoencoderKLConfig, vaeDecode } from '../src/models/vae/index.js';
import { Scope } from '../src/nn/index.js';
import { baselineGflop, randn, type ModelCase } from './models-unet.js';

/** SD15_UNET of ../shared/baselines/common.py; everything else is the diffusers default. */
export const SD15_UNET = parseUNetConfig({
  sample_size: 64,
  in_channels: 4,
  out_channels: 4,
  layers_per_block: 2,
  block_out_channels: [320, 640, 1280, 1280],
  cross_attention_dim: 768,
  attention_head_dim: 8,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
});

export function sd15UnetCase(batch = 2, hw = 64): ModelCase {
  const timestep: Float32Array = new Float32Array(batch).fill(500);
  const sample = randn([batch, 4, hw, hw], 1);
  const states = randn([batch, 77, 768], 2);
  return {
    label: `SD1.5 UNet ${batch}×4×${hw}×${hw}`,
    baselineDir: `unet_${hw}`,
    // BASELINES.md: 803 GFLOP per 64×64 latent.
    gflop: baselineGflop(`sd15_unet_${hw}`, batch, hw === 64 ? 803 : 180),
    build: (graph) => {
      const output = unet2DConditionModel(new Scope(graph), SD15_UNET, {
        sample: graph.input('sample', [batch, 4, hw, hw]),
        timestep: graph.input('timestep', [batch]),
        encoderHiddenStates: graph.input('encoder_hidden_states', [batch, 77, 768]),
      });
      return { output, params: graph.params };
    },
    weights: (params) => randomUNetWeights(params, 0),
    feeds: () => {
      const common = { sample, timestep: { dtype: 'float32' as const, dims: [batch], data: timestep }, encoder_hidden_states: states };
      return { ours: common, baseline: common };
    },
  };
}

/** SD_VAE of ../shared/baselines/common.py (the SD-1.x/2.x AutoencoderKL). */
export const SD_VAE = parseAutoencoderKLConfig({
  in_channels: 3,
  out_channels: 3,
  latent_channels: 4,
  layers_per_block: 2,
  norm_num_groups: 32,
  block_out_channels: [128, 256, 512, 512],
  sample_size: 512,
  down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'],
  up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'],
});

export function sdVaeDecodeCase(batch = 1, hw = 64): ModelCase {
  const latents = randn([batch, 4, hw, hw], 3);
  return {
    label: `SD VAE decode ${batch}×4×${hw}×${hw} → ${hw * 8}×${hw * 8}`,
    baselineDir: `vae_dec_${hw}`,
    // BASELINES.md: 2515 GFLOP per 64×64 latent.
    gflop: baselineGflop(`sd_vae_decoder_${hw}`, batch, 2515),
    build: (graph) => {
      const output = vaeDecode(new Scope(graph), SD_VAE, graph.input('latent', [batch, 4, hw, hw]));
      return { output, params: graph.params };
    },
    weights: (params) => randomUNetWeights(params, 1),
    feeds: () => ({ ours: { latent: latents }, baseline: { latent: latents } }),
  };
}
