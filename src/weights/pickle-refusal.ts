/**
 * PyTorch checkpoints (.ckpt/.bin/.pt/.pth) are pickles: unpickling one runs
 * whatever code its author put in it. We only load safetensors and tell the
 * user how to convert.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { PickleRefusedError } from './errors.js';

export const PICKLE_EXTENSIONS: readonly string[] = ['.ckpt', '.bin', '.pt', '.pth', '.pkl', '.pickle'];

/** Throws PickleRefusedError for pickle-style names or contents; returns quietly otherwise (missing files included). */
export function refusePickle(path: string): void {
  const ext = extname(path).toLowerCase();
  if (PICKLE_EXTENSIONS.includes(ext)) throw pickleRefusal(path, `its "${ext}" extension marks a PyTorch pickle checkpoint`);
  const head = readHead(path);
  const kind = head && pickleContent(head.bytes, head.fileSize);
  if (kind) throw pickleRefusal(path, `it starts with ${kind}`);
}

/**
 * Names the pickle/zip signature `head` (the file's first bytes) starts with,
 * or null. A safetensors prefix wins: its 8-byte length can begin 0x80 0x02.
 */
export function pickleContent(head: Uint8Array, fileSize: number): string | null {
  if (looksLikeSafetensors(head, fileSize)) return null;
  if (head.length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return `the pickle protocol ${head[1]} marker`;
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    return 'the zip signature of a torch.save archive (which holds a pickle)';
  }
  return null;
}

function looksLikeSafetensors(head: Uint8Array, fileSize: number): boolean {
  if (head.length < 9 || head[8] !== 0x7b /* '{' */) return false;
  const length = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return length <= BigInt(fileSize - 8);
}

export function pickleRefusal(path: string, reason: string): PickleRefusedError {
  const p = `'${path.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`; // a Python string literal
  return new PickleRefusedError(
    `${path}: refusing to load a pickle checkpoint (${reason}). Unpickling executes arbitrary code from the file, ` +
      `so only .safetensors weights are accepted. Convert it once in Python, e.g.\n` +
      `  python -c "import torch; from safetensors.torch import save_file; sd = torch.load(${p}, map_location='cpu', weights_only=True); ` +
      `sd = sd.get('state_dict', sd); save_file({k: v.contiguous() for k, v in sd.items()}, 'model.safetensors')"\n` +
      `or, for a diffusers folder, pipe = DiffusionPipeline.from_pretrained(dir); pipe.save_pretrained(out, safe_serialization=True) ` +
      `(a single-file .ckpt: StableDiffusionPipeline.from_single_file(path) first).`,
  );
}

function readHead(path: string): { bytes: Uint8Array; fileSize: number } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null; // nothing to inspect; opening it for real reports the error
  }
  try {
    const bytes = new Uint8Array(16);
    const n = readSync(fd, bytes, 0, bytes.length, 0);
    return { bytes: bytes.subarray(0, n), fileSize: fstatSync(fd).size };
  } catch {
    return null; // e.g. a directory
  } finally {
    closeSync(fd);
  }
}
