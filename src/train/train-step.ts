/**
 * A compiled training step: forward + loss + backward + AdamW in one ONNX Runtime session. Parameters
 * and optimizer state live on the host between calls (ORT's outputs become the next call's inputs, with
 * no copies); the model is compiled once.
 */
import { numel, type Graph, type Value } from '../ir/index.js';
import type { OnnxTensorData } from '../onnx/model.js';
import { compileGraph } from '../runtime/compile-graph.js';
import type { Session, SessionOptions } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensors.js';
import { checkLrSchedule, lrFactor, type LrSchedule } from './lr-schedule.js';
import { adamwDefaults, biasCorrection, type AdamWConfig } from './optim/adamw.js';
import { buildStepGraph, optimizerInputNames as names, type StepGraph } from './step-graph.js';

/** One optimizer over one set of parameters, minimizing one loss of the shared graph. */
export interface TrainPhase {
  /** Names the phase in logs and graph inputs (`[a-z0-9_]`). */
  readonly name: string;
  /** Scalar loss. */
  readonly loss: Value;
  /** Parameters to optimize, with their initial float32 values by name. */
  readonly trainable: readonly Value[];
  readonly initial: ReadonlyMap<string, Float32Array>;
  readonly optimizer: AdamWConfig;
  readonly lrSchedule?: LrSchedule;
  readonly maxGradNorm?: number;
  /** Updates on every n-th optimizer step (default 1: every step)… */
  readonly every?: number;
  /** …those whose 0-based index leaves this remainder (default 0), so two phases can alternate (every 2, at 0 and 1). */
  readonly at?: number;
}

interface TrainStepCommon {
  readonly graph: Graph;
  /** Parameters that stay fixed, baked into the model (not fed per step): one copy, whatever the phases. */
  readonly frozen?: ReadonlyMap<string, OnnxTensorData>;
  readonly gradAccumulationSteps?: number;
  /** Extra scalar values reported by every run (e.g. loss terms). */
  readonly logs?: Readonly<Record<string, Value>>;
  readonly session?: SessionOptions;
}

/** One phase (its fields inline, named "main") or a list of phases sharing the graph and its frozen weights. */
export type TrainStepOptions = TrainStepCommon & (Omit<TrainPhase, 'name' | 'every'> | { readonly phases: readonly TrainPhase[] });

export interface TrainStepResult {
  /** The first phase's loss (every other phase's is in logs as `loss_<phase>`). */
  readonly loss: number;
  /** Learning rate used by this run's update (the one pending, for non-applying micro-steps). */
  readonly lr: number;
  /** Whether this run applied an optimizer update (false on accumulation micro-steps). */
  readonly applied: boolean;
  /** The first phase's gradient norm before clipping, when clipping is on and it applied an update. */
  readonly gradNorm?: number;
  readonly logs: Record<string, number>;
}

/** Everything needed to resume: counters plus every per-parameter array. */
export interface TrainState {
  optimizerSteps: number;
  microSteps: number;
  params: Map<string, Float32Array>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  acc: Map<string, Float32Array>;
}

/** The phases of a TrainStepOptions, the single-phase shorthand named "main". */
export function trainPhases(o: TrainStepOptions): readonly TrainPhase[] {
  if ('phases' in o) return o.phases;
  const { loss, trainable, initial, optimizer, lrSchedule, maxGradNorm } = o;
  return [{ name: 'main', loss, trainable, initial, optimizer, lrSchedule, maxGradNorm }];
}

interface PhaseOutputs {
  readonly loss: string;
  readonly gradNorm?: string;
  /** [param, m, v, acc?] output names per slot. */
  readonly params: [string, string, string, string?][];
}

export class TrainStep {
  private constructor(
    private readonly session: Session,
    private readonly stepGraph: StepGraph,
    private readonly phases: readonly TrainPhase[],
    private readonly outputs: { phases: PhaseOutputs[]; logs: [string, string][] },
    private readonly options: TrainStepOptions,
    private state: TrainState,
  ) {}

