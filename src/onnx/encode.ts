/**
 * ONNX ModelProto encoder from the plain types in `model.ts`.
 * Field numbers follow onnx/onnx.proto (proto2, IR v8+).
 */
import { ProtoWriter } from './proto-writer.js';
import {
  DATA_TYPE_INFO,
  DEFAULT_IR_VERSION,
  DEFAULT_OPSET,
  MS_DOMAIN,
  type OnnxAttributeValue,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxOpsetImport,
  type OnnxTensor,
  type OnnxValueInfo,
} from './model.js';
import { validateGraph, validateTensor } from './validate.js';

// ModelProto
const MODEL_IR_VERSION = 1;
const MODEL_PRODUCER_NAME = 2;
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
// OperatorSetIdProto
const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;
// GraphProto
const GRAPH_NODE = 1;
const GRAPH_NAME = 2;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const GRAPH_VALUE_INFO = 13;
// NodeProto
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
// AttributeProto
const ATTR_NAME = 1;
const ATTR_F = 2;
const ATTR_I = 3;
const ATTR_S = 4;
const ATTR_T = 5;
const ATTR_FLOATS = 7;
const ATTR_INTS = 8;
const ATTR_STRINGS = 9;
const ATTR_TYPE = 20;
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
// TensorProto
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
// ValueInfoProto / TypeProto / TypeProto.Tensor / TensorShapeProto(.Dimension)
const VALUE_INFO_NAME = 1;
const VALUE_INFO_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_TYPE_ELEM_TYPE = 1;
const TENSOR_TYPE_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;
const DIM_PARAM = 2;

/** raw_data is defined as little-endian; we write typed-array memory as-is. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

/** Where an initializer's bytes live when they are not inline (ONNX external data). */
export interface ExternalRef {
  /** File name relative to the model file. */
  location: string;
  offset: number;
  length: number;
}

export interface EncodeOptions {
  /** Initializers given a reference here are written as external data instead of raw_data. */
  external?: ReadonlyMap<OnnxTensor, ExternalRef>;
}

/** Encode a model to ModelProto bytes. Throws early on malformed graphs. */
export function encodeModel(model: OnnxModel, options: EncodeOptions = {}): Uint8Array {
  validateGraph(model.graph, options.external && new Map([...options.external].map(([t, ref]) => [t, ref.length])));
  const w = new ProtoWriter(64);
  w.int64Field(MODEL_IR_VERSION, model.irVersion ?? DEFAULT_IR_VERSION);
  w.stringField(MODEL_PRODUCER_NAME, model.producerName ?? 'tdd-diffusion');
  w.messageField(MODEL_GRAPH, (g) => writeGraph(g, model.graph, options.external), 1024);
  for (const op of resolveOpsets(model)) {
    w.messageField(MODEL_OPSET_IMPORT, (o) => {
      o.stringField(OPSET_DOMAIN, op.domain);
      o.int64Field(OPSET_VERSION, op.version);
    });
  }
  return w.finish();
}

/** Explicit imports win; otherwise ai.onnx DEFAULT_OPSET plus com.microsoft 1 if any node needs it. */
export function resolveOpsets(model: OnnxModel): OnnxOpsetImport[] {
  if (model.opsetImports && model.opsetImports.length > 0) return model.opsetImports;
  const ops: OnnxOpsetImport[] = [{ domain: '', version: DEFAULT_OPSET }];
  if (model.graph.nodes.some((n) => n.domain === MS_DOMAIN)) ops.push({ domain: MS_DOMAIN, version: 1 });
  return ops;
}

function writeGraph(w: ProtoWriter, graph: OnnxGraph, external?: ReadonlyMap<OnnxTensor, ExternalRef>): void {
  for (const node of graph.nodes) w.messageField(GRAPH_NODE, (n) => writeNode(n, node));
  w.stringField(GRAPH_NAME, graph.name);
  for (const t of graph.initializers) writeTensorField(w, GRAPH_INITIALIZER, t, external);
  for (const v of graph.inputs) w.messageField(GRAPH_INPUT, (m) => writeValueInfo(m, v));
  for (const v of graph.outputs) w.messageField(GRAPH_OUTPUT, (m) => writeValueInfo(m, v));
  for (const v of graph.valueInfo ?? []) w.messageField(GRAPH_VALUE_INFO, (m) => writeValueInfo(m, v));
}

