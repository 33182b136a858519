/**
 * The root of every failure caused by what the user gave us — arguments, request fields, files, the machine's
 * memory or devices — as opposed to a bug. Entry points map it the same way: the CLI prints its message as one
 * line and exits with `exitCode`; the server answers `httpStatus` with `{ message }`; library callers can test
 * `e instanceof UserError`. Anything else thrown is internal and keeps its stack trace.
 */
export class UserError extends Error {
  /** Exit status of the `tdd` command (2: the invocation or its inputs are at fault). */
  readonly exitCode: number = 2;
  /** HTTP status the server answers when a request meets this error (400: the request is at fault). */
  readonly httpStatus: number = 400;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** For failures of the user's model or data files, as opposed to the request that named them. */
export class UserFileError extends UserError {
  override readonly httpStatus: number = 422;
}

export const isUserError = (e: unknown): e is UserError => e instanceof UserError;