  static async create(o: TrainStepOptions): Promise<TrainStep> {
    const phases = trainPhases(o);
    const accSteps = o.gradAccumulationSteps ?? 1;
    if (!Number.isInteger(accSteps) || accSteps < 1) throw new RangeError(`gradAccumulationSteps must be an integer >= 1, got ${accSteps}`);
    for (const p of phases) {
      if (p.lrSchedule) checkLrSchedule(p.lrSchedule);
      if (!/^[a-z0-9_]+$/.test(p.name)) throw new RangeError(`training phase name must match [a-z0-9_]+, got "${p.name}"`);
      const every = p.every ?? 1;
      if (!Number.isInteger(every) || every < 1) throw new RangeError(`phase "${p.name}": every must be an integer >= 1, got ${every}`);
      const at = p.at ?? 0;
      if (!Number.isInteger(at) || at < 0 || at >= every)
        throw new RangeError(`phase "${p.name}": at must be an integer in [0, ${every - 1}], got ${at}`);
    }
    const sg = buildStepGraph(o.graph, {
      phases: phases.map((p) => ({ ...p, gated: (p.every ?? 1) > 1 })),
      gradAccumulationSteps: accSteps,
    });
    const state = initialState(phases, accSteps > 1);
    const logValues = Object.entries(o.logs ?? {});
    const outs: Value[] = [];
    for (const [i, pg] of sg.phases.entries()) {
      outs.push(phases[i].loss, ...(pg.gradNorm ? [pg.gradNorm] : []));
      for (const s of pg.slots) outs.push(s.newParam, s.newM, s.newV, ...(s.newAcc ? [s.newAcc] : []));
    }
    outs.push(...logValues.map(([, v]) => v));
    const { session, outputNames } = await compileGraph(o.graph, outs, { weights: o.frozen, session: o.session });
    let k = 0;
    const next = () => outputNames[k++];
    const phaseOutputs = sg.phases.map((pg): PhaseOutputs => ({
      loss: next(),
      gradNorm: pg.gradNorm ? next() : undefined,
      params: pg.slots.map((s): [string, string, string, string?] => [next(), next(), next(), s.newAcc ? next() : undefined]),
    }));
    const logs = logValues.map(([key]): [string, string] => [key, next()]);
    return new TrainStep(session, sg, phases, { phases: phaseOutputs, logs }, o, state);
  }

  /** Micro-batches run so far (equal to optimizerSteps without gradient accumulation). */
  get microSteps(): number {
    return this.state.microSteps;
  }

  /** Optimizer steps taken so far (each applies every phase that is due). */
  get optimizerSteps(): number {
    return this.state.optimizerSteps;
  }

  /** Updates a phase has applied after `optimizerSteps` optimizer steps: the due steps at, at + n, … before it. */
  static phaseUpdates(optimizerSteps: number, every = 1, at = 0): number {
    return Math.max(0, Math.ceil((optimizerSteps - at) / every));
  }

