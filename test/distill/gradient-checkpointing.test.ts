// Gradient checkpointing of the student's UNet blocks changes memory, not values: the LoRA gradients of the
// distillation loss match those of the plain graph.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grad } from '../../src/autodiff/index.js';
import { buildDistillGraph, distillInputs, STUDENT_SLOT } from '../../src/distill/common/distill-graph.js';
import { loraTargets } from '../../src/distill/common/lora-targets.js';
import { initLoraWeights, splitLoraParams } from '../../src/nn/lora-weights.js';
import { loraScaleName } from '../../src/nn/lora-graph.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { createGraph } from '../../src/ops/index.js';
import { loadComponents } from '../../src/pipelines/components.js';
import { createSession } from '../../src/runtime/session.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { loadParams } from '../../src/weights/load-params.js';
import { sourceShapes } from '../../src/weights/tensor-source.js';
import { sharedPath } from '../helpers/shared.js';

const B = 1;
const tensor = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

async function loraGradients(checkpointing: boolean): Promise<{ grads: Map<string, Float32Array>; nodes: number }> {
  const { unet } = loadComponents(sharedPath('fixtures', 'tiny-sd'));
  const graph = createGraph();
  const dg = buildDistillGraph(graph, {
    unet: unet.config,
    batch: B,
    latentShape: [4, 16, 16],
    textShape: [8, 32],
    loraTargets: loraTargets(sourceShapes(unet.source)),
    rank: 2,
    alpha: 2,
    loss: { type: 'l2' },
    gradientCheckpointing: checkpointing,
  });
  const grads = grad(dg.loss, dg.trainable);
  const frozen = loadParams(unet.source, splitLoraParams(graph.params).base, 'unet').weights;
  const { model, outputNames } = emitModel(graph, grads, { weights: frozen });
  const session = await createSession(encodeModel(model));
  const g = new TorchGenerator(1);
  const lora = initLoraWeights(dg.student, STUDENT_SLOT, 2);
  for (const p of dg.trainable)
    if (p.name!.endsWith('.up'))
      lora.set(
        p.name!,
        g.randn(p.shape).map((v) => v * 0.1),
      );
  const feeds: Record<string, HostTensor> = {
    [distillInputs.noisy]: tensor([B, 4, 16, 16], g.randn([B, 4, 16, 16])),
    [distillInputs.sourceTimestep]: tensor([B], Float32Array.of(499)),
    [distillInputs.targetTimestep]: tensor([B], Float32Array.of(479)),
    [distillInputs.cond]: tensor([B, 8, 32], g.randn([B, 8, 32])),
    [distillInputs.uncond]: tensor([B, 8, 32], g.randn([B, 8, 32])),
    [loraScaleName(STUDENT_SLOT)]: tensor([], Float32Array.of(1)),
  };
  const values = [0.2, -1.1, 1.5, 0.9, -0.3, 0.6, -0.8];
  distillInputs.coefficients.forEach((k, i) => (feeds[k] = tensor([B, 1, 1, 1], Float32Array.of(values[i]))));
  for (const p of dg.trainable) feeds[p.name!] = tensor([...p.shape], lora.get(p.name!)!);
  const out = await session.run(feeds);
  await session.release();
  return { grads: new Map(dg.trainable.map((p, i) => [p.name!, out[outputNames[i]].data as Float32Array])), nodes: graph.nodes.length };
}

test('checkpointed student blocks give the same LoRA gradients', async () => {
  const plain = await loraGradients(false);
  const checkpointed = await loraGradients(true);
  assert.ok(checkpointed.nodes > plain.nodes, 'the checkpointed graph recomputes blocks in its backward pass');
  let maxAbs = 0;
  let worst = 0;
  for (const [name, a] of plain.grads) {
    const b = checkpointed.grads.get(name)!;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[i]));
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
  }
  assert.ok(maxAbs > 0, 'gradients must be non-zero');
  assert.ok(worst <= 1e-5 * maxAbs, `max difference ${worst} (max |g| ${maxAbs})`);
});
