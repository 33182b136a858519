export * from './op-def.js';
export * from './registry.js';
export { elementwiseOps } from './elementwise.js';
export { reduceOps, resolveAxes } from './reduce.js';
export { movementOps, resolveReshape } from './movement.js';
export { matmulOps } from './matmul.js';
