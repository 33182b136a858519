import { defineOp, lowerTo, type OpDef } from './op-def.js';
import { expectArity } from './util.js';

/**
 * Identity in the forward pass that blocks gradients: autodiff treats its output as a constant. Used
 * for targets computed from the student itself (TDD/LCM distillation) and for EMA teachers.
 */
export const stopGradient = defineOp({
  name: 'stop_gradient',
  infer(inputs) {
    expectArity(inputs, 1);
    return [inputs[0]];
  },
  evaluate: ([x]) => [x],
  lower: lowerTo('Identity'),
});

export const gradientControlOps: readonly OpDef[] = [stopGradient];
