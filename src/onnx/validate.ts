/**
 * Structural checks run before encoding, so mistakes surface as a clear
 * message naming the offending value instead of an opaque ORT load failure.
 */
import { DATA_TYPE_INFO, type OnnxGraph, type OnnxTensor, type OnnxValueInfo } from './model.js';

export class OnnxEncodeError extends Error {
  override name = 'OnnxEncodeError';
}

function fail(message: string): never {
  throw new OnnxEncodeError(message);
}

function typeInfo(dataType: number, where: string): { name: string; bytes: number; array: Function } {
  const info = (DATA_TYPE_INFO as Record<number, { name: string; bytes: number; array: Function }>)[dataType];
  if (!info) fail(`${where}: unsupported data type ${dataType}`);
  return info;
}

/**
 * Tensor dims/data agree: right typed array, element count = product(dims). An external tensor's bytes live in
 * another file: `externalBytes` is their length, which must be what the dims need.
 */
export function validateTensor(t: OnnxTensor, where = `tensor '${t.name}'`, externalBytes?: number): void {
  const info = typeInfo(t.dataType, where);
  let count = 1;
  for (const d of t.dims) {
    if (!Number.isInteger(d) || d < 0) fail(`${where}: invalid dim ${d} in [${t.dims.join(', ')}]`);
    count *= d;
  }
  if (externalBytes !== undefined) {
    if (externalBytes !== count * info.bytes)
      fail(`${where}: external data has ${externalBytes} bytes but dims [${t.dims.join(', ')}] need ${count * info.bytes}`);
    return;
  }
  if (!(t.data instanceof (info.array as new (...a: never[]) => unknown))) {
    fail(`${where}: ${info.name} data must be a ${info.array.name}, got ${t.data.constructor.name}`);
  }
  if (t.data.length !== count) {
    fail(`${where}: data has ${t.data.length} elements but dims [${t.dims.join(', ')}] need ${count}`);
  }
}

function validateValueInfo(v: OnnxValueInfo, where: string): void {
  typeInfo(v.dataType, `${where} '${v.name}'`);
  for (const d of v.shape) {
    const ok = typeof d === 'string' ? d.length > 0 : Number.isInteger(d) && d >= 0;
    if (!ok) fail(`${where} '${v.name}': invalid dim ${JSON.stringify(d)}`);
  }
}

/**
 * Checks unique names, topological order (every node input is a graph input,
 * an initializer or an earlier node's output) and that graph outputs exist.
 * An initializer may share its name with a graph input (ONNX "overridable
 * initializer"), so that pair is not a duplicate.
 */
export function validateGraph(graph: OnnxGraph, externalBytes?: ReadonlyMap<OnnxTensor, number>): void {
  const defined = new Map<string, string>();
  const define = (name: string, what: string): void => {
    if (!name) fail(`${what} has an empty name`);
    const prev = defined.get(name);
    if (prev !== undefined) fail(`duplicate value name '${name}': defined by ${prev} and by ${what}`);
    defined.set(name, what);
  };

  for (const v of graph.inputs) {
    validateValueInfo(v, 'graph input');
    define(v.name, `graph input '${v.name}'`);
  }
  const initNames = new Set<string>();
  for (const t of graph.initializers) {
    validateTensor(t, `initializer '${t.name}'`, externalBytes?.get(t));
    if (initNames.has(t.name)) fail(`duplicate value name '${t.name}': two initializers`);
    initNames.add(t.name);
    if (!defined.has(t.name)) define(t.name, `initializer '${t.name}'`);
  }

  graph.nodes.forEach((node, i) => {
    const label = `node #${i} (${node.opType}${node.name ? ` '${node.name}'` : ''})`;
    if (!node.opType) fail(`${label}: missing opType`);
    for (const input of node.inputs) {
      if (input === '') continue; // omitted optional input
      if (!defined.has(input)) {
        fail(`${label}: input '${input}' is not a graph input, an initializer or an earlier node output`);
      }
    }
    for (const output of node.outputs) {
      if (output === '') continue;
      define(output, `output of ${label}`);
    }
  });

  for (const v of graph.outputs) {
    validateValueInfo(v, 'graph output');
    if (!defined.has(v.name)) fail(`graph output '${v.name}' is not produced by any node, input or initializer`);
  }
  for (const v of graph.valueInfo ?? []) validateValueInfo(v, 'value_info');
}
