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

export interface TrainStepOptions {
  readonly graph: Graph;
  /** Scalar loss. */
  readonly loss: Value;
  /** Parameters to optimize, with their initial float32 values by name. */
  readonly trainable: readonly Value[];
  readonly initial: ReadonlyMap<string, Float32Array>;
  /** Parameters that stay fixed, baked into the model (not fed per step). */
  readonly frozen?: ReadonlyMap<string, OnnxTensorData>;
  readonly optimizer: AdamWConfig;
  readonly lrSchedule?: LrSchedule;
  readonly maxGradNorm?: number;
  readonly gradAccumulationSteps?: number;
  /** Extra scalar values reported by every run (e.g. loss terms). */
  readonly logs?: Readonly<Record<string, Value>>;
  readonly session?: SessionOptions;
}

export interface TrainStepResult {
  readonly loss: number;
  /** Learning rate used by this run's update (the one pending, for non-applying micro-steps). */
  readonly lr: number;
  /** Whether this run applied an optimizer update (false on accumulation micro-steps). */
  readonly applied: boolean;
  /** Gradient norm before clipping, when clipping is on and an update was applied. */
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

export class TrainStep {
  private constructor(
    private readonly session: Session,
    private readonly stepGraph: StepGraph,
    private readonly outputs: { loss: string; gradNorm?: string; logs: [string, string][]; params: [string, string, string, string?][] },
    private readonly options: TrainStepOptions,
    private state: TrainState,
  ) {}

  static async create(o: TrainStepOptions): Promise<TrainStep> {
    if (o.lrSchedule) checkLrSchedule(o.lrSchedule);
    const accSteps = o.gradAccumulationSteps ?? 1;
    if (!Number.isInteger(accSteps) || accSteps < 1) throw new RangeError(`gradAccumulationSteps must be an integer >= 1, got ${accSteps}`);
    const state = initialState(o);
    const sg = buildStepGraph(o.graph, o);
    const logValues = Object.entries(o.logs ?? {});
    const outs: Value[] = [o.loss, ...(sg.gradNorm ? [sg.gradNorm] : []), ...logValues.map(([, v]) => v)];
    for (const s of sg.slots) outs.push(s.newParam, s.newM, s.newV, ...(s.newAcc ? [s.newAcc] : []));
    const { session, outputNames } = await compileGraph(o.graph, outs, { weights: o.frozen, session: o.session });
    let k = 0;
    const next = () => outputNames[k++];
    const outputs = {
      loss: next(),
      gradNorm: sg.gradNorm ? next() : undefined,
      logs: logValues.map(([key]): [string, string] => [key, next()]),
      params: sg.slots.map((s): [string, string, string, string?] => [next(), next(), next(), s.newAcc ? next() : undefined]),
    };
    return new TrainStep(session, sg, outputs, o, state);
  }

  /** Optimizer updates applied so far. */
  get optimizerSteps(): number {
    return this.state.optimizerSteps;
  }

  /** Runs one (micro-)batch. `batch` feeds the graph's own inputs by name. */
  async run(batch: Readonly<Record<string, HostTensor>>): Promise<TrainStepResult> {
    const o = this.options;
    const st = this.state;
    const accSteps = o.gradAccumulationSteps ?? 1;
    const applies = (st.microSteps + 1) % accSteps === 0;
    const t = st.optimizerSteps + 1;
    const { beta1, beta2 } = { ...adamwDefaults, ...o.optimizer };
    const lr = o.optimizer.lr * (o.lrSchedule ? lrFactor(o.lrSchedule, st.optimizerSteps) : 1);
    const scalar = (x: number): HostTensor => ({ dtype: 'float32', dims: [], data: Float32Array.of(x) });
    const feeds: Record<string, HostTensor> = {
      ...batch,
      [names.lr]: scalar(lr),
      [names.biasCorrection1]: scalar(biasCorrection(beta1, t)),
      [names.biasCorrection2]: scalar(biasCorrection(beta2, t)),
    };
    if (accSteps > 1) {
      feeds[names.accScale] = scalar(1 / accSteps);
      feeds[names.apply] = { dtype: 'bool', dims: [], data: Uint8Array.of(applies ? 1 : 0) };
    }
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
    this.stepGraph.slots.forEach((s, i) => {
      const [p, m, v, acc] = this.outputs.params[i];
      st.params.set(s.name, out[p].data as Float32Array);
      st.m.set(s.name, out[m].data as Float32Array);
      st.v.set(s.name, out[v].data as Float32Array);
      if (acc) st.acc.set(s.name, out[acc].data as Float32Array);
    });
    st.microSteps++;
    if (applies) st.optimizerSteps++;
    return {
      loss: num(this.outputs.loss),
      lr,
      applied: applies,
      gradNorm: this.outputs.gradNorm && applies ? num(this.outputs.gradNorm) : undefined,
      logs: Object.fromEntries(this.outputs.logs.map(([key, name]) => [key, num(name)])),
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

function initialState(o: TrainStepOptions): TrainState {
  const zeros = (p: Value) => new Float32Array(numel(p.shape));
  const params = new Map<string, Float32Array>();
  for (const p of o.trainable) {
    const init = o.initial.get(p.name!);
    const n = numel(p.shape);
    if (!init) throw new RangeError(`no initial value for trainable parameter "${p.name}"`);
    if (init.length !== n) throw new RangeError(`initial value of "${p.name}" has ${init.length} values, shape needs ${n}`);
    params.set(p.name!, init.slice());
  }
  const accumulate = (o.gradAccumulationSteps ?? 1) > 1;
  const map = (make: boolean) => new Map(make ? o.trainable.map((p) => [p.name!, zeros(p)]) : []);
  return { optimizerSteps: 0, microSteps: 0, params, m: map(true), v: map(true), acc: map(accumulate) };
}
