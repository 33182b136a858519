/**
 * `npm run bench -- distill`: the real `tdd distill` TDD step (LoRA rank 64 on every reference target module,
 * teacher cond+uncond, target under stop-gradient, Huber loss, AdamW, clipping) on ../shared/fixtures/tiny-sd,
 * batch 8 of 64 px images (32×32 latents), side by side with ../shared/baselines/bench_train.py. The PyTorch
 * step is the baselines' stand-in (full fine-tune of TINY_UNET, attention at the 32×32 level), so the ratio
 * compares a step of the same shape and batch, not identical work; `npm run bench -- engine` has the
 * identical-work comparison.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distill } from '../src/distill/trainer.js';
import { writeToyDataset } from '../test/distill/toy-dataset.js';
import { sharedPath } from '../test/helpers/shared.js';
import { benchTorchStep } from './engine-unet-step.js';
import { formatMs } from './timing.js';

const BATCH = 8;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runDistillBench(steps: number): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'tdd-bench-distill-'));
  try {
    const data = join(root, 'data');
    await writeToyDataset(data);
    const t0 = performance.now();
    let setupMs = 0;
    const stepMs: number[] = [];
    let last = performance.now();
    await distill(
      {
        teacher: sharedPath('fixtures', 'tiny-sd'),
        data,
        out: join(root, 'out'),
        steps: steps + 1,
        batch: BATCH,
        checkpointEvery: 1000,
        validationPrompts: [],
      },
      {
        onPhase: (phase, done) => {
          if (phase.startsWith('compiling') && done === 1) last = performance.now();
        },
        onStep: (e) => {
          const now = performance.now();
          if (e.step === 1) setupMs = now - t0;
          else stepMs.push(now - last);
          last = now;
        },
      },
    );
    const rssMiB = process.resourceUsage().maxRSS / 1024;
    const ours = median(stepMs);
    console.log(`\ntdd distill step on tiny-sd (batch ${BATCH}, 32×32 latents, LoRA rank 64, TDD target selection, Huber, AdamW)`);
    console.log(
      `  ours   : ${formatMs(ours)}/step median (best ${formatMs(Math.min(...stepMs))}) = ${(1000 / ours).toFixed(2)} steps/s, ${((BATCH * 1000) / ours).toFixed(2)} samples/s; set-up incl. first step ${formatMs(setupMs)}; peak RSS ${rssMiB.toFixed(0)} MiB`,
    );
    const torch = benchTorchStep(Math.max(3, Math.min(steps, 10)), 2);
    if ('skipped' in torch) {
      console.log(`  torch  : skipped — ${torch.skipped}`);
      return;
    }
    const t = median(torch.stepMs);
    console.log(
      `  torch  : ${formatMs(t)}/step median = ${((BATCH * 1000) / t).toFixed(2)} samples/s (bench_train.py stand-in step, OpenBLAS + tuned malloc)`,
    );
    console.log(`  samples/s ratio ours/torch: ${(t / ours).toFixed(2)}× (target ≥ 1.0×, aim 2×)`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
