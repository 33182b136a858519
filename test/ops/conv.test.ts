import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertArray, f32, run } from './op-harness.js';
import { checkOrtMatchesInterp, data } from '../helpers/ort-check.js';
import { checkOrtGradients, gradcheck } from '../helpers/gradcheck.js';
import { vjp } from '../../src/autodiff/index.js';
import { evaluate } from '../../src/interp/index.js';
import { hostArray, type HostArray } from '../../src/ir/index.js';
import { conv2d, convTranspose2d, createGraph, upsampleNearest2d, type ConvTranspose2dOptions } from '../../src/ops/index.js';

const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const geometry = (o: { stride?: number[]; padding?: number[]; dilation?: number[]; groups?: number; output_padding?: number[] } = {}) => ({
  stride: o.stride ?? [1, 1],
  padding: o.padding ?? [0, 0, 0, 0],
  dilation: o.dilation ?? [1, 1],
  groups: o.groups ?? 1,
  ...(o.output_padding ? { output_padding: o.output_padding } : {}),
});
const ones = (shape: number[]): HostArray => hostArray(shape, 'float32', new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(1));

describe('conv2d reference kernel', () => {
  // x = [[0,1,2],[3,4,5],[6,7,8]]
  const x = f32([1, 1, 3, 3], iota(9));

  it('sums 2x2 windows of a 2x2 ones kernel, plus bias', () => {
    // windows: 0+1+3+4=8, 1+2+4+5=12, 3+4+6+7=20, 4+5+7+8=24; bias 1 added to each
    assertArray(run('conv2d', [x, ones([1, 1, 2, 2])], geometry()), [1, 1, 2, 2], [8, 12, 20, 24]);
    assertArray(run('conv2d', [x, ones([1, 1, 2, 2]), f32([1], [1])], geometry()), [1, 1, 2, 2], [9, 13, 21, 25]);
  });

  it('pads only the top row when padding is [1,0,0,0]', () => {
    // out is 3x2; row 0 sees the zero row and x row 0: 0+1=1, 1+2=3; rows 1,2 are the unpadded windows
    const out = run('conv2d', [x, ones([1, 1, 2, 2])], geometry({ padding: [1, 0, 0, 0] }));
    assertArray(out, [1, 1, 3, 2], [1, 3, 8, 12, 20, 24]);
  });

  it('stride 2 with padding 1 and a 3x3 kernel', () => {
    // out 2x2 = floor((3+2-3)/2)+1; window at (0,0) covers x[0..1][0..1] = 0+1+3+4 = 8, etc.
    const out = run('conv2d', [x, ones([1, 1, 3, 3])], geometry({ stride: [2, 2], padding: [1, 1, 1, 1] }));
    assertArray(out, [1, 1, 2, 2], [8, 12, 20, 24]);
  });

  it('dilation 2 reads the corners', () => {
    // 2x2 kernel dilated to span 3x3: x[0,0]+x[0,2]+x[2,0]+x[2,2] = 0+2+6+8 = 16
    assertArray(run('conv2d', [x, ones([1, 1, 2, 2])], geometry({ dilation: [2, 2] })), [1, 1, 1, 1], [16]);
  });

  it('groups keep channels apart', () => {
    // channel 0 (3) only meets weight 2, channel 1 (5) only weight 10: [6, 50]
    const out = run('conv2d', [f32([1, 2, 1, 1], [3, 5]), f32([2, 1, 1, 1], [2, 10])], geometry({ groups: 2 }));
    assertArray(out, [1, 2, 1, 1], [6, 50]);
  });
});

