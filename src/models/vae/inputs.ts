import { formatShape, GraphError, type Value } from '../../ir/index.js';

/** Checks a model input is [B, channels, H, W] before any layer is built, naming model and input. */
export function expectNCHW(where: string, x: Value, channels: number): void {
  if (x.rank !== 4 || x.shape[1] !== channels) {
    throw new GraphError(`${where}: expected [batch, ${channels}, height, width], got ${formatShape(x.shape)}`);
  }
}
