// The distillation losses against the reference's values (../shared/golden/tdd_training.json `loss`), on the
// float64 interpreter and on ORT, plus their gradients by finite differences.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { distillLoss } from '../../src/distill/common/losses.js';
import { evaluate } from '../../src/interp/index.js';
import { hostArray } from '../../src/ir/index.js';
import { createGraph } from '../../src/ops/index.js';
import { checkOrtMatchesInterp } from '../helpers/ort-check.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { loadSharedJson, toFloat32Array } from '../helpers/shared.js';

interface LossGolden {
  type: 'l2' | 'huber';
  huber_c?: number;
  model_pred: number[];
  target: number[];
  value: number;
}

const golden = loadSharedJson<{ loss: LossGolden[]; tensor_shape: number[] }>('golden', 'tdd_training.json');
const shape = golden.tensor_shape;

for (const g of golden.loss) {
  test(`${g.type} loss equals the reference's value`, async () => {
    const graph = createGraph();
    const pred = graph.input('pred', shape);
    const target = graph.input('target', shape);
    const loss = distillLoss(pred, target, { type: g.type, huberC: g.huber_c });
    const feeds = {
      pred: hostArray(shape, 'float32', toFloat32Array(g.model_pred)),
      target: hostArray(shape, 'float32', toFloat32Array(g.target)),
    };
    const [value] = evaluate(graph, [loss], new Map(Object.entries(feeds)));
    // The reference's value is float32 torch; the interpreter sums in float64.
    assert.ok(Math.abs(value.data[0] - g.value) <= 1e-6 * Math.abs(g.value), `${value.data[0]} vs ${g.value}`);
    await checkOrtMatchesInterp(graph, [loss], feeds, { inputs: [pred, target] });
    gradcheck({ graph, output: loss, wrt: [pred], feeds });
  });
}

test('a non-positive huber_c is refused', () => {
  const graph = createGraph();
  const x = graph.input('x', [2]);
  assert.throws(() => distillLoss(x, x, { type: 'huber', huberC: 0 }), /huber_c must be a positive number/);
});
