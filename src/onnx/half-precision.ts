/**
 * A float32 model rewritten to compute in float16 (what GPUs run diffusion models in), keeping its float32
 * interface: float inputs are cast to float16 on entry and float outputs back to float32 on exit, float
 * initializers and constants become float16, and casts to float become casts to float16. Inputs that ONNX
 * requires in float32 whatever the data type (Resize's roi and scales) keep their initializers as they are.
 * Deferred initializers (emitModel's `deferred`, still empty) change type only: whoever streams their data
 * converts it (see runtime/compile-graph.ts).
 */
import { float32ToFloat16 } from '../util/half.js';
import { OnnxDataType, type OnnxAttributeValue, type OnnxModel, type OnnxNode, type OnnxTensor } from './model.js';

/** Node inputs that stay float32 in a float16 model, by op type and input index. */
const FLOAT32_INPUTS: Readonly<Record<string, readonly number[]>> = { Resize: [1, 2] };

function toHalf(t: OnnxTensor): OnnxTensor {
  if (t.dataType !== OnnxDataType.FLOAT) return t;
  const data = t.data.length === 0 ? new Uint16Array(0) : float32ToFloat16(t.data as Float32Array);
  return { ...t, dataType: OnnxDataType.FLOAT16, data };
}

function halfAttributes(node: OnnxNode): OnnxNode['attributes'] {
  if (!node.attributes) return node.attributes;
  const out: Record<string, OnnxAttributeValue> = {};
  for (const [key, attr] of Object.entries(node.attributes)) {
    const castsToFloat = (node.opType === 'Cast' && key === 'to') || (/^Random/.test(node.opType) && key === 'dtype');
    if (castsToFloat && attr.kind === 'int' && Number(attr.value) === OnnxDataType.FLOAT)
      out[key] = { kind: 'int', value: OnnxDataType.FLOAT16 };
    else if (attr.kind === 'tensor') out[key] = { kind: 'tensor', value: toHalf(attr.value) };
    else out[key] = attr;
  }
  return out;
}

/**
 * Returns the float16 model and, for each initializer that was replaced, the new tensor (deferred ones included,
 * so their data can be produced as float16 later).
 */
export function toHalfPrecision(model: OnnxModel): { model: OnnxModel; replaced: Map<OnnxTensor, OnnxTensor> } {
  const { graph } = model;
  const keepFloat32 = new Set<string>();
  for (const node of graph.nodes) for (const i of FLOAT32_INPUTS[node.opType] ?? []) if (node.inputs[i]) keepFloat32.add(node.inputs[i]);
  const replaced = new Map<OnnxTensor, OnnxTensor>();
  const initializers = graph.initializers.map((t) => {
    if (keepFloat32.has(t.name) || t.dataType !== OnnxDataType.FLOAT) return t;
    const half = toHalf(t);
    replaced.set(t, half);
    return half;
  });
  const nodes: OnnxNode[] = [];
  const rename = new Map<string, string>();
  for (const input of graph.inputs) {
    if (input.dataType !== OnnxDataType.FLOAT) continue;
    const inner = `${input.name}__f16`;
    rename.set(input.name, inner);
    nodes.push({
      opType: 'Cast',
      name: `${inner}_cast`,
      inputs: [input.name],
      outputs: [inner],
      attributes: { to: { kind: 'int', value: OnnxDataType.FLOAT16 } },
    });
  }
  const outputs = new Map(graph.outputs.filter((o) => o.dataType === OnnxDataType.FLOAT).map((o) => [o.name, `${o.name}__f16`]));
  const renamed = (name: string) => rename.get(name) ?? outputs.get(name) ?? name;
  for (const node of graph.nodes) {
    nodes.push({ ...node, inputs: node.inputs.map(renamed), outputs: node.outputs.map(renamed), attributes: halfAttributes(node) });
  }
  for (const [name, inner] of outputs) {
    // An output that is a graph input passed through needs the input's float16 name.
    nodes.push({
      opType: 'Cast',
      name: `${inner}_cast`,
      inputs: [rename.get(name) ?? inner],
      outputs: [name],
      attributes: { to: { kind: 'int', value: OnnxDataType.FLOAT } },
    });
  }
  return { model: { ...model, graph: { ...graph, nodes, initializers } }, replaced };
}
