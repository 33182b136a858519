import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  describeLora,
  FileTensorSource,
  LoraError,
  matchLora,
  MemoryTensorSource,
  parseLora,
  SafetensorsFile,
  writeLora,
  type LoraAdapter,
  type LoraMatch,
  type MemoryTensor,
  type TensorSource,
} from '../../src/weights/index.js';
import { fixture } from '../helpers/model-parity.js';
import { loadSharedJson } from '../helpers/shared.js';

interface LoraReference {
  rank: number;
  alpha: number;
  targets: { module: string; kohya_prefix: string; weight_shape: number[] }[];
  kohya_to_peft_key: Record<string, string>;
  diffusers_converter_mapping: Record<string, string> & { __alphas__?: unknown };
}
const reference = (): LoraReference => loadSharedJson<LoraReference>('fixtures', 'lora-reference.json');

const kohyaPath = (): string => fixture('lora', 'tiny-sd-lora-kohya.safetensors');
const peftPath = (): string => fixture('lora', 'tiny-sd-lora-peft.safetensors');

/** Parameter shapes of a model folder's weights file (the graph's parameters are the same set: unet.test.ts). */
function shapesOf(...parts: string[]): Map<string, readonly number[]> {
  const file = SafetensorsFile.open(fixture(...parts));
  try {
    return new Map([...file.tensors.keys()].map((k) => [k, file.info(k).shape]));
  } finally {
    file.close();
  }
}

/** Every tensor of a source in memory, renamed by `rename` (undefined drops it), plus extras. */
function memoryCopy(
  source: TensorSource,
  rename: (key: string) => string | undefined,
  extra: Record<string, MemoryTensor> = {},
): MemoryTensorSource {
  const tensors = new Map<string, MemoryTensor>();
  for (const key of source.keys()) {
    const name = rename(key);
    if (name !== undefined) tensors.set(name, { shape: source.shape(key), data: source.float32(key) });
  }
  for (const [k, t] of Object.entries(extra)) tensors.set(k, t);
  return new MemoryTensorSource(tensors, 'memory-lora');
}

const parseFile = (path: string): LoraAdapter => {
  const source = FileTensorSource.open(path);
  try {
    return parseLora(source);
  } finally {
    source.close();
  }
};

describe('parseLora on the fixture files', () => {
  test('kohya: 43 modules (33 unet, 10 text_encoder), rank 4, 0-d alpha 2, nothing unrecognised', () => {
    const a = parseFile(kohyaPath());
    assert.equal(a.targets.length, reference().targets.length);
    assert.equal(a.targets.filter((t) => t.component === 'unet').length, 33);
    assert.equal(a.targets.filter((t) => t.component === 'text_encoder').length, 10);
    assert.ok(a.targets.every((t) => t.format === 'kohya' && t.rank === 4 && t.alpha === 2));
    assert.deepEqual(a.unrecognized, []);
    const conv = a.targets.find((t) => t.module === 'down_blocks_0_resnets_0_conv1')!;
    assert.deepEqual(
      [conv.down.shape, conv.up.shape],
      [
        [4, 32, 3, 3],
        [32, 4, 1, 1],
      ],
    );
  });

  test('peft: the same 43 modules with dotted names and no alpha (scale 1)', () => {
    const a = parseFile(peftPath());
    assert.equal(a.targets.length, 43);
    assert.ok(a.targets.every((t) => t.format === 'peft' && t.rank === 4 && t.alpha === null));
    assert.deepEqual(new Set(a.targets.map((t) => `${t.component}.${t.module}`)), new Set(reference().targets.map((t) => t.module)));
    assert.deepEqual(a.unrecognized, []);
  });
});

