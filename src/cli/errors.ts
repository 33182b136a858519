import { UserError } from '../util/user-error.js';

// Errors that the CLI reports as a one-line message (no stack trace) with exit code 2.
export class UsageError extends UserError {
  override name = 'UsageError';
}

export function parseInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be an integer (got "${value}")`);
  return n;
}

export function parseNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number (got "${value}")`);
  return n;
}
