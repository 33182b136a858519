// Public API of tdd-diffusion (Node entry).
export * from './schedulers/index.js';
export { TorchGenerator, type TorchGeneratorState, type Shape } from './util/torch-generator.js';
