export { grad, vjp, type GradOptions } from './grad.js';
