/**
 * JSON as Python's json.dumps writes it: diffusers' save_config emits the bare literals Infinity, -Infinity
 * and NaN (e.g. `"lambda_min_clipped": -Infinity`), which JSON.parse rejects. They are read as numbers.
 */
const LITERALS: readonly [string, number][] = [
  ['-Infinity', -Infinity],
  ['Infinity', Infinity],
  ['NaN', NaN],
];
const MARK = '\u0000py:';

export function parsePythonJson(text: string): unknown {
  return JSON.parse(quoteLiterals(text), (_key, value: unknown) => {
    if (typeof value !== 'string' || !value.startsWith(MARK)) return value;
    return LITERALS.find(([word]) => MARK + word === value)![1];
  });
}

/** Rewrites bare literals outside strings as marked strings the reviver turns back into numbers. */
function quoteLiterals(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
      continue;
    }
    const literal = LITERALS.find(([word]) => text.startsWith(word, i) && !/[\w$]/.test(text[i + word.length] ?? ''));
    if (literal) {
      out += JSON.stringify(MARK + literal[0]);
      i += literal[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Index just past the string starting at `start` (a '"'), honouring backslash escapes. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return Math.min(i + 1, text.length);
}
