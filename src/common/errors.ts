// Named errors with stable codes, beside ProtocolError (src/protocol/errors.ts).

/** A bad flag or setting, found before any socket opens. Exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'bad-config';
}

/** A git command that exited non-zero; `stderr` says why. */
export class GitError extends Error {
  override readonly name = 'GitError';
  readonly code = 'git-failed';

  constructor(message: string, readonly stderr: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'timeout';
}
