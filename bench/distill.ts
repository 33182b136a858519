/**
 * `npm run bench -- distill`: the real `tdd distill` step of every method in the table (LoRA rank 64 on every
 * reference target module, teacher cond+uncond, target under stop-gradient, Huber loss, AdamW, clipping) on
 * ../shared/fixtures/tiny-sd, batch 8 of 64 px images (32×32 latents), each method's samples/s beside TDD's, and
 * TDD's side by side with ../shared/baselines/bench_train.py. The PyTorch
 * step is the baselines' stand-in (full fine-tune of TINY_UNET, attention at the 32×32 level), so the ratio
 * compares a step of the same shape and batch, not identical work; `npm run bench -- engine` has the
 * identical-work comparison.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distillMethodNames, type DistillMethodName } from '../src/distill/method.js';
import { distill } from '../src/distill/trainer.js';
import { writeToyDataset } from '../test/distill/toy-dataset.js';
import { sharedPath } from '../test/helpers/shared.js';
import { benchTorchStep } from './engine-unet-step.js';
import { formatMs } from './timing.js';

const BATCH = 8;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface MethodTiming {
  readonly medianMs: number;
  readonly bestMs: number;
  readonly setupMs: number;
}

interface BenchCase {
  readonly label: string;
  readonly method: DistillMethodName;
  readonly adversarial?: boolean;
}

/** Every method of the table, and PCM with its adversarial loss (the joint schedule: both phases every step). */
const CASES: readonly BenchCase[] = [
  ...distillMethodNames.map((method) => ({ label: method, method })),
  { label: 'pcm+adv', method: 'pcm', adversarial: true },
];

async function timeMethod({ label, method, adversarial }: BenchCase, root: string, data: string, steps: number): Promise<MethodTiming> {
  const t0 = performance.now();
  let setupMs = 0;
  const stepMs: number[] = [];
  let last = performance.now();
  await distill(
    {
      teacher: sharedPath('fixtures', 'tiny-sd'),
      data,
      out: join(root, `out-${label}`),
      method,
      adversarial: adversarial ? { weight: 0.1, lr: 1e-5, schedule: 'joint' } : undefined,
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
  return { medianMs: median(stepMs), bestMs: Math.min(...stepMs), setupMs };
}

export async function runDistillBench(steps: number): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'tdd-bench-distill-'));
  try {
    const data = join(root, 'data');
    await writeToyDataset(data);
    console.log(`\ntdd distill step on tiny-sd (batch ${BATCH}, 32×32 latents, LoRA rank 64, Huber, AdamW), per method`);
    const timings = new Map<string, MethodTiming>();
    for (const c of CASES) {
      const t = await timeMethod(c, root, data, steps);
      timings.set(c.label, t);
      const vsTdd = c.label === 'tdd' ? '' : `; ${(timings.get('tdd')!.medianMs / t.medianMs).toFixed(2)}× TDD's samples/s`;
      console.log(
        `  ${c.label.padEnd(9)}: ${formatMs(t.medianMs)}/step median (best ${formatMs(t.bestMs)}) = ${((BATCH * 1000) / t.medianMs).toFixed(2)} samples/s; set-up incl. first step ${formatMs(t.setupMs)}${vsTdd}`,
      );
    }
    console.log(`  peak RSS of the process (all methods): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
    const ours = timings.get('tdd')!.medianMs;
    const torch = benchTorchStep(Math.max(3, Math.min(steps, 10)), 2);
    if ('skipped' in torch) {
      console.log(`  torch  : skipped — ${torch.skipped}`);
      return;
    }
    const t = median(torch.stepMs);
    console.log(
      `  torch  : ${formatMs(t)}/step median = ${((BATCH * 1000) / t).toFixed(2)} samples/s (bench_train.py stand-in step, OpenBLAS + tuned malloc)`,
    );
    console.log(`  samples/s ratio TDD ours/torch: ${(t / ours).toFixed(2)}× (target ≥ 1.0×, aim 2×)`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
