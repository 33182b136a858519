/**
 * The Hugging Face imagefolder `metadata.jsonl`: one JSON object per line with `file_name` and a caption
 * column. The column is `text` when any row has it, else `caption`, else the only other string column.
 */
import { DatasetError } from './errors.js';

export interface MetadataRow {
  /** 1-based line in the file, for messages. */
  readonly line: number;
  readonly fileName: string;
  /** undefined: this row has no caption (null or absent column). */
  readonly caption: string | undefined;
}

export interface ParsedMetadata {
  /** undefined: no caption column could be chosen (only file_name, or several candidates). */
  readonly captionColumn: string | undefined;
  readonly rows: readonly MetadataRow[];
}

interface RawRow {
  line: number;
  object: Record<string, unknown>;
}

function parseLines(text: string, where: string): RawRow[] {
  const rows: RawRow[] = [];
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new DatasetError(`${where}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DatasetError(`${where}:${i + 1}: expected a JSON object with "file_name" and a caption, got ${JSON.stringify(value)}`);
    }
    rows.push({ line: i + 1, object: value as Record<string, unknown> });
  });
  return rows;
}

/** diffusers' training scripts default to "text"; "caption" is the other common name. */
function chooseCaptionColumn(rows: readonly RawRow[], where: string): string | undefined {
  const keys = new Set<string>();
  const stringKeys = new Set<string>();
  for (const { object } of rows) {
    for (const [key, value] of Object.entries(object)) {
      if (key === 'file_name') continue;
      keys.add(key);
      if (typeof value === 'string') stringKeys.add(key);
    }
  }
  if (keys.has('text')) return 'text';
  if (keys.has('caption')) return 'caption';
  if (stringKeys.size === 1) return [...stringKeys][0];
  if (stringKeys.size > 1) {
    throw new DatasetError(
      `${where}: cannot tell which column is the caption: no "text" or "caption" column and several string columns (${[...stringKeys].join(', ')})`,
    );
  }
  return undefined;
}

/**
 * Parses the file's text. Rows without the caption column (or with null) are errors naming the line unless
 * allowMissingCaptions; a file with no caption column at all likewise.
 */
export function parseMetadataJsonl(text: string, where: string, allowMissingCaptions: boolean): ParsedMetadata {
  const raw = parseLines(text, where);
  if (raw.length === 0) throw new DatasetError(`${where}: empty (expected one JSON object per line with "file_name" and a caption)`);
  const captionColumn = chooseCaptionColumn(raw, where);
  if (captionColumn === undefined && !allowMissingCaptions) {
    throw new DatasetError(
      `${where}:${raw[0].line}: missing caption column (expected "text", "caption" or one string column besides "file_name"; ` +
        `found ${Object.keys(raw[0].object)
          .map((k) => JSON.stringify(k))
          .join(', ')}); pass allowMissingCaptions for uncaptioned training`,
    );
  }
  const rows = raw.map(({ line, object }): MetadataRow => {
    const fileName = object.file_name;
    if (typeof fileName !== 'string' || fileName === '') {
      throw new DatasetError(`${where}:${line}: missing "file_name" (a path relative to the folder)`);
    }
    const value = captionColumn === undefined ? undefined : object[captionColumn];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new DatasetError(`${where}:${line}: caption column "${captionColumn}" must be a string, got ${JSON.stringify(value)}`);
    }
    if ((value === undefined || value === null) && !allowMissingCaptions) {
      throw new DatasetError(`${where}:${line}: missing caption column "${captionColumn}" for "${fileName}"`);
    }
    return { line, fileName, caption: value ?? undefined };
  });
  return { captionColumn, rows };
}
