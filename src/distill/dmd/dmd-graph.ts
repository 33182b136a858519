/**
 * DMD2's training step as one graph (Yin et al. 2024; tianweiy/DMD2), for a one-step generator. Three UNets read
 * the teacher's weights: the generator (teacher + the student LoRA), the real score (the teacher, frozen) and the
 * fake score (teacher + its own LoRA, trained to follow the generator's samples). Per-sample scalars come from the
 * host as [B, 1, 1, 1] columns, like the consistency graph's coefficients.
 *
 *   x      = a_g·z + b_g·G(z, t_g)                                     the generator's x0 (t_g: its conditioning step)
 *   x_t    = k·sg(x) + σ·n,  t ~ U[t_min, t_max]
 *   real   = x0 readout of  ε_u + s·(ε_c − ε_u)  from the teacher at x_t (CFG as diffusers' guidance_scale)
 *   fake   = x0 readout of the fake score at x_t (no CFG)
 *   g      = sg((fake − real) / mean_CHW|sg(x) − real|)                the normalised distribution-matching gradient
 *   L_dm   = ½·mean((x − (sg(x) − g))²)                                whose gradient in x is g / (B·C·H·W)
 *   L_fake = mean((F(k_f·sg(x) + σ_f·n_f, t_f) − target_f)²)            the fake score's denoising loss on generated samples
 *   logits = head(F_mid([k_c·x + σ_c·n₁; k_c·real_latents + σ_c·n₂], t_c))   (classifier on the fake score's bottleneck)
 *   L_gen  = mean softplus(−logit_fake);   L_disc = mean softplus(logit_fake) + mean softplus(−logit_real)
 *
 * The generator's phase minimises w_dm·L_dm + w_gen·L_gen over the student LoRA; the fake score's phase minimises
 * L_fake + w_disc·L_disc over its LoRA and the classifier. One classifier pass serves both GAN terms: each phase
 * differentiates only its own loss over its own parameters, so the generator's term never moves the classifier and
 * the classifier's never moves the generator.
 */
import type { Graph, Value } from '../../ir/index.js';
import { unet2DConditionModel } from '../../models/unet/index.js';
import { Scope } from '../../nn/index.js';
import { loraTrainingSlot, UnfusedLora } from '../../nn/lora-graph.js';
import { concat } from '../../ops/index.js';
import { STUDENT_SLOT } from '../common/distill-graph.js';
import type { StudentGraphOptions } from '../common/student-graph.js';
import { textInputNames, textInputs } from '../common/text-inputs.js';
import { classifierHead } from './classifier-head.js';

export const FAKE_SLOT = 'fake';

export interface DmdGraphOptions extends StudentGraphOptions {
  /** The fake score's LoRA rank and alpha (the reference fine-tunes a full copy; a LoRA keeps one copy of the weights). */
  readonly fakeRank: number;
  readonly fakeAlpha: number;
  /** Weights of the generator's loss terms and of the classifier's term in the fake score's loss. */
  readonly weights: { readonly dm: number; readonly gen: number; readonly disc: number };
}

/** Per-sample columns [B, 1, 1, 1]: a readout is `sample·x + model·f(x)`; a noising is `keep·x + scale·noise`. */
export const dmdColumns = [
  'gen_sample',
  'gen_model',
  'dm_keep',
  'dm_scale',
  'dm_sample',
  'dm_model',
  'real_guidance',
  'fake_keep',
  'fake_scale',
  'fake_target_noise',
  'fake_target_x0',
  'cls_keep',
  'cls_scale',
] as const;
export type DmdColumn = (typeof dmdColumns)[number];

export const dmdInputs = {
  ...textInputNames,
  /** The generator's input (noise) and its conditioning timestep [B]. */
  genInput: 'gen_input',
  genTimestep: 'gen_timestep',
  dmTimestep: 'dm_timestep',
  dmNoise: 'dm_noise',
  fakeTimestep: 'fake_timestep',
  fakeNoise: 'fake_noise',
  clsTimestep: 'cls_timestep',
  clsNoiseFake: 'cls_noise_fake',
  clsNoiseReal: 'cls_noise_real',
  /** Latents of real images (diffusion scale), the classifier's real class. */
  realLatents: 'real_latents',
} as const;

export interface DmdGraph {
  readonly graph: Graph;
  /** The generator's sample x (its x0 from the noise) and its conditioning timestep [B]. */
  readonly generated: Value;
  readonly generatorTimestep: Value;
  /** The generator's loss (w_dm·L_dm + w_gen·L_gen) and the fake score's (L_fake + w_disc·L_disc). */
  readonly generatorLoss: Value;
  readonly fakeLoss: Value;
  /** Loss terms for logs. */
  readonly terms: { readonly dm: Value; readonly gen: Value; readonly fake: Value; readonly disc: Value };
  readonly student: UnfusedLora;
  readonly fake: UnfusedLora;
  readonly classifierParams: Value[];
}

