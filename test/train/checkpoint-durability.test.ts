/**
 * Checkpoints after a crash or power loss: a checkpoint whose tensor file was emptied, cut short or changed is
 * detected by its recorded size and checksum, and resuming falls back to the newest intact one with a warning
 * naming what was passed over; when every checkpoint is damaged, none is used.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  CheckpointError,
  listCheckpoints,
  loadCheckpoint,
  loadNewestIntactCheckpoint,
  saveCheckpoint,
} from '../../src/train/checkpoint.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';

const make = (step: number) => ({
  train: {
    optimizerSteps: step,
    microSteps: step,
    params: new Map([['lora.a', Float32Array.of(step, 1, 2, 3)]]),
    m: new Map([['lora.a', new Float32Array(4)]]),
    v: new Map([['lora.a', new Float32Array(4)]]),
    acc: new Map(),
  },
  rng: new TorchGenerator(step).getState(),
  data: { offset: step },
  hyperParameters: { lr: 1e-4 },
});

describe('checkpoint durability', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tdd-ckpt-dur-'));
    for (const step of [1, 2, 3]) saveCheckpoint(root, make(step), 3);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const tensors = (step: number) => join(listCheckpoints(root).find((c) => c.step === step)!.dir, 'state.safetensors');

  test('state.json records the tensor file size and sha256; an intact newest checkpoint is taken silently', () => {
    const state = JSON.parse(readFileSync(join(listCheckpoints(root).at(-1)!.dir, 'state.json'), 'utf8'));
    assert.equal(state.tensorsFile.bytes, readFileSync(tensors(3)).length);
    assert.match(state.tensorsFile.sha256, /^[0-9a-f]{64}$/);
    const warnings: string[] = [];
    assert.equal(loadNewestIntactCheckpoint(root, (w) => warnings.push(w))!.step, 3);
    assert.deepEqual(warnings, []);
  });

  test('an emptied newest tensor file (data lost in a crash) falls back to the previous checkpoint, with warnings', () => {
    truncateSync(tensors(3), 0);
    assert.throws(
      () => loadCheckpoint(listCheckpoints(root).at(-1)!.dir),
      (e: unknown) => e instanceof CheckpointError && /0 bytes, the checkpoint recorded \d+/.test((e as Error).message),
    );
    const warnings: string[] = [];
    const found = loadNewestIntactCheckpoint(root, (w) => warnings.push(w))!;
    assert.equal(found.step, 2);
    assert.deepEqual([...found.data.train.params.get('lora.a')!], [2, 1, 2, 3]);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /step-00000003 is damaged and was passed over: .*0 bytes/);
    assert.match(warnings[1], /resuming from .*step-00000002 \(step 2\), the newest intact checkpoint/);
  });

  test('same size but changed bytes are caught by the checksum; a broken state.json too', () => {
    const bytes = readFileSync(tensors(3));
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(tensors(3), bytes);
    writeFileSync(join(listCheckpoints(root).find((c) => c.step === 2)!.dir, 'state.json'), '{"format": "tdd-distill-che');
    const warnings: string[] = [];
    assert.equal(loadNewestIntactCheckpoint(root, (w) => warnings.push(w))!.step, 1);
    assert.match(warnings[0], /checksum differs/);
    assert.match(warnings[1], /cannot read the checkpoint state/);
  });

  test('every checkpoint damaged: none is used', () => {
    for (const step of [1, 2, 3]) truncateSync(tensors(step), 10);
    const warnings: string[] = [];
    assert.equal(
      loadNewestIntactCheckpoint(root, (w) => warnings.push(w)),
      undefined,
    );
    assert.equal(warnings.length, 3);
  });
});
