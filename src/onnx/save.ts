/**
 * Writes a model to disk with large initializers as ONNX external data: `<name>.onnx` holds the graph
 * and `<name>.onnx.data` the weights, so models past protobuf's 2 GB limit (an fp32 SD1.5 UNet is
 * 3.4 GB) can be loaded by ONNX Runtime from the path. Both files are written under temporary names
 * and renamed into place, the data file first, so a crash never leaves a model pointing at missing data.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { encodeModel, type ExternalRef } from './encode.js';
import type { OnnxModel, OnnxTensor, OnnxTensorData } from './model.js';

export interface SaveModelOptions {
  /** Initializers of at least this many bytes go to the data file (default 1 KiB; 0 = all). */
  minExternalBytes?: number;
}

/** Offsets are aligned so ORT can memory-map tensors. */
const ALIGNMENT = 4096;

/** Saves `model` to `file` (+ `file`.data when any initializer is external). Returns the data file or null. */
export function saveModel(model: OnnxModel, file: string, { minExternalBytes = 1024 }: SaveModelOptions = {}): string | null {
  const dataFile = `${file}.data`;
  const location = path.basename(dataFile);
  const refs = new Map<OnnxTensor, ExternalRef>();
  let offset = 0;
  for (const t of model.graph.initializers) {
    if (t.data.byteLength < minExternalBytes) continue;
    offset = Math.ceil(offset / ALIGNMENT) * ALIGNMENT;
    refs.set(t, { location, offset, length: t.data.byteLength });
    offset += t.data.byteLength;
  }
  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const temps: string[] = [];
  try {
    if (refs.size > 0) {
      temps.push(dataFile + suffix);
      writeWith(dataFile + suffix, (fd) => {
        for (const [t, ref] of refs) {
          writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 0, ref.length, ref.offset);
        }
      });
    }
    temps.push(file + suffix);
    const bytes = encodeModel(model, { external: refs });
    writeWith(file + suffix, (fd) => writeSync(fd, bytes));
    if (refs.size > 0) renameSync(dataFile + suffix, dataFile);
    renameSync(file + suffix, file);
    return refs.size > 0 ? dataFile : null;
  } finally {
    for (const t of temps) rmSync(t, { force: true });
  }
}

/**
 * Saves a model whose deferred initializers (emitModel's `deferred`) are all external: each one's data is made by
 * `produce` and written before the next is asked for, so a model of many gigabytes is never whole in memory.
 * Returns the total bytes of external data written.
 */
export function saveModelStreamed(
  model: OnnxModel,
  deferred: ReadonlyMap<string, OnnxTensor>,
  file: string,
  produce: (name: string, tensor: OnnxTensor) => OnnxTensorData,
): number {
  const dataFile = `${file}.data`;
  const location = path.basename(dataFile);
  const refs = new Map<OnnxTensor, ExternalRef>();
  let offset = 0;
  writeWith(
    dataFile,
    (fd) => {
      for (const [name, t] of deferred) {
        const data = produce(name, t);
        offset = Math.ceil(offset / ALIGNMENT) * ALIGNMENT;
        writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 0, data.byteLength, offset);
        refs.set(t, { location, offset, length: data.byteLength });
        offset += data.byteLength;
      }
    },
    false,
  );
  const bytes = encodeModel(model, { external: refs });
  writeWith(file, (fd) => writeSync(fd, bytes), false);
  return offset;
}

function writeWith(tmp: string, write: (fd: number) => void, sync = true): void {
  const fd = openSync(tmp, 'w');
  try {
    write(fd);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
