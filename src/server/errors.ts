/**
 * Errors the HTTP API answers with: a status and a JSON body `{ message, fields? }`. Anything else thrown
 * while handling a request is a bug and becomes a 500 with its message (the server keeps running).
 */
import { UserError } from '../util/user-error.js';

export interface FieldError {
  /** The request field at fault, dotted (e.g. "loras.0.weight"); "" for the body as a whole. */
  field: string;
  message: string;
}

export interface ErrorBody {
  message: string;
  fields?: FieldError[];
}

export type ApiStatus = 400 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503;

export class ApiError extends UserError {
  override name = 'ApiError';
  override readonly httpStatus: ApiStatus;
  constructor(
    readonly status: ApiStatus,
    message: string,
    readonly fields?: FieldError[],
  ) {
    super(message);
    this.httpStatus = status;
  }

  get body(): ErrorBody {
    return this.fields ? { message: this.message, fields: this.fields } : { message: this.message };
  }
}

/** A request that names a field with a bad value: 400 naming it. */
export function fieldError(field: string, message: string): ApiError {
  return new ApiError(400, `${field}: ${message}`, [{ field, message }]);
}

/** Problems found while scanning --models folders or starting the server (the CLI prints them in one line). */
export class ServeError extends UserError {
  override name = 'ServeError';
}
