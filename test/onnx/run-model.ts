/** Test helper: encode a single-graph model, run it once on ORT CPU, always release. */
import { encodeModel } from '../../src/onnx/encode.js';
import type { OnnxGraph, OnnxModel } from '../../src/onnx/model.js';
import { createSession } from '../../src/runtime/session.js';
import type { HostTensor } from '../../src/runtime/tensors.js';

export async function runGraph(
  graph: OnnxGraph,
  feeds: Record<string, HostTensor>,
  model: Omit<OnnxModel, 'graph'> = {},
): Promise<Record<string, HostTensor>> {
  const session = await createSession(encodeModel({ ...model, graph }));
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Float32 data from a host tensor, failing loudly on the wrong dtype. */
export function f32(t: HostTensor | undefined): Float32Array {
  if (!t || t.dtype !== 'float32') throw new Error(`expected float32 tensor, got ${t?.dtype}`);
  return t.data;
}

export function seq(n: number, scale = 1, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => i * scale + offset);
}
