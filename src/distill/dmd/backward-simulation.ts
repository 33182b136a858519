/**
 * DMD2's backward simulation for a multi-step generator (tianweiy/DMD2, its 4-step SDXL recipe). The generator is
 * trained at one step k of its schedule t_0 > … > t_{N−1}, drawn once per batch; its input there is what it would
 * see at inference: starting from fresh noise, it runs its first k steps with its current weights (no gradient),
 * each predicting x0 and re-noising it to the next timestep, and the last x0 is noised to t_k with the batch's own
 * noise. At k = 0 the input is that noise itself (pure noise at t_0, not a re-noised x0). Only the trained step
 * carries gradient, so the losses act on that step's x0 and nothing is differentiated through time.
 *
 * The simulation runs in its own inference session: the teacher's weights baked, the student LoRA fed from the
 * run's live parameters on every call (so it always samples with the weights the next update starts from).
 */
import { unet2DConditionModel } from '../../models/unet/index.js';
import { Scope } from '../../nn/index.js';
import { loraScaleName, loraTrainingSlot, UnfusedLora } from '../../nn/lora-graph.js';
import { createGraph } from '../../ops/index.js';
import { compileGraph } from '../../runtime/compile-graph.js';
import type { SessionOptions } from '../../runtime/session.js';
import type { HostTensor } from '../../runtime/tensors.js';
import type { PredictionType } from '../../schedulers/config.js';
import type { NoiseSchedule } from '../../schedulers/noise-schedule.js';
import { levelFromAlphaBar, originalReadout, renoiseCoefficients } from '../../schedulers/prediction.js';
import type { TorchGenerator } from '../../util/torch-generator.js';
import type { TensorSource } from '../../weights/tensor-source.js';
import { loadParams } from '../../weights/load-params.js';
import { STUDENT_SLOT } from '../common/distill-graph.js';
import type { StudentGraphOptions } from '../common/student-graph.js';
import { textInputs } from '../common/text-inputs.js';

/** The generator's timesteps: N evenly spaced from the last training timestep (4 of 1000: 999, 749, 499, 249). */
export function generatorTimesteps(steps: number, oneStepTimestep: number, numTrainTimesteps: number): number[] {
  if (steps === 1) return [oneStepTimestep];
  const stride = Math.floor(numTrainTimesteps / steps);
  return Array.from({ length: steps }, (_, j) => numTrainTimesteps - 1 - j * stride);
}

/** The trained step's input and timestep for one batch. */
export interface SimulatedInput {
  readonly timestep: number;
  readonly input: Float32Array;
}

export interface BackwardSimulationContext {
  readonly timesteps: readonly number[];
  readonly schedule: NoiseSchedule;
  readonly predictionType: PredictionType;
  /** The batch's latent shape [B, C, h, w]. */
  readonly batchShape: readonly number[];
  /** The generator's prediction at x for timestep t with the live student weights (conditional text only). */
  readonly predict: (x: Float32Array, t: number) => Promise<Float32Array>;
}

/**
 * Draws the step k, the simulation's noises and runs it; `z` is the batch's own noise (drawn by the caller).
 * Draw order after z: k, then one fresh noise to start from and one per re-noising, so a resume draws the same.
 */
export async function simulateGeneratorInput(
  z: Float32Array,
  rng: TorchGenerator,
  ctx: BackwardSimulationContext,
): Promise<SimulatedInput> {
  const ts = ctx.timesteps;
  const k = Number(rng.randint(0, ts.length, [1])[0]);
  if (k === 0) return { timestep: ts[0], input: z };
  const abar = (t: number) => ctx.schedule.alphaBar(t);
  let x = rng.randn([...ctx.batchShape]);
  let x0 = x;
  for (let j = 0; j < k; j++) {
    const read = originalReadout(ctx.predictionType, levelFromAlphaBar(abar(ts[j])));
    const out = await ctx.predict(x, ts[j]);
    x0 = x.map((v, i) => read.sample * v + read.model * out[i]);
    if (j + 1 < k) x = noised(x0, rng.randn([...ctx.batchShape]), abar(ts[j + 1]));
  }
  return { timestep: ts[k], input: noised(x0, z, abar(ts[k])) };
}

function noised(x0: Float32Array, noise: Float32Array, alphaBar: number): Float32Array {
  const { keep, noise: scale } = renoiseCoefficients(1, alphaBar);
  return x0.map((v, i) => keep * v + scale * noise[i]);
}

/** The generator (teacher + the student LoRA, fed) as an inference session over a batch of conditional prompts. */
export class GeneratorSession {
  private constructor(
    private readonly run: (feeds: Record<string, HostTensor>) => Promise<Record<string, HostTensor>>,
    private readonly output: string,
    private readonly inputNames: ReadonlySet<string>,
    private readonly sampleDims: readonly number[],
    /** The student LoRA slot it is fed (names and shapes as the training graph's). */
    readonly student: UnfusedLora,
    readonly release: () => Promise<void>,
  ) {}

  static async create(o: StudentGraphOptions, unetSource: TensorSource, session?: SessionOptions): Promise<GeneratorSession> {
    const graph = createGraph();
    const n = o.batch;
    const text = textInputs(graph, n, o.textShape, o.pooledWidth);
    const base = new Scope(graph);
    const student = new UnfusedLora(base, [loraTrainingSlot(STUDENT_SLOT, o.loraTargets.keys(), { rank: o.rank, alpha: o.alpha })]);
    const out = unet2DConditionModel(student.attach(base), o.unet, {
      sample: graph.input('sample', [n, ...o.latentShape]),
      timestep: graph.input('timestep', [n]),
      encoderHiddenStates: text.states('cond'),
      ...text.added('cond'),
    });
    student.assertApplied();
    const lora = new Set(student.params);
    const frozen = loadParams(
      unetSource,
      graph.params.filter((p) => !lora.has(p)),
      'unet',
    ).weights;
    const compiled = await compileGraph(graph, [out], { weights: frozen, session });
    const s = compiled.session;
    return new GeneratorSession(
      (f) => s.run(f),
      compiled.outputNames[0],
      new Set(s.inputNames),
      [n, ...o.latentShape],
      student,
      () => s.release(),
    );
  }

  /** The model output at `sample` for timestep `t`; `feeds` holds the text and the student's parameters (extra names are dropped). */
  async predict(sample: Float32Array, t: number, feeds: Record<string, HostTensor>): Promise<Float32Array> {
    const n = this.sampleDims[0];
    const all: Record<string, HostTensor> = {
      ...feeds,
      [loraScaleName(STUDENT_SLOT)]: { dtype: 'float32', dims: [], data: Float32Array.of(1) },
      sample: { dtype: 'float32', dims: [...this.sampleDims], data: sample },
      timestep: { dtype: 'float32', dims: [n], data: new Float32Array(n).fill(t) },
    };
    const used = Object.fromEntries(Object.entries(all).filter(([k]) => this.inputNames.has(k)));
    const result = await this.run(used);
    return result[this.output].data as Float32Array;
  }
}