describe('matchLora against tiny-sd', () => {
  let kohya: LoraAdapter;
  let peft: LoraAdapter;
  let unetShapes: Map<string, readonly number[]>;
  let teShapes: Map<string, readonly number[]>;
  before(() => {
    kohya = parseFile(kohyaPath());
    peft = parseFile(peftPath());
    unetShapes = shapesOf('tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors');
    teShapes = shapesOf('tiny-sd', 'text_encoder', 'model.safetensors');
  });
  const matchBoth = (a: LoraAdapter): [LoraMatch, LoraMatch] => [matchLora(a, 'unet', unetShapes), matchLora(a, 'text_encoder', teShapes)];

  test('every module matches, for both formats; the report says so', () => {
    for (const a of [kohya, peft]) {
      const [unet, te] = matchBoth(a);
      assert.equal(unet.report, 'unet: 33 of 33 LoRA modules matched');
      assert.equal(te.report, 'text_encoder: 10 of 10 LoRA modules matched');
      assert.deepEqual([unet.unmatched, te.unmatched], [[], []]);
      assert.match(describeLora(a, [unet, te]), /unet: 33 of 33.*\n.*text_encoder: 10 of 10/);
    }
  });

  test('kohya module → weight key gives exactly diffusers’ kohya_to_peft_key mapping', () => {
    const mapping: Record<string, string> = {};
    for (const m of matchBoth(kohya)) {
      for (const [weightKey, t] of m.matched) {
        const peftModule = `${m.component}.${weightKey.slice(0, -'.weight'.length)}`;
        const prefix = t.keys[0].split('.')[0];
        mapping[`${prefix}.lora_down.weight`] = `${peftModule}.lora_A.weight`;
        mapping[`${prefix}.lora_up.weight`] = `${peftModule}.lora_B.weight`;
      }
    }
    assert.deepEqual(mapping, reference().kohya_to_peft_key);
  });

  test('the peft file is the kohya file with alpha/rank folded into lora_B (bit-exact, ×0.5)', () => {
    const [ku, kt] = matchBoth(kohya);
    const [pu, pt] = matchBoth(peft);
    for (const [k, p] of [
      [ku, pu],
      [kt, pt],
    ]) {
      assert.deepEqual([...k.matched.keys()].sort(), [...p.matched.keys()].sort());
      for (const [key, t] of k.matched) {
        const q = p.matched.get(key)!;
        assert.deepEqual(q.down.data, t.down.data, key);
        assert.deepEqual(
          q.up.data,
          t.up.data.map((x) => x * 0.5),
          key,
        );
      }
    }
  });

  test('diffusers’ older names (processor to_q_lora, lora.down, lora_linear_layer) parse to the same modules', () => {
    const mapping = reference().diffusers_converter_mapping;
    const source = FileTensorSource.open(kohyaPath());
    const renamed = memoryCopy(source, (k) => (k.endsWith('.alpha') ? undefined : mapping[k]));
    source.close();
    const old = parseLora(renamed);
    assert.deepEqual(old.unrecognized, []);
    const [ku, kt] = matchBoth(kohya);
    const [ou, ot] = matchBoth(old);
    assert.equal(ou.report, 'unet: 33 of 33 LoRA modules matched');
    assert.equal(ot.report, 'text_encoder: 10 of 10 LoRA modules matched');
    for (const [k, o] of [
      [ku, ou],
      [kt, ot],
    ]) {
      for (const [key, t] of k.matched) assert.deepEqual(o.matched.get(key)?.up.data, t.up.data, key);
    }
  });
});

