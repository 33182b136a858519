/**
 * Fuzzing the config parsers with the fixtures' config.json files: random fields set to values of every
 * JSON type (and out-of-range numbers), fields deleted, whole files truncated. A parser must either accept
 * the config or throw its own error class naming the field (or the file) — never a TypeError from deep
 * inside model construction.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readJsonFile, readModelIndex } from '../../src/loaders/diffusers-folder.js';
import { LoaderError } from '../../src/loaders/errors.js';
import { parseUNetConfig, resolveUNetLayout, UNetConfigError } from '../../src/models/unet/index.js';
import { createScheduler, SchedulerConfigError } from '../../src/schedulers/index.js';
import { fixture } from '../helpers/model-parity.js';
import { prng } from '../helpers/prng.js';

const ODD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  '',
  'x',
  'DownBlock2D',
  [],
  [0],
  [1, 2, 3],
  [[1]],
  {},
  { a: 1 },
  [null],
  ['x', 'y'],
  [-5, 7],
];

interface ParserCase {
  name: string;
  file: string[];
  parse: (json: Record<string, unknown>) => unknown;
  errorClass: new (...args: never[]) => Error;
}

const parsers: ParserCase[] = [
  {
    name: 'UNet (tiny-sd)',
    file: ['tiny-sd', 'unet', 'config.json'],
    parse: (j) => resolveUNetLayout(parseUNetConfig(j)),
    errorClass: UNetConfigError,
  },
  {
    name: 'UNet (tiny-sdxl)',
    file: ['tiny-sdxl', 'unet', 'config.json'],
    parse: (j) => resolveUNetLayout(parseUNetConfig(j)),
    errorClass: UNetConfigError,
  },
  {
    name: 'scheduler (tdd from tiny-sd)',
    file: ['tiny-sd', 'scheduler', 'scheduler_config.json'],
    parse: (j) => createScheduler('tdd', j).setTimesteps(4),
    errorClass: SchedulerConfigError,
  },
];

/** Registers more parsers (VAE, CLIP) from their own test modules without editing this one. */
export function fuzzParser(parser: ParserCase): void {
  parsers.push(parser);
}

function mutations(config: Record<string, unknown>, seed: number, count: number): Record<string, unknown>[] {
  const random = prng(seed);
  const keys = Object.keys(config).filter((k) => !k.startsWith('_'));
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const copy = structuredClone(config);
    const key = keys[Math.floor(random() * keys.length)];
    if (random() < 0.15) delete copy[key];
    else copy[key] = structuredClone(ODD_VALUES[Math.floor(random() * ODD_VALUES.length)]);
    out.push(copy);
  }
  return out;
}

describe('config parsers under random field values', () => {
  for (const parser of parsers) {
    test(`${parser.name}: 300 mutated configs`, () => {
      const config = JSON.parse(readFileSync(fixture(...parser.file), 'utf8')) as Record<string, unknown>;
      parser.parse(config); // the unmutated config is valid
      let rejected = 0;
      for (const mutated of mutations(config, 7, 300)) {
        try {
          parser.parse(mutated);
        } catch (err) {
          rejected++;
          assert.ok(
            err instanceof parser.errorClass,
            `${(err as Error).name} for ${JSON.stringify(changed(config, mutated))}: ${(err as Error).message}`,
          );
          assert.match((err as Error).message, /`\w+`|"\w+"|\b[a-z]+_[a-z_]+\b/, 'the message names a field');
        }
      }
      assert.ok(rejected > 50, `only ${rejected} of 300 odd configs rejected`);
    });
  }
});

describe('JSON files under truncation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdd-config-fuzz-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('truncated config.json / model_index.json give LoaderErrors naming the file', () => {
    const random = prng(3);
    for (const source of [fixture('tiny-sd', 'model_index.json'), fixture('tiny-sdxl', 'unet', 'config.json')]) {
      const text = readFileSync(source, 'utf8');
      const path = join(dir, 'model_index.json');
      for (let i = 0; i < 40; i++) {
        writeFileSync(path, text.slice(0, Math.floor(random() * (text.length - 1))));
        for (const read of [() => readJsonFile(path), () => readModelIndex(dir)]) {
          assert.throws(read, (e: unknown) => e instanceof LoaderError && (e as Error).message.startsWith(path));
        }
      }
    }
  });
});

function changed(original: Record<string, unknown>, mutated: Record<string, unknown>): Record<string, unknown> {
  const diff: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(original), ...Object.keys(mutated)])) {
    if (JSON.stringify(original[key]) !== JSON.stringify(mutated[key])) diff[key] = mutated[key] ?? '<deleted>';
  }
  return diff;
}
