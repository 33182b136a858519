/**
 * Test helpers for VJP rules:
 * - `gradcheck`: analytic gradients (our walker, evaluated by the float64 interpreter) against central
 *   finite differences of the interpreter, for every element of every `wrt` leaf;
 * - `checkOrtGradients`: the same backward graph emitted to ONNX and run by ORT CPU against the interpreter.
 * The scalar checked is sum(output · r) with a fixed pseudo-random r, so every output element contributes
 * with a distinct weight (a plain sum would hide rules that mix up elements).
 */
import assert from 'node:assert/strict';
import { grad } from '../../src/autodiff/index.js';
import { evaluate } from '../../src/interp/index.js';
import { hostArray, type Graph, type HostArray, type Value } from '../../src/ir/index.js';
import type { OpRegistry } from '../../src/ops/index.js';
import type { Tolerance } from './assert-close.js';
import { checkOrtMatchesInterp, data } from './ort-check.js';

export interface GradCase {
  graph: Graph;
  /** Value to differentiate (any shape). */
  output: Value;
  /** Inputs or params (leaves fed by name) to differentiate with respect to. */
  wrt: Value[];
  feeds: Record<string, HostArray>;
  ops?: OpRegistry;
}

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Max relative error |a − n| / max(|a|, |n|, floor) (default 1e-4). */
  rtol?: number;
  /** Magnitude below which errors are judged absolutely (default 1e-6). */
  floor?: number;
}

/** Weighted scalar loss plus its gradients, built once per case. */
function lossAndGrads(c: GradCase): { loss: Value; grads: Value[] } {
  const r = c.graph.constant(data(c.output.shape, 'float32', -1, 1, 97));
  const weighted = c.output.mul(r.cast(c.output.dtype));
  const loss = c.output.rank === 0 ? weighted : weighted.sum();
  return { loss, grads: grad(loss, c.wrt, { ops: c.ops }) };
}

/** Returns the worst relative error seen, after asserting it is below rtol. */
export function gradcheck(c: GradCase, { eps = 1e-6, rtol = 1e-4, floor = 1e-6 }: GradcheckOptions = {}): number {
  const { loss, grads } = lossAndGrads(c);
  const ops = { ops: c.ops };
  const analytic = evaluate(c.graph, grads, c.feeds, ops);
  let worst = 0;
  c.wrt.forEach((w, wi) => {
    const name = w.name;
    assert.ok(name && c.feeds[name], `gradcheck: wrt ${wi} must be a fed input/param`);
    const base = c.feeds[name];
    assert.deepEqual([...analytic[wi].shape], [...w.shape], `${name}: gradient shape`);
    for (let j = 0; j < base.data.length; j++) {
      const at = (delta: number): number => {
        const d = base.data.slice();
        d[j] += delta;
        const feeds = { ...c.feeds, [name]: hostArray(base.shape, base.dtype, d) };
        return evaluate(c.graph, [loss], feeds, ops)[0].data[0];
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      const a = analytic[wi].data[j];
      const err = Math.abs(a - numeric) / Math.max(Math.abs(a), Math.abs(numeric), floor);
      worst = Math.max(worst, err);
      assert.ok(err < rtol, `${name}[${j}]: analytic ${a} vs numeric ${numeric} (relative error ${err.toExponential(2)})`);
    }
  });
  return worst;
}

/** ORT float32 gradients == interpreter gradients (default atol/rtol 1e-4: float32 sums over many terms). */
export async function checkOrtGradients(c: GradCase, tol: Tolerance = { atol: 1e-4, rtol: 1e-4 }): Promise<void> {
  const { loss, grads } = lossAndGrads(c);
  await checkOrtMatchesInterp(c.graph, [loss, ...grads], c.feeds, { ops: c.ops, tol });
}
