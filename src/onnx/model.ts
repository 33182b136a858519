/**
 * Plain-data description of the ONNX subset this project emits. Deliberately
 * free of protobuf concerns: `encode.ts` maps these onto ModelProto.
 */

/** ONNX TensorProto.DataType numbers (subset we use). */
export const OnnxDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
} as const;
export type OnnxDataType = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** Typed-array storage per data type; float16/bfloat16 are raw 16-bit patterns. */
export type OnnxTensorData = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Float64Array;

export interface OnnxTensor {
  name: string;
  dataType: OnnxDataType;
  dims: number[];
  data: OnnxTensorData;
}

/** `string` entries are symbolic dims (dim_param), e.g. 'batch'. */
export interface OnnxValueInfo {
  name: string;
  dataType: OnnxDataType;
  shape: (number | string)[];
}

export type OnnxAttributeValue =
  | { kind: 'int'; value: number | bigint }
  | { kind: 'ints'; value: (number | bigint)[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; value: OnnxTensor };

export interface OnnxNode {
  opType: string;
  /** '' or undefined = default ONNX domain. */
  domain?: string;
  name?: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, OnnxAttributeValue>;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxTensor[];
  valueInfo?: OnnxValueInfo[];
}

export interface OnnxOpsetImport {
  domain: string;
  version: number;
}

export interface OnnxModel {
  /** Defaults to DEFAULT_IR_VERSION. */
  irVersion?: number;
  /** Defaults to opset DEFAULT_OPSET (plus com.microsoft 1 when used). */
  opsetImports?: OnnxOpsetImport[];
  producerName?: string;
  graph: OnnxGraph;
}

export const DEFAULT_IR_VERSION = 8;
export const DEFAULT_OPSET = 17;
export const MS_DOMAIN = 'com.microsoft';

/** Element byte width and the typed-array constructor each data type must use. */
export const DATA_TYPE_INFO: Record<OnnxDataType, { name: string; bytes: number; array: Function }> = {
  [OnnxDataType.FLOAT]: { name: 'FLOAT', bytes: 4, array: Float32Array },
  [OnnxDataType.UINT8]: { name: 'UINT8', bytes: 1, array: Uint8Array },
  [OnnxDataType.INT8]: { name: 'INT8', bytes: 1, array: Int8Array },
  [OnnxDataType.INT32]: { name: 'INT32', bytes: 4, array: Int32Array },
  [OnnxDataType.INT64]: { name: 'INT64', bytes: 8, array: BigInt64Array },
  [OnnxDataType.BOOL]: { name: 'BOOL', bytes: 1, array: Uint8Array },
  [OnnxDataType.FLOAT16]: { name: 'FLOAT16', bytes: 2, array: Uint16Array },
  [OnnxDataType.DOUBLE]: { name: 'DOUBLE', bytes: 8, array: Float64Array },
  [OnnxDataType.BFLOAT16]: { name: 'BFLOAT16', bytes: 2, array: Uint16Array },
};

/** Convenience constructor for tensors/initializers. */
export function tensor(name: string, dataType: OnnxDataType, dims: number[], data: OnnxTensorData): OnnxTensor {
  return { name, dataType, dims, data };
}
