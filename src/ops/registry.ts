import { Graph } from '../ir/index.js';
import { attentionOps } from './attention.js';
import { activationOps } from './activation.js';
import { convOps } from './conv.js';
import { elementwiseOps } from './elementwise.js';
import { gradientControlOps } from './gradient-control.js';
import { matmulOps } from './matmul.js';
import { movementOps } from './movement.js';
import { normOps } from './norm.js';
import type { OpDef } from './op-def.js';
import { randomOps } from './random.js';
import { reduceOps } from './reduce.js';

/** Every op, listed explicitly by family (no side-effect registration). */
export const allOps: readonly OpDef[] = [
  ...elementwiseOps,
  ...activationOps,
  ...reduceOps,
  ...movementOps,
  ...matmulOps,
  ...convOps,
  ...normOps,
  ...attentionOps,
  ...randomOps,
  ...gradientControlOps,
];

export type OpRegistry = ReadonlyMap<string, OpDef>;

/** Builds a name → OpDef table; throws on duplicate names. */
export function makeRegistry(defs: readonly OpDef[]): OpRegistry {
  const table = new Map<string, OpDef>();
  for (const d of defs) {
    if (table.has(d.name)) throw new Error(`duplicate op '${d.name}'`);
    table.set(d.name, d);
  }
  return table;
}

export const registry: OpRegistry = makeRegistry(allOps);

/** A new graph over the standard ops (or a custom registry, e.g. with test-only ops). */
export function createGraph(ops: OpRegistry = registry): Graph {
  return new Graph(ops);
}
