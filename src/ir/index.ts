export * from './dtype.js';
export * from './shape.js';
export * from './errors.js';
export * from './host-array.js';
export * from './graph.js';
export * from './value.js';
export { path, ref, describeOperands } from './path.js';
export { liveSet } from './live-set.js';