  /** Runs one (micro-)batch through every phase. `batch` feeds the graph's own inputs by name. */
  async run(batch: Readonly<Record<string, HostTensor>>): Promise<TrainStepResult> {
    const st = this.state;
    const accSteps = this.options.gradAccumulationSteps ?? 1;
    const completes = (st.microSteps + 1) % accSteps === 0;
    const scalar = (x: number): HostTensor => ({ dtype: 'float32', dims: [], data: Float32Array.of(x) });
    const feeds: Record<string, HostTensor> = { ...batch };
    if (accSteps > 1) feeds[names.accScale] = scalar(1 / accSteps);
    const plans = this.phases.map((phase, i) => {
      const every = phase.every ?? 1;
      const at = phase.at ?? 0;
      const applies = completes && st.optimizerSteps % every === at;
      const done = TrainStep.phaseUpdates(st.optimizerSteps, every, at);
      const { beta1, beta2 } = { ...adamwDefaults, ...phase.optimizer };
      const lr = phase.optimizer.lr * (phase.lrSchedule ? lrFactor(phase.lrSchedule, done) : 1);
      feeds[names.lr(phase.name)] = scalar(lr);
      feeds[names.biasCorrection1(phase.name)] = scalar(biasCorrection(beta1, done + 1));
      feeds[names.biasCorrection2(phase.name)] = scalar(biasCorrection(beta2, done + 1));
      if (this.stepGraph.phases[i].scalars.apply)
        feeds[names.apply(phase.name)] = { dtype: 'bool', dims: [], data: Uint8Array.of(applies ? 1 : 0) };
      return { lr, applies };
    });
    for (const s of this.stepGraph.slots) {
      const dims = [...s.param.shape];
      const f = (data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });
      feeds[s.name] = f(st.params.get(s.name)!);
      feeds[names.m(s.name)] = f(st.m.get(s.name)!);
      feeds[names.v(s.name)] = f(st.v.get(s.name)!);
      if (s.acc) feeds[names.acc(s.name)] = f(st.acc.get(s.name)!);
    }
    const out = await this.session.run(feeds);
    const num = (name: string): number => Number(out[name].data[0]);
    const logs: Record<string, number> = {};
    this.stepGraph.phases.forEach((pg, i) => {
      const o = this.outputs.phases[i];
      pg.slots.forEach((s, j) => {
        const [p, m, v, acc] = o.params[j];
        st.params.set(s.name, out[p].data as Float32Array);
        st.m.set(s.name, out[m].data as Float32Array);
        st.v.set(s.name, out[v].data as Float32Array);
        if (acc) st.acc.set(s.name, out[acc].data as Float32Array);
      });
      if (i === 0) return;
      logs[`loss_${pg.name}`] = num(o.loss);
      if (o.gradNorm && plans[i].applies) logs[`grad_norm_${pg.name}`] = num(o.gradNorm);
    });
    for (const [key, name] of this.outputs.logs) logs[key] = num(name);
    st.microSteps++;
    if (completes) st.optimizerSteps++;
    const first = this.outputs.phases[0];
    return {
      loss: num(first.loss),
      lr: plans[0].lr,
      applied: completes,
      gradNorm: first.gradNorm && plans[0].applies ? num(first.gradNorm) : undefined,
      logs,
    };
  }

  /** Current trainable parameter values by name (live arrays: copy before mutating). */
  parameters(): ReadonlyMap<string, Float32Array> {
    return this.state.params;
  }

  /** A deep copy of the full optimizer state, for checkpoints. */
  saveState(): TrainState {
    const copy = (m: Map<string, Float32Array>) => new Map([...m].map(([k, v]) => [k, v.slice()]));
    const s = this.state;
    return {
      optimizerSteps: s.optimizerSteps,
      microSteps: s.microSteps,
      params: copy(s.params),
      m: copy(s.m),
      v: copy(s.v),
      acc: copy(s.acc),
    };
  }

  /** Restores a state saved by `saveState` (same parameters and shapes). */
  loadState(s: TrainState): void {
    const expect = (label: string, m: Map<string, Float32Array>) => {
      for (const slot of this.stepGraph.slots) {
        const a = m.get(slot.name);
        const n = numel(slot.param.shape);
        if (!a || a.length !== n)
          throw new RangeError(`train state: ${label} of "${slot.name}" needs ${n} values, got ${a?.length ?? 'none'}`);
      }
    };
    expect('params', s.params);
    expect('adam m', s.m);
    expect('adam v', s.v);
    if ((this.options.gradAccumulationSteps ?? 1) > 1) expect('grad accumulator', s.acc);
    this.state = {
      optimizerSteps: s.optimizerSteps,
      microSteps: s.microSteps,
      params: new Map(s.params),
      m: new Map(s.m),
      v: new Map(s.v),
      acc: new Map(s.acc),
    };
  }

  release(): Promise<void> {
    return this.session.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

function initialState(phases: readonly TrainPhase[], accumulate: boolean): TrainState {
  const trainable = phases.flatMap((p) => p.trainable);
  const params = new Map<string, Float32Array>();
  for (const phase of phases)
    for (const p of phase.trainable) {
      const init = phase.initial.get(p.name!);
      const n = numel(p.shape);
      if (!init) throw new RangeError(`no initial value for trainable parameter "${p.name}"`);
      if (init.length !== n) throw new RangeError(`initial value of "${p.name}" has ${init.length} values, shape needs ${n}`);
      params.set(p.name!, init.slice());
    }
  const map = (make: boolean) => new Map(make ? trainable.map((p) => [p.name!, new Float32Array(numel(p.shape))]) : []);
  return { optimizerSteps: 0, microSteps: 0, params, m: map(true), v: map(true), acc: map(accumulate) };
}
