// Named errors with stable codes, beside ProtocolError (src/protocol/errors.ts)
// and GitError (git/run.ts). Each extends KeelError and takes its code from
// the one table.

import { ErrorCode, KeelError } from '../protocol/error-codes.js';

/** A bad flag or setting, found before any socket opens. Exit code 2. */
export class ConfigError extends KeelError {
  override readonly name = 'ConfigError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.badConfig, message, options);
  }
}

export class TimeoutError extends KeelError {
  override readonly name = 'TimeoutError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.timeout, message, options);
  }
}
