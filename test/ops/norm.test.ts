import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertArray, f32, run } from './op-harness.js';
import { checkOrtMatchesInterp, data } from '../helpers/ort-check.js';
import { checkOrtGradients, gradcheck } from '../helpers/gradcheck.js';
import { assertAllClose } from '../helpers/assert-close.js';
import { evaluate } from '../../src/interp/index.js';
import type { HostArray, Value } from '../../src/ir/index.js';
import { createGraph, groupNorm, layerNorm, registry, softmax } from '../../src/ops/index.js';

describe('group_norm reference kernel', () => {
  // x [1,2,2]: channel 0 = [1,2], channel 1 = [3,4]
  const x = f32([1, 2, 2], [1, 2, 3, 4]);
  const scale = f32([2], [1, 2]);
  const bias = f32([2], [0, 10]);

  it('one group normalises all channels together', () => {
    // mean 2.5, biased var (2.25+0.25+0.25+2.25)/4 = 1.25; then channel 1 is ×2 +10
    const r = Math.sqrt(1.25);
    const out = run('group_norm', [x, scale, bias], { groups: 1, eps: 0 });
    assertArray(out, [1, 2, 2], [-1.5 / r, -0.5 / r, (2 * 0.5) / r + 10, (2 * 1.5) / r + 10]);
  });

  it('one group per channel, eps inside the sqrt', () => {
    // each channel: mean ±0.5 around its centre, var 0.25 → (x-mean)/sqrt(0.25+0.75) = ±0.5
    const out = run('group_norm', [x, scale, bias], { groups: 2, eps: 0.75 });
    assertArray(out, [1, 2, 2], [-0.5, 0.5, -1 + 10, 1 + 10]);
  });
});

describe('layer_norm reference kernel', () => {
  it('normalises each row over the last axis, with and without affine', () => {
    // row [1,3]: mean 2, var 1 → [-1,1]; row [5,5]: var 0 → 0 (eps keeps it finite)
    const x = f32([2, 2], [1, 3, 5, 5]);
    const k = 1 / Math.sqrt(1 + 1e-5);
    assertArray(run('layer_norm', [x], { eps: 1e-5 }), [2, 2], [-k, k, 0, 0]);
    // scale [2,3], bias [1,-1]: [-2k+1, 3k-1, 1, -1]
    const out = run('layer_norm', [x, f32([2], [2, 3]), f32([2], [1, -1])], { eps: 1e-5 });
    assertArray(out, [2, 2], [-2 * k + 1, 3 * k - 1, 1, -1]);
    assertArray(run('layer_norm', [x, f32([2], [2, 3])], { eps: 1e-5 }), [2, 2], [-2 * k, 3 * k, 0, 0]);
  });
});

describe('softmax reference kernel', () => {
  it('normalises exp along the axis and is stable for large inputs', () => {
    // exp([0, ln2, ln3]) = [1,2,3], / 6
    assertArray(run('softmax', [f32([3], [0, Math.log(2), Math.log(3)])], { axis: 0 }), [3], [1 / 6, 2 / 6, 3 / 6]);
    // [1000, 1000] would overflow exp without subtracting the max
    assertArray(run('softmax', [f32([2], [1000, 1000])], { axis: -1 }), [2], [0.5, 0.5]);
    // axis 0 of [[0,1],[0,1]]: each column is two equal entries → 0.5
    assertArray(run('softmax', [f32([2, 2], [0, 1, 0, 1])], { axis: 0 }), [2, 2], [0.5, 0.5, 0.5, 0.5]);
  });
});

describe('norm inference errors', () => {
  const g = createGraph();
  const x = g.input('x', [2, 6, 3, 3]);
  const c6 = g.param('c6', [6]);
  it('group_norm', () => {
    assert.throws(
      () => groupNorm(x, c6, c6, { groups: 4 }),
      /attribute 'groups' must be a positive integer dividing the 6 channels, got 4/,
    );
    assert.throws(() => groupNorm(x, g.param('c5', [5]), c6, { groups: 3 }), /scale must be \[6\], got \[5\]/);
    assert.throws(() => groupNorm(x, c6, c6, { groups: 3, eps: -1 }), /attribute 'eps' must be a finite number >= 0, got -1/);
    assert.throws(() => groupNorm(g.input('v', [6]), c6, c6, { groups: 3 }), /input must be \[N,C,...\], got \[6\]/);
  });
  it('layer_norm and softmax', () => {
    assert.throws(() => layerNorm(x, c6), /scale must be \[3\], got \[6\]/);
    assert.throws(() => layerNorm(x, undefined, c6), /bias must be \[3\], got \[6\]/);
    assert.throws(() => softmax(x, 4), /attribute 'axis' = 4 is not an axis of a rank-4 operand/);
    assert.throws(() => softmax(g.input('i', [3], 'int64')), /operand 0 must be float32\/float16, got int64/);
  });
});

