export { TrainStep, trainPhases, type TrainPhase, type TrainStepOptions, type TrainStepResult, type TrainState } from './train-step.js';
export { buildStepGraph, optimizerInputNames, type PhaseGraph, type StepGraph, type StepGraphOptions } from './step-graph.js';
export { adamwUpdate, adamwDefaults, biasCorrection, type AdamWConfig } from './optim/adamw.js';
export { clipByGlobalNorm } from './clip.js';
export { lrFactor, checkLrSchedule, lrScheduleNames, LrScheduleError, type LrSchedule, type LrScheduleName } from './lr-schedule.js';
