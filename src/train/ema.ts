/** Exponential moving average of weights, in place: ema ← decay·ema + (1 − decay)·live. */
export function updateEma(ema: Float32Array, live: Float32Array, decay: number): void {
  if (ema.length !== live.length) throw new RangeError(`EMA update: ${ema.length} values vs ${live.length}`);
  for (let i = 0; i < ema.length; i++) ema[i] = decay * ema[i] + (1 - decay) * live[i];
}
