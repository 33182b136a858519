// The machine's and the cgroup's memory (process.constrainedMemory is 0 or undefined where there is no limit).
import { totalmem as osTotal } from 'node:os';

export const totalmem = (): number => osTotal();
export const constrainedMemory = (): number =>
  typeof process.constrainedMemory === 'function' ? Number(process.constrainedMemory() ?? 0) : 0;
