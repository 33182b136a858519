/**
 * A graph could not be built: bad shapes, dtypes, attributes, unknown ops or missing feeds.
 * Messages name the op, the operand shapes/dtypes and the `path` of the offending value.
 */
export class GraphError extends Error {
  override name = 'GraphError';
}

/**
 * Thrown by an op's `infer` with only the local reason; the graph wraps it into a GraphError that adds
 * the op name, every operand's shape/dtype and the path of `operand` (or of all operands when absent).
 */
export class InferError extends Error {
  override name = 'InferError';
  constructor(
    message: string,
    readonly operand?: number,
  ) {
    super(message);
  }
}
