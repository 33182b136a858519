import { formatShape, hostArray, InferError, type Attrs, type DType, type HostArray, type Value } from '../ir/index.js';
import { defineOp, type OpDef } from './op-def.js';
import { expectArity, expectFloat, expectSameDType } from './util.js';

/**
 * `scale` null = 1/√(head dim), as torch's scaled_dot_product_attention. `causal` (absent = false): query i
 * attends to keys j ≤ i only (square attention), as CLIP's text encoder; masked scores get the dtype's most
 * negative finite value added, as transformers does, which softmax turns into exact zeros.
 */
export interface AttentionAttrs extends Attrs {
  readonly heads: number;
  readonly scale: number | null;
  readonly causal: boolean;
}

interface AttentionDims {
  batch: number;
  queries: number;
  keys: number;
  heads: number;
  headDim: number;
  valueDim: number;
}

/** q [B,Sq,H·D], k [B,Sk,H·D], v [B,Sk,H·Dv] (the packed layout of diffusers' Attention projections). */
function attentionDims(q: readonly number[], k: readonly number[], v: readonly number[], heads: unknown): AttentionDims {
  if (!Number.isInteger(heads) || (heads as number) < 1)
    throw new InferError(`attribute 'heads' must be an integer >= 1, got ${JSON.stringify(heads)}`);
  const h = heads as number;
  [q, k, v].forEach((s, i) => {
    if (s.length !== 3) throw new InferError(`operand ${i} must be [batch, tokens, heads·dim], got ${formatShape(s)}`, i);
    if (s[2] % h !== 0) throw new InferError(`operand ${i}: last dim ${s[2]} is not divisible by heads=${h}`, i);
  });
  if (k[0] !== q[0] || v[0] !== q[0])
    throw new InferError(`batch sizes differ: ${formatShape(q)}, ${formatShape(k)}, ${formatShape(v)}`, 1);
  if (k[2] !== q[2]) throw new InferError(`key width ${k[2]} differs from query width ${q[2]}`, 1);
  if (v[1] !== k[1]) throw new InferError(`value has ${v[1]} tokens, key has ${k[1]}`, 2);
  return { batch: q[0], queries: q[1], keys: k[1], heads: h, headDim: q[2] / h, valueDim: v[2] / h };
}

function scaleOf(attrs: AttentionAttrs, headDim: number): number {
  return attrs.scale ?? 1 / Math.sqrt(headDim);
}

/** transformers fills the causal mask with torch.finfo(dtype).min. */
const MASK_FILL: Readonly<Record<string, number>> = { float32: -3.4028234663852886e38, float16: -65504 };

function checkCausal(attrs: AttentionAttrs, d: AttentionDims): void {
  if (attrs.causal === undefined || attrs.causal === false) return;
  if (attrs.causal !== true) throw new InferError(`attribute 'causal' must be a boolean, got ${JSON.stringify(attrs.causal)}`);
  if (d.queries !== d.keys)
    throw new InferError(`attribute 'causal' needs as many queries as keys, got ${d.queries} queries and ${d.keys} keys`, 1);
}

/** Additive [Sq, Sk] mask: 0 on and below the diagonal, finfo(dtype).min above it. */
function causalMask(size: number, dtype: DType): HostArray {
  const mask = new Float64Array(size * size);
  for (let i = 0; i < size; i++) mask.fill(MASK_FILL[dtype], i * size + i + 1, (i + 1) * size);
  return hostArray([size, size], dtype, mask);
}

/** Splits the packed last dim into heads: [B,S,H·D] → [B,H,S,D]. */
function splitHeads(x: Value, heads: number): Value {
  const [b, s, hd] = x.shape;
  return x.reshape([b, s, heads, hd / heads]).transpose([0, 2, 1, 3]);
}

/**
 * Multi-head scaled dot-product attention softmax(q·kᵀ·scale)·v, without dropout or padding mask, with an
 * optional causal mask (the SD UNet and VAE need none, CLIP's text encoder the causal one). Lowered to
 * com.microsoft MultiHeadAttention, which keeps the per-head work in one kernel (measured at [8, 1024, 8×4]
 * on ORT CPU: 68 ms vs 76 ms for the MatMul/Softmax/MatMul decomposition); its `unidirectional` attribute
 * is the causal mask (ORT 1.30 CPU honours it: test/ops/attention.test.ts checks it against the
 * interpreter). Differentiated through the decomposition.
 */
