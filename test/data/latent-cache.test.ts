import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  LatentCache,
  LatentCacheError,
  prepareTrainingImage,
  sampleLatents,
  type ImageCaptionRecord,
  type LatentEncoder,
} from '../../src/data/index.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { makeTempDir, pngFromPixels, solidImage, type TempDir } from './helpers.js';

/** A VAE stand-in with factor-2 downscaling: mean = a function of the pixels, std per channel; counts its work. */
class FakeEncoder implements LatentEncoder {
  calls: number[] = [];
  constructor(
    readonly identity = 'fake-vae@1',
    readonly channels = 4,
  ) {}

  static latent(pixels: Float32Array, height: number, width: number, channels: number): { mean: Float32Array; std: Float32Array } {
    const h = height / 2;
    const w = width / 2;
    const mean = new Float32Array(channels * h * w);
    const std = new Float32Array(channels * h * w);
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < h * w; i++) {
        const x = (i % w) * 2;
        const y = Math.floor(i / w) * 2;
        mean[c * h * w + i] = pixels[(c % 3) * height * width + y * width + x] + c / 10;
        std[c * h * w + i] = 0.25 + c / 100;
      }
    }
    return { mean, std };
  }

  async encodeImages(pixels: Float32Array, n: number, height: number, width: number): Promise<{ mean: Float32Array; std: Float32Array }> {
    this.calls.push(n);
    const plane = 3 * height * width;
    const per = (this.channels * height * width) / 4;
    const mean = new Float32Array(n * per);
    const std = new Float32Array(n * per);
    for (let b = 0; b < n; b++) {
      const one = FakeEncoder.latent(pixels.subarray(b * plane, (b + 1) * plane), height, width, this.channels);
      mean.set(one.mean, b * per);
      std.set(one.std, b * per);
    }
    return { mean, std };
  }
}

interface CountingRecord extends ImageCaptionRecord {
  reads: number;
}

function record(id: string, bytes: Buffer): CountingRecord {
  const r: CountingRecord = { id, caption: id, reads: 0, readBytes: async () => (r.reads++, bytes) };
  return r;
}

async function coloredRecords(count: number, size = 4): Promise<CountingRecord[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => record(`img-${i}`, await solidImage([20 * i, 255 - 30 * i, 7 * i], 'png', size, size))),
  );
}

async function withTemp(body: (tmp: TempDir) => Promise<void>): Promise<void> {
  const tmp = makeTempDir('tdd-latents-');
  try {
    await body(tmp);
  } finally {
    tmp.cleanup();
  }
}

const totalEncoded = (e: FakeEncoder): number => e.calls.reduce((a, b) => a + b, 0);

test('ensure encodes missing images in batches once; a second ensure encodes nothing and reads nothing', async () => {
  await withTemp(async (tmp) => {
    const encoder = new FakeEncoder();
    const records = await coloredRecords(5);
    const cache = new LatentCache(tmp.path, encoder, { width: 4, height: 4, batchSize: 2 });
    const progress: Array<[number, number]> = [];
    await cache.ensure(records, (done, total) => progress.push([done, total]));
    assert.deepEqual(encoder.calls, [2, 2, 1]);
    assert.deepEqual(progress.at(-1), [5, 5]);
    assert.ok(
      progress.every(([d], i) => i === 0 || d >= progress[i - 1][0]),
      'progress never goes back',
    );
    assert.ok(
      records.every((r) => r.reads === 1),
      'bytes read once while hashing and encoding',
    );

    const shaDirs = readdirSync(cache.directory).filter((n) => n !== 'cache-info.json');
    assert.ok(shaDirs.every((d) => /^[0-9a-f]{2}$/.test(d)));
    const files = shaDirs.flatMap((d) => readdirSync(join(cache.directory, d)).map((f) => [d, f]));
    assert.equal(files.length, 5);
    assert.ok(files.every(([d, f]) => /^[0-9a-f]{64}\.bin$/.test(f) && f.startsWith(d)));
    assert.equal(JSON.parse(readFileSync(join(cache.directory, 'cache-info.json'), 'utf8')).encoder, 'fake-vae@1');

    await cache.ensure(records);
    assert.equal(totalEncoded(encoder), 5);
    assert.ok(
      records.every((r) => r.reads === 1),
      'ids are hashed once per process',
    );

    const fresh = new LatentCache(tmp.path, encoder, { width: 4, height: 4, batchSize: 2 });
    await fresh.ensure(records);
    assert.equal(totalEncoded(encoder), 5, 'a new process finds the files');
  });
});

