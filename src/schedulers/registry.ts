// Scheduler names → constructors. An explicit table (no side-effect registration).
import { SchedulerOptionError } from './config.js';
import { DdimScheduler } from './ddim.js';
import { DmdScheduler } from './dmd.js';
import { DpmMultistepScheduler } from './dpm-multistep.js';
import { DpmSinglestepScheduler } from './dpm-singlestep.js';
import { EulerScheduler } from './euler.js';
import { LcmScheduler } from './lcm.js';
import type { Scheduler, SchedulerName } from './scheduler.js';
import { TcdScheduler } from './tcd.js';
import { TddScheduler } from './tdd.js';

const factories: Record<SchedulerName, (config?: Record<string, unknown>) => Scheduler<any, any>> = {
  ddim: DdimScheduler.create,
  euler: EulerScheduler.create,
  'dpmsolver++': DpmMultistepScheduler.create,
  'dpmsolver-singlestep': DpmSinglestepScheduler.create,
  lcm: LcmScheduler.create,
  tcd: TcdScheduler.create,
  tdd: TddScheduler.create,
  dmd: DmdScheduler.create,
};

export const schedulerNames = Object.freeze(Object.keys(factories) as SchedulerName[]);

export function isSchedulerName(name: string): name is SchedulerName {
  return Object.hasOwn(factories, name);
}

/**
 * Builds a scheduler from diffusers scheduler_config.json fields (unknown keys are ignored and listed
 * in `scheduler.ignoredKeys`).
 */
export function createScheduler(name: 'ddim', config?: Record<string, unknown>): DdimScheduler;
export function createScheduler(name: 'euler', config?: Record<string, unknown>): EulerScheduler;
export function createScheduler(name: 'dpmsolver++', config?: Record<string, unknown>): DpmMultistepScheduler;
export function createScheduler(name: 'dpmsolver-singlestep', config?: Record<string, unknown>): DpmSinglestepScheduler;
export function createScheduler(name: 'lcm', config?: Record<string, unknown>): LcmScheduler;
export function createScheduler(name: 'tcd', config?: Record<string, unknown>): TcdScheduler;
export function createScheduler(name: 'tdd', config?: Record<string, unknown>): TddScheduler;
export function createScheduler(name: 'dmd', config?: Record<string, unknown>): DmdScheduler;
export function createScheduler(name: string, config?: Record<string, unknown>): Scheduler<any, any>;
export function createScheduler(name: string, config: Record<string, unknown> = {}): Scheduler<any, any> {
  if (!isSchedulerName(name)) {
    throw new SchedulerOptionError(`unknown scheduler "${name}"; choose one of: ${schedulerNames.join(', ')}`);
  }
  return factories[name](config);
}
