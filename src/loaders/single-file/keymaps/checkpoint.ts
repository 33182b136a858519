/**
 * Checkpoint-level tables: where each component lives in a single-file checkpoint of each family, which
 * keys tell the families apart, which leftover keys are ignored (and why), and the family rules for the
 * config fields that weights cannot tell (head counts, activations, VAE scaling factor, sizes).
 */

export type Architecture = 'sd1' | 'sd2' | 'sdxl' | 'sdxl-refiner';
export type ComponentName = 'unet' | 'vae' | 'text_encoder' | 'text_encoder_2';
/** Naming scheme of a component inside the file; selects the key map. */
export type ComponentLayout = 'ldm-unet' | 'ldm-vae' | 'clip' | 'open-clip';

export interface ComponentPlacement {
  readonly component: ComponentName;
  /** Key prefix in the single file ('' for a bare UNet or VAE file). */
  readonly prefix: string;
  readonly layout: ComponentLayout;
}

const UNET: ComponentPlacement = { component: 'unet', prefix: 'model.diffusion_model.', layout: 'ldm-unet' };
const VAE: ComponentPlacement = { component: 'vae', prefix: 'first_stage_model.', layout: 'ldm-vae' };

/** The layout each family's single files use; the inverse direction writes exactly these. */
export const ARCHITECTURE_LAYOUTS: Readonly<Record<Architecture, readonly ComponentPlacement[]>> = {
  sd1: [UNET, VAE, { component: 'text_encoder', prefix: 'cond_stage_model.transformer.', layout: 'clip' }],
  sd2: [UNET, VAE, { component: 'text_encoder', prefix: 'cond_stage_model.model.', layout: 'open-clip' }],
  sdxl: [
    UNET,
    VAE,
    { component: 'text_encoder', prefix: 'conditioner.embedders.0.transformer.', layout: 'clip' },
    { component: 'text_encoder_2', prefix: 'conditioner.embedders.1.model.', layout: 'open-clip' },
  ],
  'sdxl-refiner': [UNET, VAE, { component: 'text_encoder_2', prefix: 'conditioner.embedders.0.model.', layout: 'open-clip' }],
};

/** Also accepted when reading: some tools save the VAE under `vae.`. */
export const EXTRA_PLACEMENTS: readonly ComponentPlacement[] = [{ component: 'vae', prefix: 'vae.', layout: 'ldm-vae' }];

/** Files holding one bare model: recognised by a key only that model has at the root. */
export const BARE_PLACEMENTS: readonly (ComponentPlacement & { readonly marker: string })[] = [
  { component: 'unet', prefix: '', layout: 'ldm-unet', marker: 'input_blocks.0.0.weight' },
  { component: 'vae', prefix: '', layout: 'ldm-vae', marker: 'encoder.conv_in.weight' },
];

/** Text-encoder prefixes that identify the family, most specific first. */
export const ARCHITECTURE_SIGNATURES: readonly { readonly prefix: string; readonly architecture: Architecture }[] = [
  { prefix: 'conditioner.embedders.1.model.', architecture: 'sdxl' },
  { prefix: 'conditioner.embedders.0.model.', architecture: 'sdxl-refiner' },
  { prefix: 'conditioner.embedders.0.transformer.', architecture: 'sdxl' },
  { prefix: 'cond_stage_model.model.', architecture: 'sd2' },
  { prefix: 'cond_stage_model.transformer.', architecture: 'sd1' },
];

export interface IgnoreRule {
  readonly pattern: RegExp;
  readonly reason: string;
}

