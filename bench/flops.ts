/**
 * FLOPs of a graph (multiply-add = 2, as ../shared/BASELINES.md counts), from the ops that carry nearly all the
 * work of a diffusion model: convolutions, matmuls and attention. Elementwise ops and norms are left out (under
 * 2 % of an SD UNet), so this is the work a FLOP-bound run must do at the least.
 */
import type { Graph, Value } from '../src/ir/index.js';
import { liveSet } from '../src/ir/index.js';
import { numel } from '../src/ir/shape.js';

export function graphFlops(graph: Graph, outputs: readonly Value[]): number {
  const { nodes } = liveSet(outputs);
  let flops = 0;
  for (const node of graph.nodes) {
    if (!nodes.has(node)) continue;
    const [a, b] = node.inputs;
    const out = node.outputs[0];
    if (node.op === 'conv2d') {
      const [, cPerGroup, kh, kw] = b.shape;
      flops += 2 * numel(out.shape) * cPerGroup * kh * kw;
    } else if (node.op === 'conv_transpose2d') {
      const [cIn, , kh, kw] = b.shape;
      flops += 2 * numel(a.shape) * (numel(out.shape) / (out.shape[0] * out.shape[2] * out.shape[3])) * kh * kw * (cIn / a.shape[1]);
    } else if (node.op === 'matmul') {
      flops += 2 * numel(out.shape) * a.shape[a.shape.length - 1];
    } else if (node.op === 'attention') {
      // q·kᵀ and p·v: 2·B·Sq·Sk·(Dqk + Dv) over all heads
      const [batch, queries, width] = a.shape;
      const keys = b.shape[1];
      const vWidth = out.shape[2];
      flops += 2 * batch * queries * keys * (width + vWidth);
    }
  }
  return flops;
}