function writeNode(w: ProtoWriter, node: OnnxNode): void {
  for (const name of node.inputs) w.stringField(NODE_INPUT, name);
  for (const name of node.outputs) w.stringField(NODE_OUTPUT, name);
  if (node.name) w.stringField(NODE_NAME, node.name);
  w.stringField(NODE_OP_TYPE, node.opType);
  for (const [name, value] of Object.entries(node.attributes ?? {})) {
    w.messageField(NODE_ATTRIBUTE, (a) => writeAttribute(a, name, value));
  }
  if (node.domain) w.stringField(NODE_DOMAIN, node.domain);
}

function writeAttribute(w: ProtoWriter, name: string, attr: OnnxAttributeValue): void {
  w.stringField(ATTR_NAME, name);
  switch (attr.kind) {
    case 'float':
      w.floatField(ATTR_F, attr.value);
      w.uintField(ATTR_TYPE, AttributeType.FLOAT);
      return;
    case 'int':
      w.int64Field(ATTR_I, attr.value);
      w.uintField(ATTR_TYPE, AttributeType.INT);
      return;
    case 'string':
      w.stringField(ATTR_S, attr.value);
      w.uintField(ATTR_TYPE, AttributeType.STRING);
      return;
    case 'tensor':
      validateTensor(attr.value, `attribute '${name}'`);
      writeTensorField(w, ATTR_T, attr.value);
      w.uintField(ATTR_TYPE, AttributeType.TENSOR);
      return;
    case 'floats':
      w.packedFloat(ATTR_FLOATS, attr.value);
      w.uintField(ATTR_TYPE, AttributeType.FLOATS);
      return;
    case 'ints':
      w.packedInt64(ATTR_INTS, attr.value);
      w.uintField(ATTR_TYPE, AttributeType.INTS);
      return;
    case 'strings':
      for (const s of attr.value) w.stringField(ATTR_STRINGS, s);
      w.uintField(ATTR_TYPE, AttributeType.STRINGS);
      return;
    default: {
      const never: never = attr;
      throw new Error(`attribute '${name}': unknown kind ${JSON.stringify(never)}`);
    }
  }
}

/** TensorProto with inline raw_data, or an external-data reference (for models past protobuf's 2 GB limit). */
function writeTensorField(w: ProtoWriter, field: number, t: OnnxTensor, external?: ReadonlyMap<OnnxTensor, ExternalRef>): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('encodeModel: big-endian hosts are not supported');
  const ref = external?.get(t);
  w.messageField(field, (m) => {
    m.packedInt64(TENSOR_DIMS, t.dims);
    m.uintField(TENSOR_DATA_TYPE, t.dataType);
    m.stringField(TENSOR_NAME, t.name);
    if (!ref) {
      m.bytesField(TENSOR_RAW_DATA, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      return;
    }
    const entries: [string, string][] = [
      ['location', ref.location],
      ['offset', String(ref.offset)],
      ['length', String(ref.length)],
    ];
    for (const [key, value] of entries) {
      m.messageField(TENSOR_EXTERNAL_DATA, (e) => e.stringField(ENTRY_KEY, key).stringField(ENTRY_VALUE, value));
    }
    m.uintField(TENSOR_DATA_LOCATION, DATA_LOCATION_EXTERNAL);
  });
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.stringField(VALUE_INFO_NAME, v.name);
  w.messageField(VALUE_INFO_TYPE, (type) => {
    type.messageField(TYPE_TENSOR, (tt) => {
      tt.uintField(TENSOR_TYPE_ELEM_TYPE, v.dataType);
      tt.messageField(TENSOR_TYPE_SHAPE, (shape) => {
        for (const d of v.shape) {
          shape.messageField(SHAPE_DIM, (dim) => {
            if (typeof d === 'string') dim.stringField(DIM_PARAM, d);
            else dim.int64Field(DIM_VALUE, d);
          });
        }
      });
    });
  });
}

/** Human-readable data type name, for error messages. */
export function dataTypeName(dt: number): string {
  return (DATA_TYPE_INFO as Record<number, { name: string }>)[dt]?.name ?? `dtype#${dt}`;
}
