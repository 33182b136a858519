/**
 * The binary16 conversions live in src/util/half.ts (the weights loader needs
 * them too); re-exported here so runtime imports keep working.
 */
export { float16BitsToFloat32, float16ToFloat32, float32ToFloat16, float32ToFloat16Bits } from '../util/half.js';
