/**
 * WebDataset shards: tar files whose members are grouped into samples by key = the member path up to the
 * first '.' of its basename (folder kept): `a/0001.jpg` + `a/0001.txt` → sample `a/0001`. The image comes
 * from jpg, jpeg, png or webp (first present, in that order), the caption from txt, else json {caption}|{text}.
 * Captions are read at open; images when used, with one positioned read into the shard.
 */
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DatasetError, defaultWarning, listFirst, type DatasetOpenOptions } from './errors.js';
import { compareStrings, IMAGE_EXTENSIONS, statOrUndefined } from './files.js';
import { indexTar, readMemberFrom, readTarMember, type TarMember } from './tar.js';
import type { ImageCaptionDataset, ImageCaptionRecord } from './types.js';

interface Sample {
  key: string;
  members: Map<string, TarMember>; // extension (lower case, after the first dot) → member
}

interface Shard {
  path: string;
  /** File name without .tar: the first part of record ids. */
  name: string;
}

/** A .tar file, several, or a folder of .tar shards (sorted by name). */
async function resolveShards(pathOrPaths: string | readonly string[]): Promise<Shard[]> {
  const inputs = typeof pathOrPaths === 'string' ? [pathOrPaths] : [...pathOrPaths];
  if (inputs.length === 0) throw new DatasetError('webdataset: no shard paths given');
  const paths: string[] = [];
  for (const input of inputs) {
    const info = await statOrUndefined(input);
    if (!info) throw new DatasetError(`${input}: no such file or folder`);
    if (info.isDirectory()) {
      const tars = (await readdir(input)).filter((n) => /\.tar$/i.test(n) && !n.startsWith('.')).sort(compareStrings);
      if (tars.length === 0) throw new DatasetError(`${input}: no .tar shards in this folder`);
      paths.push(...tars.map((n) => join(input, n)));
    } else if (/\.tar$/i.test(input)) paths.push(input);
    else throw new DatasetError(`${input}: not a .tar shard`);
  }
  const byName = new Map<string, string>();
  return paths.map((path) => {
    const name = basename(path).replace(/\.tar$/i, '');
    const other = byName.get(name);
    if (other !== undefined)
      throw new DatasetError(`webdataset: shards ${other} and ${path} have the same name "${name}" (record ids would clash)`);
    byName.set(name, path);
    return { path, name };
  });
}

/** Groups members into samples in order of first appearance. */
function groupSamples(shard: Shard, members: readonly TarMember[]): Sample[] {
  const samples = new Map<string, Sample>();
  for (const member of members) {
    const slash = member.name.lastIndexOf('/');
    const dot = member.name.indexOf('.', slash + 1);
    if (dot <= slash + 1) continue; // no extension or a dotfile: not part of any sample
    const key = member.name.slice(0, dot);
    const extension = member.name.slice(dot + 1).toLowerCase();
    let sample = samples.get(key);
    if (!sample) samples.set(key, (sample = { key, members: new Map() }));
    if (sample.members.has(extension))
      throw new DatasetError(`${shard.path}: member "${member.name}" appears twice (offset ${member.headerOffset})`);
    sample.members.set(extension, member);
  }
  return [...samples.values()];
}

async function readCaption(file: FileHandle, shard: Shard, sample: Sample): Promise<string | undefined> {
  const txt = sample.members.get('txt');
  if (txt) return (await readMemberFrom(file, shard.path, txt)).toString('utf8').trim();
  const json = sample.members.get('json');
  if (!json) return undefined;
  let value: unknown;
  try {
    value = JSON.parse((await readMemberFrom(file, shard.path, json)).toString('utf8'));
  } catch (err) {
    throw new DatasetError(`${shard.path}: member "${json.name}" is not valid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { caption, text } = value as { caption?: unknown; text?: unknown };
  return typeof caption === 'string' ? caption : typeof text === 'string' ? text : undefined;
}

interface ShardResult {
  records: ImageCaptionRecord[];
  withoutImage: string[];
  withoutCaption: string[];
}

async function readShard(shard: Shard, allowMissingCaptions: boolean): Promise<ShardResult> {
  const samples = groupSamples(shard, await indexTar(shard.path));
  const result: ShardResult = { records: [], withoutImage: [], withoutCaption: [] };
  const file = await open(shard.path, 'r');
  try {
    for (const sample of samples) {
      const id = `${shard.name}/${sample.key}`;
      const image = IMAGE_EXTENSIONS.map((e) => sample.members.get(e)).find((m) => m !== undefined);
      if (!image) {
        result.withoutImage.push(id);
        continue;
      }
      const caption = await readCaption(file, shard, sample);
      if (caption === undefined) result.withoutCaption.push(id);
      if (caption === undefined && !allowMissingCaptions) continue;
      const path = shard.path;
      result.records.push(Object.freeze({ id, caption: caption ?? '', readBytes: () => readTarMember(path, image) }));
    }
  } finally {
    await file.close();
  }
  return result;
}

/**
 * Opens webdataset shards. Samples without an image are skipped with a warning; samples with an image but
 * no caption fail the open unless allowMissingCaptions (then their caption is ''). Records keep shard order,
 * then the order of the samples in the shard.
 */
export async function openWebDataset(
  pathOrPaths: string | readonly string[],
  options: DatasetOpenOptions = {},
): Promise<ImageCaptionDataset> {
  const shards = await resolveShards(pathOrPaths);
  const source = typeof pathOrPaths === 'string' ? pathOrPaths : shards.map((s) => s.path).join(', ');
  const allowMissing = options.allowMissingCaptions ?? false;
  const records: ImageCaptionRecord[] = [];
  const withoutImage: string[] = [];
  const withoutCaption: string[] = [];
  for (const shard of shards) {
    const result = await readShard(shard, allowMissing);
    records.push(...result.records);
    withoutImage.push(...result.withoutImage);
    withoutCaption.push(...result.withoutCaption);
  }
  if (withoutCaption.length > 0 && !allowMissing) {
    throw new DatasetError(
      `${source}: ${withoutCaption.length} sample(s) have an image but no caption (no txt, no json with "caption"/"text"): ` +
        `${listFirst(withoutCaption)}; add captions or pass allowMissingCaptions`,
    );
  }
  if (records.length === 0) {
    throw new DatasetError(
      `${source}: no usable samples (${withoutImage.length} key(s) without a jpg/jpeg/png/webp image${withoutImage.length ? `: ${listFirst(withoutImage)}` : ''})`,
    );
  }
  if (withoutImage.length > 0) {
    (options.onWarning ?? defaultWarning)(
      `${source}: skipped ${withoutImage.length} sample(s) without an image: ${listFirst(withoutImage)}`,
    );
  }
  return { source, records };
}
