/**
 * IR graph → plain OnnxModel. Walks only the nodes the requested outputs need, in graph order, and
 * calls each op's `lower` rule through a LowerContext. Constants become initializers; inputs and
 * parameters become ONNX graph inputs (named by their feed keys) with static shapes and dtypes.
 */
import { GraphError, liveSet, numel, ref, type DType, type Graph, type HostArray, type Value } from '../ir/index.js';
import { registry as defaultRegistry, type LowerContext, type OpRegistry } from '../ops/index.js';
import {
  DATA_TYPE_INFO,
  OnnxDataType,
  type OnnxAttributeValue,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxTensorData,
  type OnnxValueInfo,
} from './model.js';
import { float32ToFloat16 } from '../util/half.js';

export interface EmitOptions {
  /** ONNX graph inputs, in order (default: graph inputs then params reachable from the outputs). */
  readonly inputs?: readonly Value[];
  /** Graph name (default 'main'). */
  readonly name?: string;
  /** Op table providing the lower rules (defaults to the standard registry). */
  readonly ops?: OpRegistry;
  /**
   * Parameters baked into the model as initializers, by name (e.g. frozen teacher weights): they are not
   * graph inputs, so they are not fed or copied per run. Data must match the parameter's shape and dtype.
   */
  readonly weights?: ReadonlyMap<string, OnnxTensorData>;
  /**
   * Parameters baked as initializers whose data the caller supplies after emitting (streamed into an external
   * data file, or filled in memory): they come back in `deferred` with empty data, and only those the outputs
   * reach, so a graph that uses part of a checkpoint reads only that part.
   */
  readonly deferredWeights?: ReadonlySet<string>;
}

export interface EmittedModel {
  model: OnnxModel;
  inputNames: string[];
  outputNames: string[];
  /** The initializers of `deferredWeights` the outputs need, by parameter name (data still empty). */
  deferred: Map<string, OnnxTensor>;
}

export class EmitError extends GraphError {
  override name = 'EmitError';
}

const DTYPE_TO_ONNX: Readonly<Record<DType, OnnxDataType>> = {
  float32: OnnxDataType.FLOAT,
  float16: OnnxDataType.FLOAT16,
  int64: OnnxDataType.INT64,
  int32: OnnxDataType.INT32,
  bool: OnnxDataType.BOOL,
};

export function onnxDataType(dtype: DType): OnnxDataType {
  const t = DTYPE_TO_ONNX[dtype];
  if (t === undefined) throw new EmitError(`no ONNX data type for dtype '${String(dtype)}'`);
  return t;
}

/** HostArray (float64 storage) → ONNX tensor with the typed array its dtype needs. */
export function hostArrayToTensor(name: string, a: HostArray): OnnxTensor {
  const dims = [...a.shape];
  const dataType = onnxDataType(a.dtype);
  switch (a.dtype) {
    case 'float32':
      return { name, dataType, dims, data: Float32Array.from(a.data) };
    case 'int64':
      return { name, dataType, dims, data: BigInt64Array.from(a.data, (x) => BigInt(x)) };
    case 'int32':
      return { name, dataType, dims, data: Int32Array.from(a.data) };
    case 'bool':
      return { name, dataType, dims, data: Uint8Array.from(a.data, (x) => (x !== 0 ? 1 : 0)) };
    case 'float16':
      return { name, dataType, dims, data: float32ToFloat16(Float32Array.from(a.data)) };
  }
}

function toAttribute(op: string, key: string, v: unknown): OnnxAttributeValue {
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'kind' in v) return v as OnnxAttributeValue;
  if (typeof v === 'bigint') return { kind: 'int', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { kind: 'int', value: v } : { kind: 'float', value: v };
  if (typeof v === 'boolean') return { kind: 'int', value: v ? 1 : 0 };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (Array.isArray(v)) {
    // An empty list is ambiguous; every empty list attribute this project emits is integral (shapes, axes).
    if (v.length === 0) return { kind: 'ints', value: [] };
    if (v.every((x) => typeof x === 'string')) return { kind: 'strings', value: v as string[] };
    if (v.every((x) => Number.isInteger(x) || typeof x === 'bigint')) return { kind: 'ints', value: v as (number | bigint)[] };
    if (v.every((x) => typeof x === 'number')) return { kind: 'floats', value: v as number[] };
  }
  throw new EmitError(`${op}: attribute '${key}' has an unsupported value ${JSON.stringify(v)}`);
}

/** A parameter's data as a named initializer, after checking it fits the parameter. */
function bakeWeight(v: Value, data: OnnxTensorData, initializers: OnnxTensor[], used: Set<string>, deferred = false): string {
  const name = v.name!;
  const dataType = onnxDataType(v.dtype);
  const array = DATA_TYPE_INFO[dataType].array;
  const count = numel(v.shape);
  if (!(data instanceof array) || (!deferred && data.length !== count)) {
    throw new EmitError(
      `weight "${name}": expected ${count} ${v.dtype} values (${array.name}), got ${data.length} in a ${data.constructor.name}`,
    );
  }
  if (used.has(name)) throw new EmitError(`emitModel: weight name "${name}" is used twice`);
  used.add(name);
  initializers.push({ name, dataType, dims: [...v.shape], data });
  return name;
}