interface NormCase {
  name: string;
  build: (g: ReturnType<typeof createGraph>) => { output: Value; wrt: Value[] };
  feeds: Record<string, HostArray>;
}

const affineFeeds = (c: number): Record<string, HostArray> => ({ s: data([c], 'float32', 0.5, 1.5, 2), b: data([c], 'float32', -1, 1, 3) });

const cases: NormCase[] = [
  {
    name: 'group_norm [2,6,3,4] groups 3',
    build: (g) => {
      const [x, s, b] = [g.input('x', [2, 6, 3, 4]), g.param('s', [6]), g.param('b', [6])];
      return { output: groupNorm(x, s, b, { groups: 3, eps: 1e-6 }), wrt: [x, s, b] };
    },
    feeds: { x: data([2, 6, 3, 4], 'float32', -2, 3), ...affineFeeds(6) },
  },
  {
    name: 'group_norm rank 3, one channel per group',
    build: (g) => {
      const [x, s, b] = [g.input('x', [2, 4, 5]), g.param('s', [4]), g.param('b', [4])];
      return { output: groupNorm(x, s, b, { groups: 4 }), wrt: [x, s, b] };
    },
    feeds: { x: data([2, 4, 5]), ...affineFeeds(4) },
  },
  {
    name: 'layer_norm with scale and bias',
    build: (g) => {
      const [x, s, b] = [g.input('x', [2, 3, 5]), g.param('s', [5]), g.param('b', [5])];
      return { output: layerNorm(x, s, b, { eps: 1e-6 }), wrt: [x, s, b] };
    },
    feeds: { x: data([2, 3, 5], 'float32', 1, 4), ...affineFeeds(5) },
  },
  {
    name: 'layer_norm without affine',
    build: (g) => {
      const x = g.input('x', [4, 6]);
      return { output: layerNorm(x), wrt: [x] };
    },
    feeds: { x: data([4, 6]) },
  },
  {
    name: 'layer_norm with bias only',
    build: (g) => {
      const [x, b] = [g.input('x', [3, 5]), g.param('b', [5])];
      return { output: layerNorm(x, undefined, b), wrt: [x, b] };
    },
    feeds: { x: data([3, 5]), b: data([5], 'float32', -1, 1, 3) },
  },
  ...[-1, 0, 1].map((axis) => ({
    name: `softmax axis ${axis}`,
    build: (g: ReturnType<typeof createGraph>) => {
      const x = g.input('x', [3, 4, 5]);
      return { output: softmax(x, axis), wrt: [x] };
    },
    feeds: { x: data([3, 4, 5], 'float32', -3, 3) },
  })),
];

describe('norms on ORT and gradients', () => {
  for (const c of cases) {
    it(`${c.name}: ORT matches the interpreter`, async () => {
      const g = createGraph();
      await checkOrtMatchesInterp(g, [c.build(g).output], c.feeds);
    });
    it(`${c.name}: gradcheck and ORT gradients`, async () => {
      const graph = createGraph();
      const k = { graph, ...c.build(graph), feeds: c.feeds };
      gradcheck(k);
      await checkOrtGradients(k);
    });
  }
});

describe('composite decompositions match their reference kernels', () => {
  for (const c of cases.filter((k) => !k.name.startsWith('softmax'))) {
    it(c.name, () => {
      const g = createGraph();
      const { output } = c.build(g);
      const node = output.source.kind === 'node' ? output.source.node : assert.fail('not a node');
      const def = registry.get(node.op)!;
      const [decomposed] = def.decompose!(node.inputs, node.attrs);
      assert.ok(!g.nodes.slice(node.id + 1).some((n) => n.op === node.op), 'decomposition uses primitives only');
      const [direct, viaPrimitives] = evaluate(g, [output, decomposed], c.feeds);
      assertAllClose(viaPrimitives.data, direct.data, { atol: 1e-10, rtol: 1e-10 }, c.name);
    });
  }
});