describe('what does not fit is reported or refused, naming the keys', () => {
  const unetShapes = (): Map<string, readonly number[]> => shapesOf('tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors');
  const t = (shape: number[]): MemoryTensor => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1) });
  const q = 'lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q';

  test('unknown keys, DoRA parts, orphaned halves and LDM names are listed; the rest still matches', () => {
    const source = new MemoryTensorSource(
      {
        [`${q}.lora_down.weight`]: t([4, 64]),
        [`${q}.lora_up.weight`]: t([64, 4]),
        'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight': t([4, 64, 1, 1]),
        'lora_unet_mid_block_attentions_0_proj_in.lora_up.weight': t([64, 4, 1, 1]),
        'lora_unet_mid_block_attentions_0_proj_in.dora_scale': t([1, 64]),
        'lora_unet_up_blocks_0_attentions_0_proj_out.lora_down.weight': t([4, 64, 1, 1]),
        'lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_k.lora_down.weight': t([4, 64]),
        'lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_k.lora_up.weight': t([64, 4]),
        'model.diffusion_model.out.2.weight': t([4, 32, 3, 3]),
      },
      'odd.safetensors',
    );
    const adapter = parseLora(source);
    assert.deepEqual(adapter.targets.map((x) => x.module).sort(), [
      'down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q',
      'input_blocks_4_1_transformer_blocks_0_attn1_to_k',
    ]);
    const reasons = new Map(adapter.unrecognized.map((u) => [u.key, u.reason]));
    assert.match(reasons.get('lora_unet_mid_block_attentions_0_proj_in.lora_up.weight')!, /DoRA/);
    assert.match(reasons.get('lora_unet_up_blocks_0_attentions_0_proj_out.lora_down.weight')!, /no lora_up/);
    assert.match(reasons.get('model.diffusion_model.out.2.weight')!, /not a LoRA key/);

    const m = matchLora(adapter, 'unet', unetShapes());
    assert.equal(m.report, 'unet: 1 of 2 LoRA modules matched; no weight for input_blocks_4_1_transformer_blocks_0_attn1_to_k');
    assert.deepEqual(m.unmatched, [
      'lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_k.lora_down.weight',
      'lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_k.lora_up.weight',
    ]);
    const text = describeLora(adapter, [m]);
    assert.match(text, /^odd\.safetensors:/);
    assert.match(
      text,
      /3 unrecognised key\(s\) \(DoRA magnitude \(dora_scale\) is not supported\): lora_unet_mid_block_attentions_0_proj_in\./,
    );
    assert.match(text, /model\.diffusion_model\.out\.2\.weight/);
    assert.throws(
      () => matchLora(adapter, 'unet', unetShapes(), { strict: true }),
      (e: Error) => e instanceof LoraError && /no weight for input_blocks_4_1/.test(e.message),
    );

    // The extension point for LDM names (the single-file loader's key map plugs in here).
    const resolved = matchLora(adapter, 'unet', unetShapes(), {
      resolveKohyaModule: (name) =>
        name.startsWith('input_blocks_4_1_')
          ? `down_blocks.1.attentions.0.${name.slice('input_blocks_4_1_'.length).replace('transformer_blocks_0_attn1_to_k', 'transformer_blocks.0.attn1.to_k')}`
          : undefined,
    });
    assert.equal(resolved.report, 'unet: 2 of 2 LoRA modules matched');
    assert.ok(resolved.matched.has('down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k.weight'));
  });

  test('a LoRA for another model: shape mismatch names the LoRA keys and the weight', () => {
    const adapter = parseFile(kohyaPath());
    const sdxl = shapesOf('tiny-sdxl', 'unet', 'diffusion_pytorch_model.safetensors');
    assert.throws(
      () => matchLora(adapter, 'unet', sdxl),
      (e: Error) => {
        assert.ok(e instanceof LoraError);
        assert.match(
          e.message,
          /LoRA module down_blocks_1_\S+_attn2_to_k \(lora_unet_\S+_to_k\.alpha, lora_unet_\S+_to_k\.lora_down\.weight, lora_unet_\S+_to_k\.lora_up\.weight\): down is \[4,32\], up is \[64,4\], but down_blocks\.1\.attentions\.0\.transformer_blocks\.0\.attn2\.to_k\.weight is \[64,64\] and needs down \[4,64\] and up \[64,4\] \(a LoRA for another model\?\)/,
        );
        return true;
      },
    );
    const te = matchLora(adapter, 'text_encoder', unetShapes());
    assert.match(
      te.report,
      /^text_encoder: 0 of 10 LoRA modules matched; no weight for text_model_encoder_layers_0_mlp_fc1, .* and 2 more$/,
    );
    assert.equal(te.unmatched.length, 30);
  });

  test('a module whose down and up ranks differ is refused when parsed', () => {
    const source = new MemoryTensorSource(
      { [`${q}.lora_down.weight`]: t([4, 64]), [`${q}.lora_up.weight`]: t([64, 2]) },
      'bad.safetensors',
    );
    assert.throws(
      () => parseLora(source),
      /bad\.safetensors: LoRA module down_blocks_1_.*to_q: down "lora_unet_.*\.lora_down\.weight" is \[4, 64\] and up .* is \[64, 2\]/,
    );
  });
});

describe('writeLora', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lora-export-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('kohya → kohya and kohya → peft reproduce the fixture files byte for byte', () => {
    const kohya = parseFile(kohyaPath());
    const modules = {
      unet: matchLora(kohya, 'unet', shapesOf('tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors')).matched,
      text_encoder: matchLora(kohya, 'text_encoder', shapesOf('tiny-sd', 'text_encoder', 'model.safetensors')).matched,
    };
    writeLora(join(dir, 'k.safetensors'), modules, 'kohya');
    writeLora(join(dir, 'p.safetensors'), modules, 'peft');
    assert.ok(readFileSync(join(dir, 'k.safetensors')).equals(readFileSync(kohyaPath())), 'kohya export differs from the fixture');
    assert.ok(readFileSync(join(dir, 'p.safetensors')).equals(readFileSync(peftPath())), 'peft export differs from the fixture');
  });

  test('SDXL-style export names the text encoders lora_te1_/lora_te2_ and parses back to the same components', () => {
    const peft = parseFile(peftPath());
    const te = matchLora(peft, 'text_encoder', shapesOf('tiny-sd', 'text_encoder', 'model.safetensors')).matched;
    const path = join(dir, 'xl.safetensors');
    writeLora(path, { text_encoder: te, text_encoder_2: te }, 'kohya');
    const back = parseFile(path);
    assert.equal(back.targets.filter((x) => x.component === 'text_encoder_2').length, 10);
    assert.ok(back.targets.every((x) => x.keys[0].startsWith(x.component === 'text_encoder' ? 'lora_te1_' : 'lora_te2_') && x.alpha === 4));
  });
});