export function emitModel(graph: Graph, outputs: readonly Value[], options: EmitOptions = {}): EmittedModel {
  const ops = options.ops ?? defaultRegistry;
  if (outputs.length === 0) throw new EmitError('emitModel: no outputs requested');
  for (const v of outputs) {
    if (v.graph !== graph) throw new EmitError(`emitModel: output ${ref(v)} belongs to another graph`);
  }
  const { nodes, leaves } = liveSet(outputs);
  const weights = options.weights ?? new Map<string, OnnxTensorData>();
  const deferredNames = options.deferredWeights ?? new Set<string>();
  const deferred = new Map<string, OnnxTensor>();

  // Graph inputs: explicit list (must cover every reachable input/param) or the reachable ones, in order.
  const baked = (v: Value): boolean => v.source.kind === 'param' && (weights.has(v.name!) || deferredNames.has(v.name!));
  const fed = (v: Value): boolean => (v.source.kind === 'input' || v.source.kind === 'param') && !baked(v);
  let inputValues: Value[];
  if (options.inputs) {
    inputValues = [...options.inputs];
    for (const v of inputValues) {
      if (v.graph !== graph || !fed(v)) throw new EmitError(`emitModel: ${ref(v)} is not an input or parameter of this graph`);
    }
    if (new Set(inputValues).size !== inputValues.length) throw new EmitError('emitModel: duplicate value in options.inputs');
    const missing = [...leaves].filter((v) => fed(v) && !inputValues.includes(v));
    if (missing.length > 0)
      throw new EmitError(`emitModel: outputs need ${missing.map((v) => ref(v)).join(', ')}, absent from options.inputs`);
  } else {
    inputValues = [...graph.inputs, ...graph.params].filter((v) => leaves.has(v) && fed(v));
  }

  const used = new Set<string>();
  const fresh = (base: string): string => {
    const stem = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 't';
    let name = stem;
    for (let i = 1; used.has(name); i++) name = `${stem}_${i}`;
    used.add(name);
    return name;
  };
  const names = new Map<Value, string>();
  const info = (v: Value, name: string): OnnxValueInfo => ({ name, dataType: onnxDataType(v.dtype), shape: [...v.shape] });

  const inputs: OnnxValueInfo[] = [];
  for (const v of inputValues) {
    if (used.has(v.name!)) throw new EmitError(`emitModel: input name "${v.name}" is used twice`);
    used.add(v.name!);
    names.set(v, v.name!);
    inputs.push(info(v, v.name!));
  }

  const initializers: OnnxTensor[] = [];
  const constant = (data: HostArray, base: string): string => {
    const name = fresh(base);
    initializers.push(hostArrayToTensor(name, data));
    return name;
  };
  for (const v of leaves) {
    if (v.source.kind === 'const') names.set(v, constant(v.source.data, v.name ?? `const${v.id}`));
    if (baked(v) && weights.has(v.name!)) names.set(v, bakeWeight(v, weights.get(v.name!)!, initializers, used));
    else if (baked(v)) {
      names.set(
        v,
        bakeWeight(v, new (DATA_TYPE_INFO[onnxDataType(v.dtype)].array as new (n: number) => OnnxTensorData)(0), initializers, used, true),
      );
      deferred.set(v.name!, initializers[initializers.length - 1]);
    }
  }

  const onnxNodes: OnnxNode[] = [];
  for (const node of graph.nodes) {
    if (!nodes.has(node)) continue;
    const def = ops.get(node.op);
    if (!def) throw new EmitError(`emitModel: unknown op '${node.op}'`);
    if (!def.lower) {
      throw new EmitError(`emitModel: op '${node.op}' has no ONNX lower rule (needed for ${node.outputs.map((v) => ref(v)).join(', ')})`);
    }
    for (const v of node.outputs) names.set(v, fresh(v.name ?? `${node.op}${v.id}`));
    let count = 0;
    const ctx: LowerContext = {
      inputs: node.inputs.map((v) => names.get(v)!),
      outputs: node.outputs.map((v) => names.get(v)!),
      emit(opType, ins, attrs = {}, opts = {}) {
        const outs = opts.outputs
          ? [...opts.outputs]
          : Array.from({ length: opts.nOutputs ?? 1 }, () => fresh(`${node.op}${node.id}_${opType}`));
        const attributes: Record<string, OnnxAttributeValue> = {};
        for (const [k, v] of Object.entries(attrs)) if (v !== undefined) attributes[k] = toAttribute(opType, k, v);
        onnxNodes.push({
          opType,
          domain: opts.domain,
          name: `${node.op}${node.id}_${count++}`,
          inputs: [...ins],
          outputs: outs,
          attributes,
        });
        return outs;
      },
      constant: (data) => constant(data, `${node.op}${node.id}_const`),
      dataType: onnxDataType,
    };
    def.lower(ctx, node, node.attrs);
  }

  // Outputs: a leaf or a repeated value is routed through Identity so every output has its own name.
  const outputNames: string[] = [];
  const outputInfos: OnnxValueInfo[] = [];
  const taken = new Set<Value>();
  for (const v of outputs) {
    let name = names.get(v)!;
    if (v.source.kind !== 'node' || taken.has(v)) {
      const alias = fresh(`${v.name ?? 'output'}_out`);
      onnxNodes.push({ opType: 'Identity', name: alias, inputs: [name], outputs: [alias] });
      name = alias;
    }
    taken.add(v);
    outputNames.push(name);
    outputInfos.push(info(v, name));
  }

  return {
    model: {
      producerName: 'tdd-diffusion',
      graph: { name: options.name ?? 'main', nodes: onnxNodes, inputs, outputs: outputInfos, initializers },
    },
    inputNames: inputs.map((i) => i.name),
    outputNames,
    deferred,
  };
}
