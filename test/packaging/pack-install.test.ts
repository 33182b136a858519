// The published package as a user gets it: `npm pack` (which runs `prepare`, i.e. builds dist/), the tarball
// installed into an empty project, and `npx tdd generate` there with no model flag. The tarball must carry the
// compiled CLI and the built-in emoji model; the user's project needs its own .npmrc to skip onnxruntime-node's
// CUDA download (this repository's .npmrc does not apply to consumers).
//
// Offline: `npm ci` in this repository leaves every dependency's tarball in the npm cache, but not the registry
// metadata a lockfile-less `npm install` resolves versions against. So the empty project is seeded with a
// lockfile made from this repository's (its non-dev packages, the versions CI tests), and
// `npm install --offline <tarball>` then needs nothing but the cache.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const CONSUMER_NPMRC = 'onnxruntime-node-install=skip\n';

interface PackedFile {
  path: string;
  size: number;
}
interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: PackedFile[];
}

/**
 * A user's shell: none of the npm_* variables an enclosing `npm test` exports (npm_config_onnxruntime_node_install
 * among them, from this repository's .npmrc, which would hide a missing setting in the consumer's .npmrc), and
 * no ONNXRUNTIME_NODE_INSTALL. The npm cache and registry settings stay.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !keep.has(k.toLowerCase())) continue;
    if (/^ONNXRUNTIME_NODE_INSTALL/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, env = userEnv()) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 240_000, maxBuffer: 64 << 20 });
  assert.equal(
    r.status,
    0,
    `${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}\n${r.stderr}\n${r.stdout}`,
  );
  return r.stdout;
}

/** Width and height from a PNG's IHDR chunk (the first chunk after the 8-byte signature). */
function pngSize(path: string): { width: number; height: number } {
  const head = Buffer.alloc(24);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 24, 0);
  } finally {
    closeSync(fd);
  }
  assert.deepEqual([...head.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${path}: not a PNG`);
  assert.equal(head.toString('latin1', 12, 16), 'IHDR', `${path}: no IHDR chunk first`);
  return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
}

/** The consumer's lockfile: the tarball as its one dependency, and this repository's non-dev packages. */
function consumerLockfile(spec: string): object {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', version: '0.0.0', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev && !entry.link) packages[path] = entry;
  }
  return { name: 'consumer', version: '0.0.0', lockfileVersion: 3, requires: true, packages };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(repo, join(e.parentPath, e.name)).split('\\').join('/'));
}

describe('npm pack', () => {
  const work = mkdtempSync(join(tmpdir(), 'tdd-pack-'));
  let packed: Packed;

  before(
    () => {
      // `npm pack` runs `prepare` (tsc), so dist/ is current; its output goes to stderr, the JSON to stdout.
      const out = run('npm', ['pack', '--json', '--pack-destination', work], repo);
      packed = (JSON.parse(out.slice(out.indexOf('['))) as Packed[])[0];
      assert.ok(existsSync(join(work, packed.filename)), `npm pack wrote no ${packed.filename}`);
    },
    { timeout: 300_000 },
  );

  after(() => rmSync(work, { recursive: true, force: true }));

  test('the tarball holds the compiled CLI, the web page and the built-in model, and no tests or training records', () => {
    const paths = new Set(packed.files.map((f) => f.path));
    const required = [
      'package.json',
      'bin/tdd.js',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/cli/main.js',
      ...filesUnder(join(repo, 'src', 'web')),
      ...filesUnder(join(repo, 'models', 'emoji')),
    ];
    assert.ok(required.includes('models/emoji/tdd-lora.safetensors') && required.includes('models/emoji/model_index.json'));
    for (const p of required) assert.ok(paths.has(p), `${p} is missing from ${packed.filename}`);
    const stray = [...paths].filter(
      (p) =>
        /^(test|training|bench|docs|scripts|\.ci|node_modules)\//.test(p) ||
        (p.startsWith('src/') && !p.startsWith('src/web/')) ||
        (p.startsWith('dist/') && !p.startsWith('dist/src/')) ||
        /(^|\/)\.npmrc$|\.tsbuildinfo$|\.test\.(ts|js)$/.test(p),
    );
    assert.deepEqual(stray, [], 'files that do not belong in the package');
    // The model is ~27 MB of float16 weights (hardly compressible); everything else is ~2.5 MB.
    assert.ok(packed.size < 40e6, `tarball is ${(packed.size / 1e6).toFixed(1)} MB`);
  });

  test('installed into an empty project, `npx tdd generate` with no model flag writes a 64×64 PNG', { timeout: 300_000 }, () => {
    const project = join(work, 'consumer');
    const spec = `file:../${packed.filename}`;
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '0.0.0', private: true, dependencies: { 'tdd-diffusion': spec } }, null, 2) + '\n',
    );
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(consumerLockfile(spec), null, 2) + '\n');
    writeFileSync(join(project, '.npmrc'), CONSUMER_NPMRC);
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', `../${packed.filename}`], project);
    const installed = join(project, 'node_modules', 'tdd-diffusion');
    assert.ok(existsSync(join(installed, 'models', 'emoji', 'model_index.json')), 'the installed package has no models/emoji');

    const image = join(work, 'out', 'apple.png');
    const out = run(
      'npx',
      ['--no-install', 'tdd', 'generate', 'red apple', '--out', image, '--json', '--seed', '1'],
      project,
      userEnv({ XDG_CACHE_HOME: join(work, 'cache') }),
    );
    const result = JSON.parse(out) as { images: { path: string }[]; parameters: { model: { path: string }; loras: { path: string }[] } };
    assert.equal(result.images[0].path, image);
    assert.equal(result.parameters.model.path, join(installed, 'models', 'emoji'), 'generate did not use the installed built-in model');
    assert.deepEqual(
      result.parameters.loras.map((l) => l.path),
      [join(installed, 'models', 'emoji', 'tdd-lora.safetensors')],
    );
    assert.deepEqual(pngSize(image), { width: 64, height: 64 });
  });
});
