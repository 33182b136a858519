// The lint's layering rule must bite: an upward import and an ONNX Runtime import outside src/runtime are errors,
// a downward import is not. (npm test runs the lint over the whole tree; this proves the rule is not vacuous.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });

async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path });
  return result.messages.map((m) => m.message);
}

test('a lower floor importing a higher one is a lint error', async () => {
  const found = await problems('src/ops/probe.ts', "import { x } from '../pipelines/x.js';\nexport { x };\n");
  assert.equal(found.length, 1);
  assert.match(found[0], /src\/ops is below .* must not import them/);
  assert.equal(
    (await problems('src/models/unet/probe.ts', "export { x } from '../../server/x.js';\n")).length,
    1,
    're-exports count, from nested folders too',
  );
});

test('only src/runtime imports ONNX Runtime', async () => {
  const code = "import * as ort from 'onnxruntime-node';\nexport { ort };\n";
  assert.match((await problems('src/pipelines/probe.ts', code))[0], /only src\/runtime imports ONNX Runtime/);
  assert.deepEqual(await problems('src/runtime/probe.ts', code), []);
});

test('downward and same-folder imports pass', async () => {
  assert.deepEqual(
    await problems(
      'src/pipelines/probe.ts',
      "import { a } from '../util/a.js';\nimport { b } from './b.js';\nimport { c } from '../models/unet/c.js';\nexport { a, b, c };\n",
    ),
    [],
  );
  assert.deepEqual(await problems('src/cli/probe.ts', "import { a } from '../server/a.js';\nexport { a };\n"), []);
});
