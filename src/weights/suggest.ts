/** "Did you mean" candidates for a missing tensor key. */

const MAX_SUGGESTIONS = 3;

/** Names within an edit distance of about a third of the key's length, closest first. */
export function closestNames(key: string, names: Iterable<string>): string[] {
  const limit = Math.max(2, Math.floor(key.length / 3));
  const scored: [string, number][] = [];
  for (const name of names) {
    if (Math.abs(name.length - key.length) > limit) continue; // distance is at least the length difference
    const d = editDistance(key, name, limit);
    if (d <= limit) scored.push([name, d]);
  }
  scored.sort((a, b) => a[1] - b[1]);
  return scored.slice(0, MAX_SUGGESTIONS).map(([name]) => name);
}

/** Levenshtein distance, giving up (returning limit + 1) once every path exceeds `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      rowMin = Math.min(rowMin, current[j]);
    }
    if (rowMin > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length];
}
