// Lint = the layering of ../shared/DESIGN.md made checkable. Each folder of src/ is a floor; a file may import
// its own floor and those below it, never one above (so the engine never learns about pipelines, and nothing
// but the CLI imports the CLI). Only src/runtime talks to ONNX Runtime, so a second backend is one folder.
import tseslint from 'typescript-eslint';

/** src/ folders from the lowest floor to the highest. */
export const FLOORS = [
  'util', 'schedulers', 'tokenizer', 'plot', 'embedded',
  'ir', 'ops', 'autodiff', 'interp', 'onnx', 'runtime',
  'weights', 'nn', 'models', 'loaders', 'data', 'train',
  'pipelines', 'teacher', 'distill', 'eval', 'server', 'cli',
];

const ORT = ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common'];
const ortRule = { paths: ORT.map((name) => ({ name, message: 'only src/runtime imports ONNX Runtime (DESIGN.md)' })) };

/** A relative import that climbs out of the folder and into a higher floor, e.g. '../../pipelines/x.js'. */
const upwardImports = (floor) => {
  const higher = FLOORS.slice(FLOORS.indexOf(floor) + 1);
  return higher.length === 0 ? [] : [{ regex: `^(\\.\\./)+(${higher.join('|')})/`, message: `src/${floor} is below ${higher.length === 1 ? higher[0] : 'these folders'} and must not import them (DESIGN.md layering)` }];
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/web/**', 'scratch*/**', 'training/**', 'models/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  ...FLOORS.map((floor) => ({
    files: [`src/${floor}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { ...(floor === 'runtime' ? {} : ortRule), patterns: upwardImports(floor) }] },
  })),
  {
    // The public barrels may re-export anything but the command line and the server.
    files: ['src/index.ts', 'src/*.ts'],
    rules: { 'no-restricted-imports': ['error', { ...ortRule, patterns: [{ regex: '^\\./(cli|server)/', message: 'the library API does not expose the CLI or the server' }] }] },
  },
);