test('get returns the encoder output for that image, from disk, without encoding again', async () => {
  await withTemp(async (tmp) => {
    const encoder = new FakeEncoder();
    const records = await coloredRecords(3);
    const cache = new LatentCache(tmp.path, encoder, { width: 4, height: 4 });
    await cache.ensure(records);
    for (const r of records) {
      const entry = await new LatentCache(tmp.path, encoder, { width: 4, height: 4 }).get(r);
      const expected = FakeEncoder.latent(await prepareTrainingImage(await r.readBytes(), { size: 4 }), 4, 4, 4);
      assert.deepEqual(entry.shape, [4, 2, 2]);
      assert.deepEqual(entry.mean, expected.mean);
      assert.deepEqual(entry.std, expected.std);
    }
    assert.equal(totalEncoded(encoder), 3);
  });
});

test('get encodes a missing entry once; duplicate images are encoded once', async () => {
  await withTemp(async (tmp) => {
    const encoder = new FakeEncoder();
    const bytes = await solidImage([9, 99, 199]);
    const cache = new LatentCache(tmp.path, encoder, { width: 4, height: 4, batchSize: 4 });
    const first = await cache.get(record('a', bytes));
    assert.deepEqual(encoder.calls, [1]);
    assert.deepEqual(await cache.get(record('a', bytes)), first);
    await cache.ensure([record('b', bytes), record('c', bytes), record('d', await solidImage([1, 1, 1]))]);
    assert.deepEqual(encoder.calls, [1, 1], 'b and c share a’s bytes: only d is encoded');
  });
});

test('a changed identity, resolution or background re-encodes into its own folder', async () => {
  await withTemp(async (tmp) => {
    const records = await coloredRecords(2, 8);
    const base = new FakeEncoder('vae@1');
    const baseCache = new LatentCache(tmp.path, base, { width: 4, height: 4 });
    await baseCache.ensure(records);
    const variants: Array<[LatentEncoder & { calls: number[] }, ConstructorParameters<typeof LatentCache>[2]]> = [
      [new FakeEncoder('vae@2'), { width: 4, height: 4 }],
      [new FakeEncoder('vae@1'), { width: 8, height: 8 }],
      [new FakeEncoder('vae@1'), { width: 4, height: 4, background: { r: 0, g: 0, b: 0 } }],
    ];
    const dirs = new Set([baseCache.directory]);
    for (const [encoder, options] of variants) {
      const cache = new LatentCache(tmp.path, encoder, options);
      await cache.ensure(records);
      assert.deepEqual(encoder.calls, [2], JSON.stringify(options));
      dirs.add(cache.directory);
    }
    assert.equal(dirs.size, 4);
    await new LatentCache(tmp.path, base, { width: 4, height: 4 }).ensure(records);
    assert.equal(totalEncoded(base), 2, 'the original entries are still there');
  });
});

test('corrupt or short cache files are re-encoded, not trusted', async () => {
  await withTemp(async (tmp) => {
    const encoder = new FakeEncoder();
    const records = await coloredRecords(4);
    const options = { width: 4, height: 4 };
    const cache = new LatentCache(tmp.path, encoder, options);
    await cache.ensure(records);
    const good = await cache.get(records[2]);
    const shaOf = async (r: CountingRecord): Promise<string> => {
      const { createHash } = await import('node:crypto');
      return createHash('sha256')
        .update(await r.readBytes())
        .digest('hex');
    };
    const truncated = cache.pathFor(await shaOf(records[0]));
    writeFileSync(truncated, readFileSync(truncated).subarray(0, 40));
    const badMagic = cache.pathFor(await shaOf(records[1]));
    const bytes = readFileSync(badMagic);
    bytes.write('XXXXXXXX', 0, 'latin1');
    writeFileSync(badMagic, bytes);
    const padded = cache.pathFor(await shaOf(records[2]));
    writeFileSync(padded, Buffer.concat([readFileSync(padded), Buffer.alloc(4)]));

    await new LatentCache(tmp.path, encoder, options).ensure(records);
    assert.deepEqual(encoder.calls, [4, 3]);
    assert.deepEqual(await new LatentCache(tmp.path, encoder, options).get(records[2]), good);

    writeFileSync(padded, 'junk');
    const again = await new LatentCache(tmp.path, encoder, options).get(records[2]);
    assert.deepEqual(again, good);
    assert.deepEqual(encoder.calls, [4, 3, 1], 'get re-encodes a damaged entry');
    assert.ok(existsSync(padded) && readFileSync(padded).length > 100, 'and rewrites it');
  });
});