describe('conv_transpose2d reference kernel', () => {
  const x = f32([1, 1, 2, 2], [1, 2, 3, 4]);

  it('stride 1 overlaps shifted copies of the kernel', () => {
    // ones 2x2 kernel: out[i][j] = Σ x over the inputs whose 2x2 footprint covers (i,j)
    // [[1, 1+2, 2], [1+3, 1+2+3+4, 2+4], [3, 3+4, 4]]
    assertArray(
      run('conv_transpose2d', [x, ones([1, 1, 2, 2])], geometry({ output_padding: [0, 0] })),
      [1, 1, 3, 3],
      [1, 3, 2, 4, 10, 6, 3, 7, 4],
    );
  });

  it('stride 2 tiles 2x2 blocks; padding crops; output_padding appends zeros', () => {
    const tiled = [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4];
    const attrs = geometry({ stride: [2, 2], output_padding: [0, 0] });
    assertArray(run('conv_transpose2d', [x, ones([1, 1, 2, 2])], attrs), [1, 1, 4, 4], tiled);
    // padding [1,1,1,1] drops the outer ring of the 3x3 stride-1 result: [10]
    const cropped = run('conv_transpose2d', [x, ones([1, 1, 2, 2])], geometry({ padding: [1, 1, 1, 1], output_padding: [0, 0] }));
    assertArray(cropped, [1, 1, 1, 1], [10]);
    // output_padding [1,0]: one extra (zero) row at the bottom
    const taller = run('conv_transpose2d', [x, ones([1, 1, 2, 2])], { ...attrs, output_padding: [1, 0] });
    assertArray(taller, [1, 1, 5, 4], [...tiled, 0, 0, 0, 0]);
  });

  it('groups and bias: [3,5] with weights [2,10] and bias [1,-1] gives [7,49]', () => {
    const out = run(
      'conv_transpose2d',
      [f32([1, 2, 1, 1], [3, 5]), f32([2, 1, 1, 1], [2, 10]), f32([2], [1, -1])],
      geometry({ groups: 2, output_padding: [0, 0] }),
    );
    assertArray(out, [1, 2, 1, 1], [7, 49]);
  });

  it('is the adjoint of conv2d: <conv2d(a,w), b> = <convT(b,w), a>', () => {
    const attrs = geometry({ stride: [2, 1], padding: [1, 0, 2, 1], dilation: [2, 1], groups: 2 });
    const a = data([2, 4, 7, 6]);
    const w = data([6, 2, 2, 3], 'float32', -1, 1, 3);
    const y = run('conv2d', [a, w], attrs);
    const b = data([...y.shape], 'float32', -1, 1, 5);
    const xt = run('conv_transpose2d', [b, w], { ...attrs, output_padding: [0, 0] });
    // convT's output may be shorter than a where the forward floor dropped rows; those rows meet zeros.
    const dot = (p: HostArray, q: HostArray) => p.data.reduce((s, v, i) => s + v * q.data[i], 0);
    const [n, c, h, wd] = xt.shape;
    const aCrop = hostArray(
      xt.shape,
      'float32',
      iota(n * c * h * wd).map((k) => {
        const [pl, r, col] = [Math.floor(k / (h * wd)), Math.floor(k / wd) % h, k % wd];
        return a.data[(pl * a.shape[2] + r) * a.shape[3] + col];
      }),
    );
    assert.ok(Math.abs(dot(y, b) - dot(xt, aCrop)) < 1e-9);
  });
});

describe('upsample_nearest2d reference kernel', () => {
  it('repeats each pixel into an s×s block', () => {
    const out = run('upsample_nearest2d', [f32([1, 1, 2, 2], [1, 2, 3, 4])], { scale: 2 });
    assertArray(out, [1, 1, 4, 4], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    // scale 3 on a 1x2 row: [7,7,7,8,8,8] three times
    const row = [7, 7, 7, 8, 8, 8];
    assertArray(run('upsample_nearest2d', [f32([1, 1, 1, 2], [7, 8])], { scale: 3 }), [1, 1, 3, 6], [...row, ...row, ...row]);
  });
});

describe('conv inference errors', () => {
  const g = createGraph();
  const x = g.input('x', [2, 4, 5, 6]);
  it('names the offending operand or attribute', () => {
    assert.throws(
      () => conv2d(x, g.param('w1', [3, 3, 3, 3])),
      /weight \[3,3,3,3\] \(\[O, C\/groups, kh, kw\], groups 1\) does not match input channels 4/,
    );
    assert.throws(
      () => conv2d(x, g.param('w2', [3, 2, 1, 1]), { groups: 2 }),
      /groups 2 must divide input channels 4 and output channels 3/,
    );
    assert.throws(() => conv2d(x, g.param('w3', [8, 4, 1, 1]), { bias: g.param('b3', [4]) }), /bias must be \[8\], got \[4\]/);
    assert.throws(() => conv2d(x, g.param('w4', [8, 4, 7, 1])), /spatial output \[-1,6\] is empty/);
    assert.throws(() => conv2d(g.input('v', [4, 5, 6]), g.param('w5', [8, 4, 1, 1])), /input must be \[N,C,H,W\], got \[4,5,6\]/);
    assert.throws(
      () => conv2d(g.input('i', [1, 1, 2, 2], 'int64'), g.param('w6', [1, 1, 1, 1], 'int64')),
      /operand 0 must be float32\/float16, got int64/,
    );
  });

  it('validates attributes', () => {
    const w = g.param('w', [8, 4, 1, 1]);
    assert.throws(() => conv2d(x, w, { stride: 0 }), /attribute 'stride' must be 2 integers >= 1, got \[0,0\]/);
    assert.throws(() => conv2d(x, w, { padding: [1, 1, 1] }), /attribute 'padding' must be 4 integers >= 0/);
    assert.throws(() => conv2d(x, w, { groups: 0 }), /attribute 'groups' must be a positive integer/);
    assert.throws(
      () => g.apply('conv2d', [x, w], { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1.5], groups: 1 }),
      /attribute 'dilation' must be an array of integers/,
    );
    const wt = g.param('wt', [4, 2, 3, 3]);
    assert.throws(
      () => convTranspose2d(x, wt, { stride: 2, outputPadding: 2 }),
      /attribute 'output_padding' \[2,2\] must be smaller than stride \[2,2\]/,
    );
    assert.throws(() => convTranspose2d(x, g.param('wt2', [3, 2, 3, 3])), /weight \[3,2,3,3\] \(\[C, O\/groups, kh, kw\], groups 1\)/);
    assert.throws(() => upsampleNearest2d(x, 1.5), /attribute 'scale' must be a positive integer, got 1.5/);
  });
});

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  bias?: boolean;
  opts: ConvTranspose2dOptions;
}

