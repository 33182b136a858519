import type { Attrs, DType, HostArray, Node, OpSignature, TensorType, Value } from '../ir/index.js';

/**
 * Context a VJP rule builds its gradient graph in (implemented by src/autodiff). Rules receive the
 * forward node and the output cotangents (null = zero) and return one cotangent per input (null = none).
 * Cotangents may have the *broadcast* output shape: un-broadcasting is done once, centrally, in the walker.
 */
export interface VjpArgs<A extends Attrs = Attrs> {
  readonly node: Node;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: A;
  readonly cotangents: readonly (Value | null)[];
}
export type VjpRule<A extends Attrs = Attrs> = (args: VjpArgs<A>) => (Value | null)[];

/** Rebuilds a composite op from primitive ops on `inputs` (values of the same graph); one Value per output. */
export type DecomposeRule<A extends Attrs = Attrs> = (inputs: readonly Value[], attrs: A) => Value[];

/**
 * What an ONNX lowering can do (implemented by src/onnx/emit.ts, which imports ops — never the reverse).
 * Tensor names are strings as in ONNX NodeProto.
 */
export interface LowerContext {
  /** ONNX names of the node's inputs / outputs. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Emits an ONNX node and returns its output names (fresh names unless `outputs` is given). */
  emit(
    opType: string,
    inputs: readonly string[],
    attrs?: Readonly<Record<string, unknown>>,
    options?: { outputs?: readonly string[]; domain?: string; nOutputs?: number },
  ): string[];
  /** Embeds an initializer (e.g. a shape or axes tensor) and returns its name. */
  constant(data: HostArray): string;
  /** ONNX TensorProto.DataType number of an IR dtype (e.g. for Cast's `to`). */
  dataType(dtype: DType): number;
}
/**
 * Attribute values passed to `emit`: integers → INT, other numbers → FLOAT, integer arrays → INTS,
 * other number arrays → FLOATS, strings → STRING; pass `{ kind: 'float', value }` for an integral float.
 */
export type LowerRule<A extends Attrs = Attrs> = (ctx: LowerContext, node: Node, attrs: A) => void;

/** Lowers a node to one ONNX op with the same inputs and outputs. */
export function lowerTo<A extends Attrs = Attrs>(opType: string, attrs?: (node: Node, a: A) => Record<string, unknown>): LowerRule<A> {
  return (ctx, node, a) => {
    ctx.emit(opType, ctx.inputs, attrs?.(node, a), { outputs: ctx.outputs });
  };
}

/**
 * Everything about one op, kept together in its family file:
 * - `infer`: static shape/dtype inference; throws InferError (the graph adds op name, operands and paths);
 * - `evaluate`: the float64 reference kernel used by src/interp (the executable spec);
 * - `vjp`: reverse-mode rule (src/autodiff calls it);
 * - `decompose`: for composite ops (GELU, norms, attention...), the same function built from primitive
 *   ops in the node's graph. Autodiff differentiates through it when there is no `vjp` (recomputing the
 *   composite's internals in the backward pass), and tests check it against `evaluate`;
 * - `lower`: ONNX emission (a fused ONNX/contrib op where ORT has one).
 */
export interface OpDef<A extends Attrs = Attrs> extends OpSignature {
  readonly name: string;
  infer(inputs: readonly TensorType[], attrs: A): TensorType[];
  evaluate(inputs: readonly HostArray[], attrs: A): HostArray[];
  readonly vjp?: VjpRule<A>;
  readonly decompose?: DecomposeRule<A>;
  readonly lower?: LowerRule<A>;
}

/** Erases an op's attribute type so differently typed ops fit in one table (attrs are validated in infer). */
export function defineOp<A extends Attrs>(def: OpDef<A>): OpDef {
  return def as unknown as OpDef;
}
