// Issue 20: GET /api/models says, per LoRA, which listed models it fits, from safetensors headers and
// configs only: the LoRA's cross-attention in-dim (768 SD1.x, 1024 SD2.x, 2048 SDXL) against the model's.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { embeddedModel } from '../../src/embedded/index.js';
import { loraBase, loraFamily, loraFits } from '../../src/server/lora-fit.js';
import { writeSafetensors } from '../../src/weights/safetensors-writer.js';
import { sharedPath } from '../helpers/shared.js';
import { testServer, type TestServer } from './helpers.js';

const zeros = (name: string, shape: number[]) => ({ name, shape, dtype: 'F32' as const, data: new Float32Array(shape[0] * shape[1]) });
const XL_BLOCK = 'lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k';

let dir: string;
let server: TestServer;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tdd-lora-fit-'));
  symlinkSync(sharedPath('fixtures', 'tiny-sd'), join(dir, 'tiny-sd'));
  copyFileSync(sharedPath('fixtures', 'lora', 'tiny-sd-lora-kohya.safetensors'), join(dir, 'tiny-lora.safetensors'));
  // Header-true SDXL shapes (kohya names, LDM blocks), zero data: a LoRA for SDXL and an "SDXL" checkpoint.
  writeSafetensors(join(dir, 'xl-style.safetensors'), [
    zeros(`${XL_BLOCK}.lora_down.weight`, [4, 2048]),
    zeros(`${XL_BLOCK}.lora_up.weight`, [640, 4]),
    zeros('lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight', [4, 1280]),
  ]);
  writeSafetensors(join(dir, 'xl-base.safetensors'), [
    zeros('model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight', [640, 2048]),
  ]);
  server = await testServer({ modelDirs: [dir], embedded: embeddedModel() ?? null });
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('GET /api/models: each LoRA lists the models it fits (tiny kohya LoRA: the tiny model only)', async () => {
  const catalog = await (await server.api('/api/models')).json();
  const model = (name: string) => catalog.models.find((m: { name: string }) => m.name === name).id;
  const lora = (name: string) => catalog.loras.find((l: { name: string }) => l.name === name);
  const tiny = model('tiny-sd');
  const xl = model('xl-base');
  assert.deepEqual(lora('tiny-lora').fits, [tiny]);
  assert.equal(lora('tiny-lora').family, 'cross-attention 32');
  assert.deepEqual(lora('xl-style').fits, [xl]);
  assert.equal(lora('xl-style').family, 'SDXL');
  if (embeddedModel()) {
    assert.deepEqual(lora('embedded TDD LoRA').fits, ['embedded']);
    assert.ok(!lora('tiny-lora').fits.includes('embedded'));
  }
});

test('families from shapes; unknown shapes fit everything', () => {
  const header = (shapes: Record<string, number[]>) => ({ keys: () => Object.keys(shapes), shape: (k: string) => shapes[k] });
  const sd1 = loraBase(header({ 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.lora_A.weight': [4, 768] }));
  const sd2 = loraBase(header({ 'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight': [8, 1024] }));
  assert.equal(loraFamily(sd1), 'SD1.x');
  assert.equal(loraFamily(sd2), 'SD2.x');
  assert.ok(loraFits(sd1, { crossAttentionDim: 768 }));
  assert.ok(!loraFits(sd1, { crossAttentionDim: 1024 }));
  assert.ok(loraFits({}, { crossAttentionDim: 1024 }));
  assert.ok(loraFits(sd2, {}));
});
