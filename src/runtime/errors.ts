import { UserError } from '../util/user-error.js';

// Errors of the ONNX Runtime layer (own module so device.ts and session.ts share them without an import cycle).
export class SessionError extends Error {
  override name = 'SessionError';
}

/** The execution provider asked for cannot run here; the message says what is missing and how to get it. */
export class DeviceUnavailableError extends UserError {
  override name = 'DeviceUnavailableError';
  override readonly httpStatus: number = 503;
  constructor(
    readonly device: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`device '${device}' is not available: ${reason}`, options);
  }
}