test('latentChannels shapes the flat encoder output; impossible sizes are reported', async () => {
  await withTemp(async (tmp) => {
    const [r] = await coloredRecords(1);
    const sixteen = new LatentCache(tmp.path, new FakeEncoder('sd3-like', 16), { width: 4, height: 4, latentChannels: 16 });
    assert.deepEqual((await sixteen.get(r)).shape, [16, 2, 2]);
    const broken: LatentEncoder = {
      identity: 'broken',
      encodeImages: async (_p, n) => ({ mean: new Float32Array(7 * n), std: new Float32Array(7 * n) }),
    };
    await assert.rejects(
      new LatentCache(tmp.path, broken, { width: 4, height: 4 }).get(r),
      (err: Error) => err instanceof LatentCacheError && /"broken" returned 7 values per 4×4 image/.test(err.message),
    );
    const uneven: LatentEncoder = {
      identity: 'uneven',
      encodeImages: async () => ({ mean: new Float32Array(16), std: new Float32Array(12) }),
    };
    await assert.rejects(new LatentCache(tmp.path, uneven, { width: 4, height: 4 }).get(r), /mean\/std of 16\/12 values/);
    assert.throws(() => new LatentCache(tmp.path, broken, { width: 4, height: 4, batchSize: 0 }), /batchSize must be a positive integer/);
  });
});

test('undecodable images fail with the record id', async () => {
  await withTemp(async (tmp) => {
    const cache = new LatentCache(tmp.path, new FakeEncoder(), { width: 4, height: 4 });
    await assert.rejects(cache.ensure([record('broken/one.png', Buffer.from('nope'))]), /broken\/one\.png: cannot decode/);
  });
});

test('sampleLatents: ((mean + std·randn) − shift)·scale over one randn call for the whole batch, reproducible', async () => {
  await withTemp(async (tmp) => {
    const records = await Promise.all(
      [0, 1, 2].map(async (i) =>
        record(
          `r${i}`,
          await pngFromPixels(
            Array.from({ length: 6 * 6 * 3 }, (_, k) => (k * 37 + i * 11) % 256),
            6,
            6,
            3,
          ),
        ),
      ),
    );
    const cache = new LatentCache(tmp.path, new FakeEncoder(), { width: 6, height: 6 });
    const entries = await Promise.all(records.map((r) => cache.get(r)));
    assert.deepEqual(entries[0].shape, [4, 3, 3]); // 36 per image: not a multiple of 16, so one call ≠ three calls
    const per = 36;
    const f = Math.fround;
    for (const [scale, shift] of [
      [0.18215, 0],
      [1.5305, 0.0609],
    ]) {
      const out = sampleLatents(entries, new TorchGenerator(123), scale, shift);
      const noise = new TorchGenerator(123).randn([3, 4, 3, 3]);
      const expected = new Float32Array(3 * per);
      entries.forEach((e, b) => {
        for (let i = 0; i < per; i++) expected[b * per + i] = f(f(f(e.mean[i] + f(e.std[i] * noise[b * per + i])) - f(shift)) * f(scale));
      });
      assert.deepEqual(out, expected, `scale ${scale}, shift ${shift}`);
      assert.deepEqual(sampleLatents(entries, new TorchGenerator(123), scale, shift), out, 'same seed, same latents');
    }
    const generator = new TorchGenerator(5);
    assert.notDeepEqual(sampleLatents(entries, generator, 1), sampleLatents(entries, generator, 1), 'the generator advances');
    const separate = new TorchGenerator(123);
    const perEntry = entries.map((e) => separate.randn(e.shape));
    const batched = new TorchGenerator(123).randn([3, 4, 3, 3]);
    assert.notDeepEqual(Float32Array.from(perEntry.flatMap((a) => [...a])), batched, 'draw order matters: one call over the batch');
    assert.throws(() => sampleLatents([entries[0], { ...entries[1], shape: [4, 9] }], generator, 1), /entry 1 has shape \[4, 9\]/);
    assert.throws(() => sampleLatents([], generator, 1), /no entries/);
  });
});
