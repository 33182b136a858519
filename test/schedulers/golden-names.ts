// Maps the diffusers class names used in ../shared/golden to our scheduler names.
import type { SchedulerName } from '../../src/schedulers/index.js';

export const goldenSchedulerNames: Record<string, SchedulerName> = {
  DDIMScheduler: 'ddim',
  EulerDiscreteScheduler: 'euler',
  DPMSolverMultistepScheduler: 'dpmsolver++',
  LCMScheduler: 'lcm',
  TCDScheduler: 'tcd',
  TDDScheduler: 'tdd',
};
