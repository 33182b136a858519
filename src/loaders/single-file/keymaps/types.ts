/**
 * The vocabulary of the key-map tables. A table is data: module rules whose `{placeholders}` are filled
 * from an index plan (one binding per module instance, computed from the model config), and part tables
 * that rename the tensors inside a module. The same tables serve both directions (single-file → diffusers
 * and back).
 */

/**
 * The closed set of tensor transforms a table may name, stated in the single-file → diffusers direction
 * (each has a fixed inverse, see transforms.ts):
 * - `conv1x1ToLinear`: a 1×1 conv weight [out, in, 1, 1] (or [out, in, 1]) read as a linear weight [out, in];
 * - `transpose`: a 2-D matrix transposed (OpenCLIP applies `x @ text_projection`, transformers `x @ Wᵀ`);
 * - `splitRows`: one fused tensor whose rows are the concatenation of several (OpenCLIP's `in_proj` = q, k, v).
 */
export type TransformName = 'identity' | 'conv1x1ToLinear' | 'transpose' | 'splitRows';

/**
 * One renamed piece inside a module. `file` and `diffusers` are dotted sub-paths: a sub-module (the rest of
 * the key is kept) or a whole tensor name. With `splitRows`, `diffusers` lists the pieces in row order.
 */
export interface PartRule {
  readonly file: string;
  readonly diffusers: string | readonly string[];
  readonly transform?: TransformName;
}

/** How the tensors inside a mapped module are named on each side. */
export interface PartTable {
  readonly rules: readonly PartRule[];
  /** Names that no rule covers keep their name (modules whose internals are identical in both layouts). */
  readonly passThrough: boolean;
}

/**
 * A module of the single-file layout and its diffusers counterpart. With `plan`, the rule is expanded once
 * per binding of that plan entry (`input_blocks.{input}.0` ↔ `down_blocks.{level}.resnets.{layer}`);
 * without it, once as written. `file: ''` / `diffusers: ''` is the component root.
 */
export interface ModuleRule {
  readonly plan?: string;
  readonly file: string;
  readonly diffusers: string;
  readonly parts: PartTable;
}

/** Values of the placeholders of one module instance. */
export type Binding = Readonly<Record<string, number | string>>;

/** Module instances per plan entry, computed from a config (see plans.ts). */
export type IndexPlan = Readonly<Record<string, readonly Binding[]>>;

/** Tensors named identically inside the module on both sides (transformer internals, CLIP in transformers naming). */
export const SAME_NAMES: PartTable = { rules: [], passThrough: true };

/** A plain conv/linear/norm module: its weight and bias, nothing else. */
export const WEIGHT_AND_BIAS: PartTable = {
  rules: [
    { file: 'weight', diffusers: 'weight' },
    { file: 'bias', diffusers: 'bias' },
  ],
  passThrough: false,
};
