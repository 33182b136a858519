/**
 * PCM's latent discriminator: the frozen teacher UNet as a feature extractor (the output of every down block,
 * the mid block and every up block, at the sample's noise level and with its caption), and on each feature a few
 * small trainable heads — conv 3×3 → GroupNorm → LeakyReLU, the same again with a residual, conv 1×1 to one
 * channel — whose outputs are judged with the hinge loss. Only the heads train; the UNet reads the teacher's
 * weights (the graph's base scope, baked once).
 *
 *   D loss = Σ_heads [mean(relu(1 + D(fake))) + mean(relu(1 − D(real)))] / heads
 *   G loss = Σ_heads mean(relu(1 − D(fake))) / heads
 */
import type { Value } from '../../ir/index.js';
import { unet2DConditionModel, type UNetConfig, type UNetInputs } from '../../models/unet/index.js';
import { conv, groupNormLayer, type Scope } from '../../nn/index.js';
import { numel } from '../../ir/index.js';
import { concat } from '../../ops/index.js';
import { TorchGenerator } from '../../util/torch-generator.js';

/** The reference's heads per feature. */
export const HEADS_PER_FEATURE = 4;
const LEAKY_SLOPE = 0.01;
/** Names of the discriminator's trainable parameters start with this. */
export const DISCRIMINATOR_PREFIX = 'discriminator';

/** torch.nn.LeakyReLU(0.01) from relu: x for x ≥ 0, 0.01·x below. */
const leakyRelu = (x: Value): Value => x.relu().sub(x.neg().relu().mul(LEAKY_SLOPE));

/** GroupNorm's 32 groups, or fewer where a tiny model's channel count is not a multiple of 32. */
export function groupsFor(channels: number): number {
  let g = Math.min(32, channels);
  while (channels % g !== 0) g--;
  return g;
}

function head(scope: Scope, x: Value): Value {
  const c = x.shape[1];
  const block = (name: string, h: Value) =>
    leakyRelu(
      groupNormLayer(scope.sub(name).sub(1), conv(scope.sub(name).sub(0), h, c, { kernel: 3, padding: 1 }), { groups: groupsFor(c) }),
    );
  const h1 = block('conv1', x);
  const h2 = block('conv2', h1).add(h1);
  return conv(scope.sub('conv_out'), h2, 1, { kernel: 1, padding: 0 });
}

/** The UNet features the heads read, in the reference's order (down blocks, mid block, up blocks). */
export function discriminatorFeatures(
  base: Scope,
  unet: UNetConfig,
  sample: Value,
  timestep: Value,
  states: Value,
  extra: Pick<UNetInputs, 'textEmbeds' | 'timeIds'> = {},
): Value[] {
  const activations = new Map<string, Value>();
  unet2DConditionModel(base, unet, { sample, timestep, encoderHiddenStates: states, ...extra }, { activations });
  const names = [...activations.keys()].filter((k) => /^(down_blocks\.\d+|mid_block|up_blocks\.\d+)$/.test(k));
  const order = (k: string) => (k.startsWith('down') ? 0 : k === 'mid_block' ? 1 : 2) * 1000 + Number(k.split('.')[1] ?? 0);
  return names.sort((a, b) => order(a) - order(b)).map((k) => activations.get(k)!);
}

export interface DiscriminatorLosses {
  readonly generator: Value;
  readonly discriminator: Value;
  /** The heads' parameters (trained by the discriminator phase). */
  readonly params: Value[];
}

/**
 * Both hinge losses from one pass over [fake; real] (2n samples): the heads' outputs on the fake half carry the
 * generator's gradient back through the frozen UNet; the discriminator's gradient reaches only its heads.
 */
export function discriminatorLosses(
  base: Scope,
  unet: UNetConfig,
  fake: Value,
  real: Value,
  timestep: Value,
  states: Value,
  extra: Pick<UNetInputs, 'textEmbeds' | 'timeIds'> = {},
): DiscriminatorLosses {
  const n = fake.shape[0];
  const twice = (v: Value | undefined) => (v ? concat([v, v], 0) : undefined);
  const features = discriminatorFeatures(
    base,
    unet,
    concat([fake, real.stopGradient()], 0),
    concat([timestep, timestep], 0),
    concat([states, states], 0),
    { textEmbeds: twice(extra.textEmbeds), timeIds: twice(extra.timeIds) },
  );
  const scope = base.sub(DISCRIMINATOR_PREFIX).sub('heads');
  const count = features.length * HEADS_PER_FEATURE;
  let generator: Value | undefined;
  let discriminator: Value | undefined;
  const before = new Set(base.graph.params);
  features.forEach((feature, f) => {
    for (let h = 0; h < HEADS_PER_FEATURE; h++) {
      const [outFake, outReal] = head(scope.sub(f).sub(h), feature).split([n, n], 0);
      const g = outFake.neg().add(1).relu().mean();
      const d = outFake.add(1).relu().mean().add(outReal.neg().add(1).relu().mean());
      generator = generator ? generator.add(g) : g;
      discriminator = discriminator ? discriminator.add(d) : d;
    }
  });
  const params = base.graph.params.filter((p) => !before.has(p));
  return { generator: generator!.div(count), discriminator: discriminator!.div(count), params };
}

/**
 * torch's default initialisation of the heads (Conv2d: kaiming-uniform with a = √5 for weights, U(±1/√fan_in)
 * for biases; GroupNorm: weight 1, bias 0), drawn from its own generator in parameter order.
 */
export function initDiscriminatorWeights(params: readonly Value[], seed: number): Map<string, Float32Array> {
  const rng = new TorchGenerator(seed);
  const out = new Map<string, Float32Array>();
  const convWeights = new Map(params.filter((p) => p.rank === 4).map((p) => [p.name!.replace(/\.weight$/, ''), p]));
  for (const p of params) {
    const name = p.name!;
    const n = numel(p.shape);
    if (p.rank === 4) {
      const bound = 1 / Math.sqrt(numel(p.shape.slice(1)));
      out.set(
        name,
        rng.rand(p.shape).map((u) => (2 * u - 1) * bound),
      );
    } else if (convWeights.has(name.replace(/\.bias$/, ''))) {
      const w = convWeights.get(name.replace(/\.bias$/, ''))!;
      const bound = 1 / Math.sqrt(numel(w.shape.slice(1)));
      out.set(
        name,
        rng.rand(p.shape).map((u) => (2 * u - 1) * bound),
      );
    } else {
      out.set(name, new Float32Array(n).fill(name.endsWith('.weight') ? 1 : 0));
    }
  }
  return out;
}
