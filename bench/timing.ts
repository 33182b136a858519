/** Interleaved timing: candidates run in turns (A B A B ...) so machine noise hits them alike. */
export interface Timing {
  name: string;
  medianMs: number;
  minMs: number;
  runs: number;
}

export async function timeInterleaved(
  candidates: readonly { name: string; run: () => Promise<unknown> }[],
  { warmup = 2, rounds = 7 }: { warmup?: number; rounds?: number } = {},
): Promise<Timing[]> {
  for (const c of candidates) for (let i = 0; i < warmup; i++) await c.run();
  const samples = candidates.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of candidates.entries()) {
      const t0 = performance.now();
      await c.run();
      samples[i].push(performance.now() - t0);
    }
  }
  return candidates.map((c, i) => {
    const s = [...samples[i]].sort((a, b) => a - b);
    return { name: c.name, medianMs: s[Math.floor(s.length / 2)], minMs: s[0], runs: s.length };
  });
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}
