/**
 * The embedded emoji model's architecture as diffusers/transformers config objects: a small AutoencoderKL
 * (64×64×3 ↔ 16×16×4 by default, or 8×8×4), a small CLIP text encoder over the caption vocabulary and a small
 * UNet2DConditionModel (epsilon prediction, SD's scaled-linear noise schedule). Written as the folders' config
 * files, so the trained model loads through the same loaders as any SD checkpoint.
 */

/** Pixels per latent cell: 4 (16×16 latents for 64 px images) or 8 (8×8). */
import { TeacherConfigError } from './config.js';
import { sdNoiseDefaults } from '../schedulers/config.js';
export type LatentFactor = 4 | 8;

export interface EmojiArchitectureOptions {
  /** Image side in pixels (default 64). */
  readonly imageSize?: number;
  readonly latentFactor?: LatentFactor;
  /** Token ids of the caption vocabulary (vocab.json's size). */
  readonly vocabSize: number;
  /** Tokens per prompt, BOS and EOS included (tokenizer model_max_length). */
  readonly maxTokens: number;
  /** Text encoder width = UNet cross-attention width. */
  readonly textWidth?: number;
  readonly textLayers?: number;
  readonly unetChannels?: readonly number[];
}

export interface EmojiArchitecture {
  readonly vae: Record<string, unknown>;
  readonly textEncoder: Record<string, unknown>;
  readonly unet: Record<string, unknown>;
  readonly scheduler: Record<string, unknown>;
  readonly imageSize: number;
  readonly latentSize: number;
  readonly maxTokens: number;
}

export function emojiArchitecture(o: EmojiArchitectureOptions): EmojiArchitecture {
  const imageSize = o.imageSize ?? 64;
  const factor = o.latentFactor ?? 4;
  if (factor !== 4 && factor !== 8) throw new TeacherConfigError(`latent factor must be 4 or 8, got ${factor}`);
  if (imageSize % (factor * 4) !== 0) throw new TeacherConfigError(`image size ${imageSize} must be a multiple of ${factor * 4}`);
  const latentSize = imageSize / factor;
  // One VAE block per factor of two, plus the full-resolution one.
  const vaeChannels = factor === 4 ? [32, 64, 64] : [32, 64, 64, 64];
  const textWidth = o.textWidth ?? 128;
  const unetChannels = [...(o.unetChannels ?? [64, 128, 128])];
  const vae = {
    _class_name: 'AutoencoderKL',
    act_fn: 'silu',
    block_out_channels: vaeChannels,
    down_block_types: vaeChannels.map(() => 'DownEncoderBlock2D'),
    up_block_types: vaeChannels.map(() => 'UpDecoderBlock2D'),
    in_channels: 3,
    out_channels: 3,
    latent_channels: 4,
    layers_per_block: 1,
    norm_num_groups: 16,
    sample_size: imageSize,
    // Replaced by the measured 1/std of the training latents once the VAE is trained.
    scaling_factor: 1,
    shift_factor: null,
    latents_mean: null,
    latents_std: null,
    force_upcast: false,
    mid_block_add_attention: true,
    use_quant_conv: true,
    use_post_quant_conv: true,
  };
  const textEncoder = {
    architectures: ['CLIPTextModel'],
    model_type: 'clip_text_model',
    vocab_size: o.vocabSize,
    hidden_size: textWidth,
    intermediate_size: textWidth * 4,
    projection_dim: textWidth,
    num_hidden_layers: o.textLayers ?? 4,
    num_attention_heads: 4,
    max_position_embeddings: o.maxTokens,
    hidden_act: 'quick_gelu',
    layer_norm_eps: 1e-5,
    attention_dropout: 0,
    dropout: 0,
    // Filled in from the vocabulary (BOS and EOS are its last two ids; EOS doubles as padding).
    bos_token_id: o.vocabSize - 2,
    eos_token_id: o.vocabSize - 1,
    pad_token_id: o.vocabSize - 1,
    torch_dtype: 'float32',
  };
  const depth = unetChannels.length;
  const unet = {
    _class_name: 'UNet2DConditionModel',
    sample_size: latentSize,
    in_channels: 4,
    out_channels: 4,
    // Self/cross-attention below the top resolution only: the top level is the costliest and least semantic.
    down_block_types: unetChannels.map((_, i) => (i === 0 ? 'DownBlock2D' : 'CrossAttnDownBlock2D')),
    up_block_types: unetChannels.map((_, i) => (i === depth - 1 ? 'UpBlock2D' : 'CrossAttnUpBlock2D')),
    mid_block_type: 'UNetMidBlock2DCrossAttn',
    block_out_channels: unetChannels,
    layers_per_block: 1,
    cross_attention_dim: textWidth,
    attention_head_dim: 8,
    norm_num_groups: 32,
    norm_eps: 1e-5,
    act_fn: 'silu',
    flip_sin_to_cos: true,
    freq_shift: 0,
    center_input_sample: false,
    downsample_padding: 1,
    mid_block_scale_factor: 1,
    use_linear_projection: false,
    transformer_layers_per_block: 1,
    time_embedding_type: 'positional',
    upcast_attention: false,
  };
  const scheduler = {
    _class_name: 'DDIMScheduler',
    ...sdNoiseDefaults,
    prediction_type: 'epsilon',
    clip_sample: false,
    set_alpha_to_one: false,
    steps_offset: 1,
    timestep_spacing: 'leading',
    trained_betas: null,
  };
  return { vae, textEncoder, unet, scheduler, imageSize, latentSize, maxTokens: o.maxTokens };
}
