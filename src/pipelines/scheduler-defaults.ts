/**
 * The scheduler_config a single-file checkpoint lacks: the Stable Diffusion noise schedule every SD-1.x/2.x
 * and SDXL model was trained with (scaled_linear 0.00085 → 0.012 over 1000 steps, "leading" spacing with
 * steps_offset 1), as their diffusers folders ship it. v-prediction cannot be read from the weights: pass it
 * as a config override (`{ unet: { prediction_type: 'v_prediction' } }`) for SD-2.x 768-v checkpoints.
 */
import { sdNoiseDefaults } from '../schedulers/config.js';
export function sdSchedulerDefaults(family: 'sd' | 'sdxl', unetConfig: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return {
    ...sdNoiseDefaults,
    steps_offset: 1,
    set_alpha_to_one: false,
    clip_sample: false,
    timestep_spacing: 'leading',
    prediction_type: typeof unetConfig.prediction_type === 'string' ? unetConfig.prediction_type : 'epsilon',
    ...(family === 'sdxl' ? { interpolation_type: 'linear' } : {}),
  };
}
