/** `npm run bench -- [engine] [--rounds N]`: speed targets as ratios measured side by side in one run. */
import { benchConvStack, printConvStack } from './engine-conv.js';
import { runUnetStepBench } from './engine-unet-step.js';
import { benchModelCase } from './models-unet.js';
import { sd15UnetCase, sdVaeDecodeCase } from './sd15-cases.js';
import { runGenerateBench } from './generate.js';
import { runDistillBench } from './distill.js';
import { runEmbeddedBench } from './embedded.js';
import { runRealSizeBench } from './real-size.js';
import { createGraph } from '../src/ops/index.js';

const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 7;
const suites = args.filter(
  (a, i) => !a.startsWith('--') && args[i - 1] !== '--rounds' && args[i - 1] !== '--device' && !/^(sd15|sdxl)-\d+(-single-file)?$/.test(a),
);
const wanted = suites.length > 0 ? suites : ['engine'];
const known = ['engine', 'unet', 'generate', 'distill', 'embedded', 'real-size'];
for (const s of wanted) {
  if (!known.includes(s)) {
    console.error(`unknown benchmark '${s}' (known: ${known.join(', ')})`);
    process.exit(2);
  }
}

if (wanted.includes('engine')) {
  printConvStack(await benchConvStack(rounds * 3)); // cheap: more rounds steady the ratio
  await runUnetStepBench(Math.max(3, Math.min(rounds, 8)));
}

if (wanted.includes('unet')) {
  await benchModelCase(sd15UnetCase(), createGraph(), Math.max(2, Math.min(rounds, 5)));
  await benchModelCase(sdVaeDecodeCase(), createGraph(), Math.max(2, Math.min(rounds, 4)));
}

if (wanted.includes('generate')) await runGenerateBench(Math.max(1, Math.min(rounds, 3)));

if (wanted.includes('distill')) await runDistillBench(Math.max(5, Math.min(rounds * 3, 30)));

if (wanted.includes('embedded')) await runEmbeddedBench(Math.max(5, Math.min(rounds * 2, 20)));

const deviceAt = args.indexOf('--device');
if (wanted.includes('real-size'))
  await runRealSizeBench(
    args.filter((a) => /^(sd15|sdxl)-\d+(-single-file)?$/.test(a)),
    deviceAt >= 0 ? args[deviceAt + 1] : 'cpu',
  );
