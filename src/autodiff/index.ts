export { grad, vjp, type GradOptions } from './grad.js';
export { checkpoint } from './checkpoint.js';
