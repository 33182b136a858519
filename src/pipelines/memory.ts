/**
 * Memory facts a pipeline decides by: how much the machine lets this process use, and the one-line error for a
 * component that does not fit (ORT's allocation failure, or a component larger than the machine's memory).
 */
import { UserError } from '../util/user-error.js';
import os from 'node:os';

/** Bytes this process may use: the cgroup limit where one is set (containers), else the machine's memory. */
export function usableMemoryBytes(): number {
  const limit = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  const total = os.totalmem();
  return limit && limit > 0 && limit < total ? limit : total;
}

export const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(1);

/** The machine cannot hold a component: the user's setting (size, offload) or machine is at fault; a server is busy (503). */
export class ModelMemoryError extends UserError {
  override name = 'ModelMemoryError';
  override readonly httpStatus: number = 503;
  constructor(
    readonly component: string,
    readonly bytes: number,
    cause?: unknown,
  ) {
    const reason = cause instanceof Error ? `: ${cause.message.split('\n')[0]}` : '';
    super(
      `${component}: not enough memory for its weights (${gib(bytes)} GiB at float32; this machine lets the process use ${gib(usableMemoryBytes())} GiB)${reason}. ` +
        'Try --offload sequential (one component in memory at a time), a smaller image, fewer images per batch, or closing other programs.',
      { cause },
    );
  }
}

/** ORT's messages when an allocation fails (std::bad_alloc, the arena or the EP running out). */
export function isAllocationFailure(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /bad_alloc|failed to allocate|out of memory|cannot allocate memory|allocation failed/i.test(message);
}
