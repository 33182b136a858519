/**
 * The distillation step as one graph: the student (teacher + trainable LoRA) at the source timestep, the
 * teacher with and without the prompt (classifier-free guidance, w per sample), the teacher's one-step move,
 * and the target model at the move's end under stop-gradient. The method (TDD, LCM) lives entirely in the
 * per-sample coefficients the host feeds (see coefficients.ts), so both methods share this graph.
 *
 *   pred   = a_s·x + b_s·student(x, t)
 *   g      = f_c + w·(f_c − f_u),   f_c/f_u = teacher(x, t, cond/uncond)   (CFG in the LCM formulation)
 *   x_prev = a_p·x + b_p·g
 *   target = sg(a_t·x_prev + b_t·targetModel(x_prev, t'))
 *   loss   = L2 or pseudo-Huber(pred, target)
 *
 * The teacher reads the raw weights; the student and the target read W + ΔW through UnfusedLora, the target
 * from an EMA copy of the LoRA when asked (its arrays are then fed each step, not trained).
 */
import type { Graph, Value } from '../../ir/index.js';
import { unet2DConditionModel, type UNetInputs } from '../../models/unet/index.js';
import { Scope } from '../../nn/index.js';
import { loraTrainingSlot, UnfusedLora } from '../../nn/lora-graph.js';
import { concat } from '../../ops/index.js';
import { discriminatorLosses, type DiscriminatorLosses } from './discriminator.js';
import { distillLoss, type DistillLossOptions } from './losses.js';
import type { StudentGraphOptions } from './student-graph.js';
import { textInputNames, textInputs } from './text-inputs.js';

export interface DistillGraphOptions extends StudentGraphOptions {
  readonly loss: DistillLossOptions;
  /** Target from an EMA of the LoRA (fed) instead of the live student weights. */
  readonly emaTarget?: boolean;
  /** Recompute the student's UNet blocks in the backward pass (memory for time). */
  readonly gradientCheckpointing?: boolean;
  /** PCM's adversarial loss: a discriminator on the teacher's features judges the student's output against the target. */
  readonly adversarial?: boolean;
}

/** Names of the graph's per-step inputs. */
export const distillInputs = {
  noisy: 'noisy',
  sourceTimestep: 'timestep_source',
  targetTimestep: 'timestep_target',
  ...textInputNames,
  /** Per-sample coefficient columns [B, 1, 1, 1]. */
  coefficients: ['student_sample', 'student_model', 'guidance', 'prev_sample', 'prev_model', 'target_sample', 'target_model'] as const,
  /** Adversarial inputs: both outputs re-noised from their timestep to the discriminator's (noise_travel). */
  adversarial: {
    timestep: 'adv_timestep',
    keep: 'adv_keep',
    noiseScale: 'adv_noise_scale',
    noiseFake: 'adv_noise_fake',
    noiseReal: 'adv_noise_real',
  },
} as const;

export type CoefficientName = (typeof distillInputs.coefficients)[number];

export const STUDENT_SLOT = 'student';
export const EMA_SLOT = 'ema';

export interface DistillGraph {
  readonly graph: Graph;
  readonly loss: Value;
  readonly student: UnfusedLora;
  readonly ema?: UnfusedLora;
  /** The trainable LoRA parameters (student slot). */
  readonly trainable: readonly Value[];
  /** With `adversarial`: both hinge losses and the discriminator's parameters. */
  readonly adversarial?: DiscriminatorLosses;
}

export function buildDistillGraph(graph: Graph, o: DistillGraphOptions): DistillGraph {
  const n = o.batch;
  const names = distillInputs;
  const [c, h, w] = o.latentShape;
  const column = (name: CoefficientName) => graph.input(name, [n, 1, 1, 1]);
  const coef = Object.fromEntries(names.coefficients.map((k) => [k, column(k)])) as Record<CoefficientName, Value>;
  const x = graph.input(names.noisy, [n, c, h, w]);
  const tSource = graph.input(names.sourceTimestep, [n]);
  const tTarget = graph.input(names.targetTimestep, [n]);
  const text = textInputs(graph, n, o.textShape, o.pooledWidth);
  const { cond, added } = text;

  const base = new Scope(graph);
  const slot = (name: string) => loraTrainingSlot(name, o.loraTargets.keys(), { rank: o.rank, alpha: o.alpha });
  const student = new UnfusedLora(base, [slot(STUDENT_SLOT)]);
  const ema = o.emaTarget ? new UnfusedLora(base, [slot(EMA_SLOT)]) : undefined;
  const unet = (
    scope: Scope,
    sample: Value,
    t: Value,
    states: Value,
    extra: Pick<UNetInputs, 'textEmbeds' | 'timeIds'>,
    checkpointBlocks = false,
  ) => unet2DConditionModel(scope, o.unet, { sample, timestep: t, encoderHiddenStates: states, ...extra }, { checkpointBlocks });

  const studentScope = student.attach(base);
  // W + ΔW built up front, outside any checkpointed block: a rebuilt block then reads the same values, and the
  // gradient reaches the LoRA parameters through them.
  for (const [key, shape] of o.loraTargets) studentScope.param(key, shape);
  const prediction = coef.student_sample
    .mul(x)
    .add(coef.student_model.mul(unet(studentScope, x, tSource, cond, added('cond'), o.gradientCheckpointing)));

  const teacherOut = unet(base, concat([x, x], 0), concat([tSource, tSource], 0), text.states('cond', 'uncond'), added('cond', 'uncond'));
  const [fc, fu] = teacherOut.split([n, n], 0);
  const guided = fc.add(coef.guidance.mul(fc.sub(fu)));
  const xPrev = coef.prev_sample.mul(x).add(coef.prev_model.mul(guided));

  const targetScope = ema ? ema.attach(base) : studentScope;
  const targetOut = unet(targetScope, xPrev, tTarget, cond, added('cond'));
  const target = coef.target_sample.mul(xPrev).add(coef.target_model.mul(targetOut)).stopGradient();

  const loss = distillLoss(prediction, target, o.loss);
  let adversarial: DiscriminatorLosses | undefined;
  if (o.adversarial) {
    const a = names.adversarial;
    const keep = graph.input(a.keep, [n, 1, 1, 1]);
    const scale = graph.input(a.noiseScale, [n, 1, 1, 1]);
    const travel = (v: Value, noise: string) => keep.mul(v).add(scale.mul(graph.input(noise, [n, c, h, w])));
    const fake = travel(prediction, a.noiseFake);
    const real = travel(target, a.noiseReal);
    adversarial = discriminatorLosses(base, o.unet, fake, real, graph.input(a.timestep, [n]), cond, added('cond'));
  }
  student.assertApplied();
  ema?.assertApplied();
  return { graph, loss, student, ema, trainable: student.params, adversarial };
}