/** Keys real checkpoints carry that no model needs. Anything else no table covers is reported as unmatched. */
export const IGNORED_KEYS: readonly IgnoreRule[] = [
  { pattern: /^model_ema\./, reason: 'EMA copy of the UNet (the model.diffusion_model.* weights are the ones loaded)' },
  {
    pattern:
      /^(betas|alphas_cumprod|alphas_cumprod_prev|sqrt_alphas_cumprod|sqrt_one_minus_alphas_cumprod|log_one_minus_alphas_cumprod|sqrt_recip_alphas_cumprod|sqrt_recipm1_alphas_cumprod|posterior_variance|posterior_log_variance_clipped|posterior_mean_coef1|posterior_mean_coef2|logvar)$/,
    reason: 'noise-schedule buffer of the LDM training wrapper (the scheduler config defines the schedule)',
  },
  { pattern: /^denoiser\.sigmas$/, reason: 'SGM denoiser sigma table (the scheduler config defines the schedule)' },
  { pattern: /(^|\.)text_model\.embeddings\.position_ids$/, reason: 'CLIP position-id buffer (always 0..n-1)' },
  { pattern: /(^|\.)model\.logit_scale$/, reason: 'OpenCLIP contrastive logit scale (unused for text conditioning)' },
  { pattern: /(^|\.)model\.attn_mask$/, reason: 'OpenCLIP causal-mask buffer (rebuilt by the text encoder)' },
  { pattern: /^(first_stage_model\.|vae\.)?loss\./, reason: 'VAE training loss (discriminator, LPIPS), unused for inference' },
  { pattern: /^embedding_manager\./, reason: 'textual-inversion training state' },
];

export interface FamilyRules {
  /** UNet heads per block: one count everywhere (SD-1's legacy attention_head_dim 8) or heads of a fixed width. */
  readonly unetHeads: { readonly count: number } | { readonly width: number };
  readonly unetSampleSize: number;
  readonly vaeSampleSize: number;
  readonly vaeScalingFactor: number;
  /** text_time UNets: how many time ids are embedded (SDXL: sizes and crop = 6; refiner: with aesthetic score = 5). */
  readonly timeIds: number | null;
  /**
   * SD-2 conditions on the penultimate OpenCLIP layer: diffusers' SD-2 text encoder has neither the last layer nor
   * the projection, so both are dropped from a full tower (recognised by its projection; a file written from the
   * diffusers encoder has neither).
   */
  readonly openClipDropsLastLayer: boolean;
}

export const FAMILY_RULES: Readonly<Record<Architecture, FamilyRules>> = {
  sd1: {
    unetHeads: { count: 8 },
    unetSampleSize: 64,
    vaeSampleSize: 512,
    vaeScalingFactor: 0.18215,
    timeIds: null,
    openClipDropsLastLayer: false,
  },
  sd2: {
    unetHeads: { width: 64 },
    unetSampleSize: 96,
    vaeSampleSize: 768,
    vaeScalingFactor: 0.18215,
    timeIds: null,
    openClipDropsLastLayer: true,
  },
  sdxl: {
    unetHeads: { width: 64 },
    unetSampleSize: 128,
    vaeSampleSize: 1024,
    vaeScalingFactor: 0.13025,
    timeIds: 6,
    openClipDropsLastLayer: false,
  },
  'sdxl-refiner': {
    unetHeads: { width: 64 },
    unetSampleSize: 128,
    vaeSampleSize: 1024,
    vaeScalingFactor: 0.13025,
    timeIds: 5,
    openClipDropsLastLayer: false,
  },
};

/** A VAE-only file names no family: the LDM defaults. */
export const NO_FAMILY_VAE = { sampleSize: 512, scalingFactor: 0.18215 } as const;

/** SDXL's addition_time_embed_dim, used when no text encoder in the file gives the pooled-embedding width. */
export const DEFAULT_ADDITION_TIME_EMBED_DIM = 256;

/** CLIP text encoders: every family uses 64-wide heads; OpenAI CLIP uses quick_gelu, OpenCLIP exact gelu. */
export const TEXT_ENCODER_RULES: Readonly<Record<'clip' | 'open-clip', { readonly headWidth: number; readonly hiddenAct: string }>> = {
  clip: { headWidth: 64, hiddenAct: 'quick_gelu' },
  'open-clip': { headWidth: 64, hiddenAct: 'gelu' },
};