export const attentionOp = defineOp<AttentionAttrs>({
  name: 'attention',
  infer(inputs, attrs) {
    expectArity(inputs, 3);
    inputs.forEach((t, i) => expectFloat(t, i));
    const dtype = expectSameDType(inputs);
    const d = attentionDims(inputs[0].shape, inputs[1].shape, inputs[2].shape, attrs.heads);
    if (attrs.scale !== null && typeof attrs.scale !== 'number')
      throw new InferError(`attribute 'scale' must be a number or null, got ${JSON.stringify(attrs.scale)}`);
    checkCausal(attrs, d);
    return [{ shape: [d.batch, d.queries, d.heads * d.valueDim], dtype }];
  },
  evaluate([q, k, v], attrs) {
    const d = attentionDims(q.shape, k.shape, v.shape, attrs.heads);
    const scale = scaleOf(attrs, d.headDim);
    const width = d.heads * d.headDim;
    const vWidth = d.heads * d.valueDim;
    const out = new Float64Array(d.batch * d.queries * vWidth);
    const scores = new Float64Array(d.keys);
    // A masked key contributes exp(finfo.min − max) = 0 exactly, so the causal case just stops at the diagonal.
    const keysOf = (i: number): number => (attrs.causal ? i + 1 : d.keys);
    for (let b = 0; b < d.batch; b++) {
      for (let h = 0; h < d.heads; h++) {
        for (let i = 0; i < d.queries; i++) {
          const qo = (b * d.queries + i) * width + h * d.headDim;
          const visible = keysOf(i);
          let max = -Infinity;
          for (let j = 0; j < visible; j++) {
            const ko = (b * d.keys + j) * width + h * d.headDim;
            let dot = 0;
            for (let c = 0; c < d.headDim; c++) dot += q.data[qo + c] * k.data[ko + c];
            scores[j] = dot * scale;
            max = Math.max(max, scores[j]);
          }
          let total = 0;
          for (let j = 0; j < visible; j++) total += scores[j] = Math.exp(scores[j] - max);
          const oo = (b * d.queries + i) * vWidth + h * d.valueDim;
          for (let j = 0; j < visible; j++) {
            const vo = (b * d.keys + j) * vWidth + h * d.valueDim;
            const p = scores[j] / total;
            for (let c = 0; c < d.valueDim; c++) out[oo + c] += p * v.data[vo + c];
          }
        }
      }
    }
    return [hostArray([d.batch, d.queries, vWidth], q.dtype, out)];
  },
  decompose([q, k, v], attrs) {
    const heads = attrs.heads;
    const [b, sq] = q.shape;
    const scale = scaleOf(attrs, q.shape[2] / heads);
    // Scaling q (S·D values) rather than the scores (S·S values) saves two passes over the largest tensor.
    const unmasked = splitHeads(q.mul(scale), heads).matmul(splitHeads(k, heads).transpose([0, 1, 3, 2]));
    const scores = attrs.causal ? unmasked.add(q.graph.constant(causalMask(sq, q.dtype))) : unmasked;
    const probs = q.graph.apply('softmax', [scores], { axis: -1 });
    return [probs.matmul(splitHeads(v, heads)).transpose([0, 2, 1, 3]).reshape([b, sq, -1])];
  },
  lower(ctx, node, attrs) {
    const scale = scaleOf(attrs, node.inputs[0].shape[2] / attrs.heads);
    const causal = attrs.causal ? { unidirectional: 1 } : {};
    ctx.emit(
      'MultiHeadAttention',
      ctx.inputs,
      { num_heads: attrs.heads, scale: { kind: 'float', value: scale }, ...causal },
      { outputs: ctx.outputs, domain: 'com.microsoft' },
    );
  },
});

export const attentionOps: readonly OpDef[] = [attentionOp];

export interface AttentionOptions {
  heads: number;
  /** Default 1/√(head dim). */
  scale?: number | null;
  /** Query i sees keys 0..i only (needs as many queries as keys). Default false. */
  causal?: boolean;
}

/** softmax(q·kᵀ·scale [+ causal mask])·v over `heads` heads of packed [batch, tokens, heads·dim] projections. */
export function attention(q: Value, k: Value, v: Value, { heads, scale = null, causal = false }: AttentionOptions): Value {
  return q.graph.apply('attention', [q, k, v], { heads, scale, causal });
}
