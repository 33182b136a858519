import { formatShape } from './shape.js';
import type { Value } from './value.js';

/** Short reference to a value: `%3 "h" float32[2,8]`, `%1 param "w" float32[8,4]`, `%5 const float32[]=0.5`. */
export function ref(v: Value): string {
  const kind = v.source.kind === 'node' ? '' : ` ${v.source.kind}`;
  const name = v.name === undefined ? '' : ` "${v.name}"`;
  let text = `%${v.id}${kind}${name} ${v.dtype}${formatShape(v.shape)}`;
  if (v.source.kind === 'const' && v.source.data.data.length === 1) text += `=${v.source.data.data[0]}`;
  return text;
}

/**
 * How a value was produced, `depth` producers deep:
 * `path(h) === 'matmul(%0 input "x" float32[2,8], %1 param "w" float32[8,4])'`.
 * Leaves (inputs, params, constants) and values beyond `depth` print as `ref`.
 */
export function path(v: Value, depth = 1): string {
  if (v.source.kind !== 'node' || depth <= 0) return ref(v);
  const { node, index } = v.source;
  const args = node.inputs.map((x) => path(x, depth - 1)).join(', ');
  const out = node.outputs.length > 1 ? `[${index}]` : '';
  return `${node.op}(${args})${out}`;
}

/** Multi-line listing of operands with their shapes, dtypes and paths, for error messages. */
export function describeOperands(inputs: readonly Value[]): string {
  if (inputs.length === 0) return '  (no operands)';
  return inputs.map((v, i) => `  operand ${i}: ${ref(v)}${v.source.kind === 'node' ? ` = ${path(v, 2)}` : ''}`).join('\n');
}