const softplus = (x: Value): Value => x.relu().add(x.abs().neg().exp().add(1).log());

export function buildDmdGraph(graph: Graph, o: DmdGraphOptions): DmdGraph {
  const n = o.batch;
  const names = dmdInputs;
  const [c, h, w] = o.latentShape;
  const latent = (name: string) => graph.input(name, [n, c, h, w]);
  const col = Object.fromEntries(dmdColumns.map((k) => [k, graph.input(k, [n, 1, 1, 1])])) as Record<DmdColumn, Value>;
  const text = textInputs(graph, n, o.textShape, o.pooledWidth);
  const base = new Scope(graph);
  const slot = (name: string, rank: number, alpha: number) => loraTrainingSlot(name, o.loraTargets.keys(), { rank, alpha });
  const student = new UnfusedLora(base, [slot(STUDENT_SLOT, o.rank, o.alpha)]);
  const fake = new UnfusedLora(base, [slot(FAKE_SLOT, o.fakeRank, o.fakeAlpha)]);
  const studentScope = student.attach(base);
  const fakeScope = fake.attach(base);
  const unet = (scope: Scope, sample: Value, t: Value, rows: ('cond' | 'uncond')[], activations?: Map<string, Value>) =>
    unet2DConditionModel(
      scope,
      o.unet,
      {
        sample,
        timestep: t,
        encoderHiddenStates: text.states(...rows),
        ...text.added(...rows),
      },
      { activations },
    );

  const z = latent(names.genInput);
  const tGen = graph.input(names.genTimestep, [n]);
  const x = col.gen_sample.mul(z).add(col.gen_model.mul(unet(studentScope, z, tGen, ['cond'])));
  const xs = x.stopGradient();

  const tDm = graph.input(names.dmTimestep, [n]);
  const xt = col.dm_keep.mul(xs).add(col.dm_scale.mul(latent(names.dmNoise)));
  const [ec, eu] = unet(base, concat([xt, xt], 0), concat([tDm, tDm], 0), ['cond', 'uncond']).split([n, n], 0);
  const readout = (out: Value) => col.dm_sample.mul(xt).add(col.dm_model.mul(out));
  const real = readout(eu.add(col.real_guidance.mul(ec.sub(eu))));
  const fakeX0 = readout(unet(fakeScope, xt, tDm, ['cond']));
  const norm = xs.sub(real).abs().mean([1, 2, 3], true);
  const g = fakeX0.sub(real).div(norm).stopGradient();
  const dmDiff = x.sub(xs.sub(g));
  const dm = dmDiff.mul(dmDiff).mean().mul(0.5);

  const fakeNoise = latent(names.fakeNoise);
  const xf = col.fake_keep.mul(xs).add(col.fake_scale.mul(fakeNoise));
  const fakeOut = unet(fakeScope, xf, graph.input(names.fakeTimestep, [n]), ['cond']);
  const fakeDiff = fakeOut.sub(col.fake_target_noise.mul(fakeNoise).add(col.fake_target_x0.mul(xs)));
  const fakeLoss = fakeDiff.mul(fakeDiff).mean();

  const noised = (v: Value, noise: string) => col.cls_keep.mul(v).add(col.cls_scale.mul(latent(noise)));
  const tCls = graph.input(names.clsTimestep, [n]);
  const activations = new Map<string, Value>();
  unet(
    fakeScope,
    concat([noised(x, names.clsNoiseFake), noised(latent(names.realLatents), names.clsNoiseReal)], 0),
    concat([tCls, tCls], 0),
    ['cond', 'cond'],
    activations,
  );
  const before = new Set(graph.params);
  const [logitFake, logitReal] = classifierHead(base, activations.get('mid_block')!).split([n, n], 0);
  const classifierParams = graph.params.filter((p) => !before.has(p));
  const gen = softplus(logitFake.neg()).mean();
  const disc = softplus(logitFake).mean().add(softplus(logitReal.neg()).mean());

  student.assertApplied();
  fake.assertApplied();
  return {
    graph,
    generated: x,
    generatorTimestep: tGen,
    generatorLoss: dm.mul(o.weights.dm).add(gen.mul(o.weights.gen)),
    fakeLoss: fakeLoss.add(disc.mul(o.weights.disc)),
    terms: { dm, gen, fake: fakeLoss, disc },
    student,
    fake,
    classifierParams,
  };
}
