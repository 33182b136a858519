import { formatShape, GraphError, shapesEqual, type Shape, type Value } from '../ir/index.js';

/**
 * Sums `g` (whose shape is a numpy broadcast of `shape`) down to `shape`: leading extra axes and axes
 * where `shape` has 1. This is the one place gradients of broadcast operands are reduced (the autodiff
 * walker calls it for every cotangent; matmul's rule for its promoted 1-D operands).
 */
export function sumToShape(g: Value, shape: Shape): Value {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const ok = lead >= 0 && shape.every((d, i) => d === g.shape[lead + i] || d === 1);
  if (!ok) throw new GraphError(`cannot reduce gradient of shape ${formatShape(g.shape)} to ${formatShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length > 0 ? g.sum(axes, true) : g;
  return shapesEqual(summed.shape, shape) ? summed : summed.reshape(shape);
}