const convCases: ConvCase[] = [
  { name: '3x3 pad 1 with bias', x: [2, 4, 5, 6], w: [3, 4, 3, 3], bias: true, opts: { padding: 1 } },
  { name: 'stride 2, asymmetric padding', x: [2, 4, 5, 6], w: [3, 4, 3, 2], opts: { stride: 2, padding: [1, 0, 2, 1] } },
  { name: 'dilation 2, stride [1,2]', x: [2, 4, 5, 6], w: [2, 4, 2, 2], opts: { dilation: 2, stride: [1, 2] } },
  { name: 'groups 2 with bias', x: [2, 4, 5, 6], w: [6, 2, 3, 3], bias: true, opts: { groups: 2, padding: [1, 1] } },
  { name: 'depthwise, stride 2, unread rows', x: [1, 4, 6, 7], w: [4, 1, 3, 3], opts: { groups: 4, stride: 2 } },
  {
    name: 'everything at once',
    x: [2, 4, 7, 6],
    w: [6, 2, 2, 3],
    bias: true,
    opts: { stride: [2, 1], padding: [1, 0, 2, 1], dilation: [2, 1], groups: 2 },
  },
];

/** The transposed cases: w is [C, O/groups, kh, kw]; output_padding where stride allows. */
const convTCases: ConvCase[] = [
  { name: 'stride 1 pad 1 with bias', x: [2, 4, 4, 5], w: [4, 3, 3, 3], bias: true, opts: { padding: 1 } },
  {
    name: 'stride 2, output_padding 1, asymmetric padding',
    x: [2, 4, 3, 4],
    w: [4, 2, 3, 2],
    opts: { stride: 2, padding: [1, 0, 0, 1], outputPadding: 1 },
  },
  { name: 'dilation 2', x: [1, 4, 3, 3], w: [4, 2, 2, 2], opts: { dilation: 2 } },
  {
    name: 'groups 2, stride [2,3], bias',
    x: [2, 4, 3, 3],
    w: [4, 3, 3, 3],
    bias: true,
    opts: { groups: 2, stride: [2, 3], padding: [0, 1, 1, 0], outputPadding: [1, 2] },
  },
];

function buildCase(c: ConvCase, transposed: boolean) {
  const g = createGraph();
  const x = g.input('x', c.x);
  const w = g.param('w', c.w);
  const bias = c.bias ? g.param('b', [transposed ? c.w[1] * (c.opts.groups ?? 1) : c.w[0]]) : undefined;
  const y = transposed ? convTranspose2d(x, w, { ...c.opts, bias }) : conv2d(x, w, { ...c.opts, bias });
  const feeds: Record<string, HostArray> = { x: data(c.x), w: data(c.w, 'float32', -1, 1, 2) };
  if (bias) feeds.b = data([...bias.shape], 'float32', -1, 1, 3);
  return { graph: g, output: y, wrt: bias ? [x, w, bias] : [x, w], feeds };
}

for (const [op, cases, transposed] of [
  ['conv2d', convCases, false],
  ['conv_transpose2d', convTCases, true],
] as const) {
  describe(`${op} on ORT and gradients`, () => {
    for (const c of cases) {
      it(`${c.name}: ORT matches the interpreter`, async () => {
        const k = buildCase(c, transposed);
        await checkOrtMatchesInterp(k.graph, [k.output], k.feeds);
      });
      it(`${c.name}: gradcheck and ORT gradients`, async () => {
        const k = buildCase(c, transposed);
        gradcheck(k);
        await checkOrtGradients(k);
      });
    }
  });
}

describe('upsample_nearest2d on ORT and gradients', () => {
  for (const scale of [2, 3]) {
    it(`scale ${scale}`, async () => {
      const g = createGraph();
      const x = g.input('x', [2, 3, 4, 5]);
      const k = { graph: g, output: upsampleNearest2d(x, scale), wrt: [x], feeds: { x: data([2, 3, 4, 5]) } };
      await checkOrtMatchesInterp(g, [k.output], k.feeds);
      gradcheck(k);
      await checkOrtGradients(k);
    });
  }

  it('backward of ×2 sums each 2×2 block (hand case)', () => {
    const g = createGraph();
    const x = g.input('x', [1, 1, 1, 2]);
    const dy = g.input('dy', [1, 1, 2, 4]);
    const [dx] = vjp([upsampleNearest2d(x)], [dy], [x]);
    // dy rows [1,2,3,4],[5,6,7,8]: left block 1+2+5+6 = 14, right block 3+4+7+8 = 22
    const [out] = evaluate(g, [dx], { x: f32([1, 1, 1, 2], [0, 0]), dy: f32([1, 1, 2, 4], [1, 2, 3, 4, 5, 6, 7, 8]) });
    assertArray(out, [1, 1, 1, 2], [14, 22]);
  });
});
