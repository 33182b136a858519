/**
 * `npm run bench -- embedded`: the built-in emoji model (models/emoji) generating one 64×64 image, the default
 * way (TDD LoRA, 4 steps, guidance 1.7) against the teacher alone with DDIM at 25 steps, timed interleaved
 * after warm-up (sessions compiled). Target: the 4-step image under 0.3 s on 2 cores.
 */
import { embeddedModel } from '../src/embedded/index.js';
import { loadPipeline } from '../src/pipelines/pipeline.js';
import { txt2img } from '../src/pipelines/txt2img.js';
import { formatMs, timeInterleaved } from './timing.js';

export async function runEmbeddedBench(rounds: number): Promise<void> {
  const model = embeddedModel();
  if (!model) {
    console.log('embedded: models/emoji is not in this checkout; skipped');
    return;
  }
  const prompt = 'red apple, food and drink, food fruit, twemoji style';
  await using teacher = await loadPipeline(model.dir);
  await using distilled = await loadPipeline(model.dir);
  if (model.lora) await distilled.loras.load(model.lora, { name: 'tdd' });
  let seed = 0;
  const timings = await timeInterleaved(
    [
      {
        name: 'TDD LoRA, 4 steps, guidance 1.7',
        run: () => txt2img(distilled, { prompt, steps: 4, scheduler: 'tdd', guidanceScale: 1.7, eta: 0.2, seed: seed++ }),
      },
      {
        name: 'teacher, DDIM 25 steps, guidance 4.5',
        run: () => txt2img(teacher, { prompt, steps: 25, scheduler: 'ddim', guidanceScale: 4.5, seed: seed++ }),
      },
    ],
    { warmup: 2, rounds },
  );
  console.log('\nembedded emoji model, one 64×64 image (median of interleaved runs, warm sessions)');
  for (const t of timings)
    console.log(`  ${t.name.padEnd(40)} ${formatMs(t.medianMs).padStart(10)}  (best ${formatMs(t.minMs)}, ${t.runs} runs)`);
  const [fast, slow] = timings;
  console.log(
    `  target: 4-step image < 300 ms: ${fast.medianMs < 300 ? 'met' : 'NOT met'}; teacher/TDD time ratio ${(slow.medianMs / fast.medianMs).toFixed(1)}×`,
  );
}
