/**
 * The README's sample grid of the built-in emoji model: training-split captions (rows) sampled by the teacher
 * alone (DDIM, 25 steps, guidance 4.5) and with its TDD LoRA at 2, 4 and 8 steps (guidance 1.7, eta 0.2),
 * one seed per row so the columns compare like for like.
 *
 *   node --import tsx scripts/emoji-sample-grid.ts [out.png]   (default docs/images/emoji-samples.png)
 */
import { embeddedModel } from '../src/embedded/index.js';
import { loadPipeline, type StableDiffusionPipeline } from '../src/pipelines/pipeline.js';
import { txt2img, type Txt2ImgRequest } from '../src/pipelines/txt2img.js';
import { composeGrid, savePng } from '../src/plot/index.js';

const CAPTIONS = [
  'grinning face, smileys and emotion, face smiling, twemoji style',
  'smiling face with sunglasses, smileys and emotion, face glasses, noto style',
  'dog face, animals and nature, animal mammal, twemoji style',
  'green apple, food and drink, food fruit, twemoji style',
  'heavy black heart, smileys and emotion, heart, noto style',
  'red apple, food and drink, food fruit, twemoji style',
];

const model = embeddedModel();
if (!model?.lora) throw new Error('models/emoji with tdd-lora.safetensors is not in this checkout');
await using teacher = await loadPipeline(model.dir);
await using distilled = await loadPipeline(model.dir);
await distilled.loras.load(model.lora, { name: 'tdd' });

const columns: [string, StableDiffusionPipeline, Partial<Txt2ImgRequest>][] = [
  ['teacher, DDIM 25', teacher, { steps: 25, scheduler: 'ddim', guidanceScale: 4.5 }],
  ['TDD 2 steps', distilled, { steps: 2, scheduler: 'tdd', guidanceScale: 1.7, eta: 0.2 }],
  ['TDD 4 steps', distilled, { steps: 4, scheduler: 'tdd', guidanceScale: 1.7, eta: 0.2 }],
  ['TDD 8 steps', distilled, { steps: 8, scheduler: 'tdd', guidanceScale: 1.7, eta: 0.2 }],
];
const rows = [];
for (const [i, prompt] of CAPTIONS.entries()) {
  const row = [];
  for (const [, pipe, settings] of columns) {
    const image = (await txt2img(pipe, { ...settings, prompt, seed: i } as Txt2ImgRequest)).images[0];
    row.push({ rgb: image.pixels, width: image.width, height: image.height });
  }
  rows.push(row);
}
const heldOut = (c: string) => (c.startsWith('red apple') ? ' (held out)' : '');
const grid = await composeGrid(rows, {
  rowLabels: CAPTIONS.map((c) => c.split(',')[0] + heldOut(c)),
  colLabels: columns.map(([name]) => name),
});
const out = process.argv[2] ?? 'docs/images/emoji-samples.png';
await savePng(grid, out);
console.log(`wrote ${out}`);
