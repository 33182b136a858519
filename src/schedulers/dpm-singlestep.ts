// DPM-Solver++ singlestep (orders 1–2), matching diffusers' DPMSolverSinglestepScheduler.
// Second-order steps pair up: the first of a pair stores its input sample; the second uses both
// model outputs and restarts from that stored sample. TDD extends this with its own target σ.
import { baseDefaults, ddpmNoiseDefaults, resolveConfig, type ConfigRules } from './config.js';
import { clippedSteps, dpmRules, sigmasAt, type DpmConfig } from './dpm-config.js';
import { dpmFirstOrder, dpmSecondOrder } from './dpm-solver-math.js';
import { levelFromSigma } from './prediction.js';
import { Scheduler, type SchedulerPlan, type StepOptions, type StepResult } from './scheduler.js';
import { linspace, roundHalfEven } from './spacing.js';
import { combine } from './tensor-math.js';

export interface SinglestepPlan extends SchedulerPlan {
  readonly sigmas: readonly number[];
  /** Solver order used at each step. */
  readonly orderList: readonly number[];
}

export const singlestepDefaults: DpmConfig = {
  ...ddpmNoiseDefaults,
  ...baseDefaults,
  solver_order: 2,
  algorithm_type: 'dpmsolver++',
  solver_type: 'midpoint',
  lower_order_final: false,
  final_sigmas_type: 'zero',
  lambda_min_clipped: -Infinity,
};

/** diffusers' get_order_list for orders 1–2; a zero final σ always ends on a first-order step. */
export function singlestepOrders(steps: number, order: number, lowerOrderFinal: boolean, finalZero: boolean): number[] {
  let orders: number[];
  if (order === 1) orders = Array(steps).fill(1);
  else if (!lowerOrderFinal) orders = Array.from({ length: 2 * Math.floor(steps / 2) }, (_, i) => (i % 2) + 1);
  else if (steps % 2 === 0) orders = [...Array.from({ length: steps - 2 }, (_, i) => (i % 2) + 1), 1, 1];
  else orders = [...Array.from({ length: steps - 1 }, (_, i) => (i % 2) + 1), 1];
  if (finalZero && orders.length > 0) orders[orders.length - 1] = 1;
  return orders;
}

export class DpmSinglestepScheduler<C extends DpmConfig = DpmConfig, P extends SinglestepPlan = SinglestepPlan> extends Scheduler<C, P> {
  readonly name: 'dpmsolver-singlestep' | 'tdd' = 'dpmsolver-singlestep';
  private history: (Float32Array | undefined)[] = [];
  /** Input sample of the first step of the current pair. */
  private pairStart: Float32Array | undefined;

  static create(input?: Record<string, unknown>): DpmSinglestepScheduler {
    const { config, ignored } = resolveConfig('dpmsolver-singlestep', dpmRules as ConfigRules<DpmConfig>, singlestepDefaults, input);
    return new DpmSinglestepScheduler(config, ignored);
  }

  protected override resetState(): void {
    this.history = [];
    this.pairStart = undefined;
  }

  /**
   * lower_order_final as the reference leaves it after set_timesteps: forced on for an odd step count
   * with order 2, and for a zero final σ.
   */
  protected lowerOrderFinalFor(n: number): boolean {
    const c = this.config;
    return c.lower_order_final || n % c.solver_order !== 0 || c.final_sigmas_type === 'zero';
  }

  protected makePlan(n: number): P {
    const c = this.config;
    const last = c.num_train_timesteps - 1 - clippedSteps(this.schedule, c.lambda_min_clipped);
    const timesteps = linspace(0, last, n + 1)
      .map(roundHalfEven)
      .reverse()
      .slice(0, n);
    return this.withSigmas(timesteps, timesteps) as P;
  }

  /** Plan from integer model timesteps and the (possibly fractional) points σ is read at. */
  protected withSigmas(timesteps: number[], sigmaPoints: number[]): SinglestepPlan {
    const c = this.config;
    const orderList = singlestepOrders(
      timesteps.length,
      c.solver_order,
      this.lowerOrderFinalFor(timesteps.length),
      c.final_sigmas_type === 'zero',
    );
    return {
      numInferenceSteps: timesteps.length,
      timesteps,
      sigmas: sigmasAt(this.schedule, sigmaPoints, c.final_sigmas_type),
      initNoiseSigma: 1,
      orderList,
    };
  }

  /** σ this step lands on. */
  protected targetSigma(index: number, _options: StepOptions): number {
    return this.plan.sigmas[index + 1];
  }

  protected shouldThreshold(_index: number): boolean {
    return this.config.thresholding;
  }

  protected stepAt(index: number, modelOutput: Float32Array, sample: Float32Array, options: StepOptions): StepResult {
    const { sigmas, orderList } = this.plan;
    const x0 = this.predictOriginal(modelOutput, sample, levelFromSigma(sigmas[index]), options, {
      threshold: this.shouldThreshold(index),
      clipSample: false,
    });
    const previous = this.history.at(-1);
    this.history = [x0];
    let order = orderList[index] ?? 1;
    if (order === 2 && previous === undefined) order = 1;
    const target = this.targetSigma(index, options);
    if (order === 1) {
      this.pairStart = sample;
      const k = dpmFirstOrder(sigmas[index], target);
      return { prevSample: combine([k.sample, sample], [k.x0, x0]), predOriginal: x0 };
    }
    const k = dpmSecondOrder('singlestep', this.config.solver_type, sigmas[index - 1], sigmas[index], target);
    return { prevSample: combine([k.sample, this.pairStart!], [k.current, x0], [k.previous, previous!]), predOriginal: x0 };
  }
}
