/**
 * The one-graph distillation step against the same step assembled on the host from separate UNet runs of the
 * inference pipeline: the teacher without LoRA, the student and the target with the LoRA fused by the
 * pipeline's own LoRA loader. Agreement means the graph wires student/teacher/target, CFG, the coefficients,
 * the stop-gradient branch and the loss as the reference step does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildDistillGraph, distillInputs, STUDENT_SLOT } from '../../src/distill/common/distill-graph.js';
import { loraTargets } from '../../src/distill/common/lora-targets.js';
import { DdimSolver } from '../../src/distill/common/ddim-solver.js';
import { loraModules } from '../../src/distill/lora-output.js';
import { tddMethod, lcmMethod } from '../../src/distill/method.js';
import { planStep } from '../../src/distill/step-plan.js';
import { initLoraWeights, splitLoraParams } from '../../src/nn/lora-weights.js';
import { loraScaleName } from '../../src/nn/lora-graph.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { createGraph } from '../../src/ops/index.js';
import { loadPipeline } from '../../src/pipelines/pipeline.js';
import { createSession } from '../../src/runtime/session.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import { createScheduler } from '../../src/schedulers/index.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { loadParams } from '../../src/weights/load-params.js';
import { writeLora } from '../../src/weights/lora/export.js';
import { sourceShapes } from '../../src/weights/tensor-source.js';
import { sharedPath } from '../helpers/shared.js';

const MODEL = sharedPath('fixtures', 'tiny-sd');
const B = 2;
const tensor = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

describe('distillation graph', () => {
  for (const method of ['tdd', 'lcm'] as const) {
    test(`${method}: graph loss equals the step assembled from pipeline UNet runs (non-zero LoRA)`, async () => {
      const teacherPipe = await loadPipeline(MODEL);
      const studentPipe = await loadPipeline(MODEL);
      const { unet } = teacherPipe.components;
      const [c, h, w] = [4, 32, 32];
      const cond = await teacherPipe.encodePrompts(['a red square', 'a blue circle']);
      const uncond = await teacherPipe.encodePrompts(['', '']);
      const [, tokens, width] = cond.dims;

      const graph = createGraph();
      const dg = buildDistillGraph(graph, {
        unet: unet.config,
        batch: B,
        latentShape: [c, h, w],
        textShape: [tokens, width],
        loraTargets: loraTargets(sourceShapes(unet.source)),
        rank: 4,
        alpha: 2,
        loss: { type: 'huber', huberC: 0.01 },
      });
      const lora = initLoraWeights(dg.student, STUDENT_SLOT, 3);
      const noise = new TorchGenerator(4);
      for (const p of dg.trainable)
        if (p.name!.endsWith('.up'))
          lora.set(
            p.name!,
            noise.randn(p.shape).map((x) => x * 0.05),
          );
      const frozen = loadParams(unet.source, splitLoraParams(graph.params).base, 'unet').weights;
      const { model, outputNames } = emitModel(graph, [dg.loss], { weights: frozen });
      const session = await createSession(encodeModel(model));

      const schedule = createScheduler('ddim', teacherPipe.components.schedulerConfig).schedule;
      const solver = new DdimSolver(schedule, 50);
      const rng = new TorchGenerator(11);
      const plan = planStep(B, rng, {
        solver,
        schedule,
        predictionType: 'epsilon',
        wMin: 2,
        wMax: 6,
        method: method === 'tdd' ? tddMethod(solver, schedule) : lcmMethod(),
      });
      const x = rng.randn([B, c, h, w]);
      const feeds: Record<string, HostTensor> = {
        [distillInputs.noisy]: tensor([B, c, h, w], x),
        [distillInputs.sourceTimestep]: tensor([B], Float32Array.from(plan.timesteps.source)),
        [distillInputs.targetTimestep]: tensor([B], Float32Array.from(plan.timesteps.target)),
        [distillInputs.cond]: tensor([B, tokens, width], cond.embeds),
        [distillInputs.uncond]: tensor([B, tokens, width], uncond.embeds),
        [loraScaleName(STUDENT_SLOT)]: tensor([], Float32Array.of(1)),
      };
      for (const [k, v] of Object.entries(plan.coefficients)) feeds[k] = tensor([B, 1, 1, 1], v);
      for (const p of dg.trainable) feeds[p.name!] = tensor([...p.shape], lora.get(p.name!)!);
      const graphLoss = Number((await session.run(feeds))[outputNames[0]].data[0]);

      const dir = mkdtempSync(join(tmpdir(), 'tdd-distill-graph-'));
      try {
        const file = join(dir, 'lora.safetensors');
        writeLora(file, loraModules(dg.student, lora), 'kohya');
        await studentPipe.loras.load(file);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const per = c * h * w;
      const row = (e: { embeds: Float32Array }, b: number) => ({
        embeds: e.embeds.slice(b * tokens * width, (b + 1) * tokens * width),
        dims: [1, tokens, width] as [number, number, number],
      });
      let sum = 0;
      for (let b = 0; b < B; b++) {
        const col = (k: keyof typeof plan.coefficients) => plan.coefficients[k][b];
        const xb = x.slice(b * per, (b + 1) * per);
        const tS = plan.timesteps.source[b];
        const fs = await studentPipe.predictNoise(xb, 1, h, w, tS, row(cond, b));
        const fc = await teacherPipe.predictNoise(xb, 1, h, w, tS, row(cond, b));
        const fu = await teacherPipe.predictNoise(xb, 1, h, w, tS, row(uncond, b));
        const xPrev = xb.map((v, i) => col('prev_sample') * v + col('prev_model') * (fc[i] + col('guidance') * (fc[i] - fu[i])));
        const ft = await studentPipe.predictNoise(xPrev, 1, h, w, plan.timesteps.target[b], row(cond, b));
        for (let i = 0; i < per; i++) {
          const pred = col('student_sample') * xb[i] + col('student_model') * fs[i];
          const target = col('target_sample') * xPrev[i] + col('target_model') * ft[i];
          const d = pred - target;
          sum += Math.sqrt(d * d + 1e-4) - 0.01;
        }
      }
      const hostLoss = sum / (B * per);
      assert.ok(hostLoss > 1e-4, `the step must be non-trivial (host loss ${hostLoss})`);
      assert.ok(Math.abs(graphLoss - hostLoss) <= 1e-4 * hostLoss + 1e-7, `graph ${graphLoss} vs host ${hostLoss}`);
      await session.release();
      await teacherPipe.release();
      await studentPipe.release();
    });
  }
});
