// Every error code Keel uses, in one table: on the wire (`error.code`,
// `done.code`, `command-result.code`) and for the named errors of each
// process. Code decides by these codes, never by the words of a message.

export const ErrorCode = {
  // A line that could not be read.
  lineTooLong: 'line-too-long',
  badUtf8: 'bad-utf8',
  badJson: 'bad-json',
  notAnObject: 'not-an-object',
  unknownType: 'unknown-type',
  badField: 'bad-field',
  // Admission and connection limits.
  versionMismatch: 'version-mismatch',
  unexpected: 'unexpected',
  helloTimeout: 'hello-timeout',
  authFailed: 'auth-failed',
  busy: 'busy',
  idle: 'idle',
  notAllowed: 'not-allowed',
  /** A plain-TCP peer at a TLS port. */
  tlsRequired: 'tls-required',
  // Acting on someone else's work.
  notYourLease: 'not-your-lease',
  notYourProject: 'not-your-project',
  notYourCommand: 'not-your-command',
  projectTaken: 'project-taken',
  // The dispatcher's own state.
  journalStalled: 'journal-stalled',
  adminsFailed: 'admins-failed',
  internal: 'internal',
  // Requests that cannot be done.
  unknownBuild: 'unknown-build',
  notFinished: 'not-finished',
  alreadyFinished: 'already-finished',
  unknownJob: 'unknown-job',
  noJobs: 'no-jobs',
  unknownRef: 'unknown-ref',
  /** A short commit id that more than one commit starts with. */
  ambiguousCommit: 'ambiguous-commit',
  /** A commit id (or the start of one) the repository does not have. */
  unknownCommit: 'unknown-commit',
  notPaused: 'not-paused',
  gitFailed: 'git-failed',
  noObserver: 'no-observer',
  // How a land or try request ended, when not well.
  conflict: 'conflict',
  targetMoved: 'target-moved',
  branchMoved: 'branch-moved',
  testsFailed: 'tests-failed',
  cancelled: 'cancelled',
  landFailed: 'land-failed',
  // Patches.
  badPatch: 'bad-patch',
  tooLarge: 'too-large',
  unknownBase: 'unknown-base',
  unknownPatch: 'unknown-patch',
  notYourPatch: 'not-your-patch',
  // A runner that cannot take a job it was sent.
  badJob: 'bad-job',
  // Local to a process, never sent.
  badConfig: 'bad-config',
  badToken: 'bad-token',
  badKeelJson: 'bad-keel-json',
  badCursor: 'bad-cursor',
  badJournal: 'bad-journal',
  stateLocked: 'state-locked',
  noTests: 'no-tests',
  timeout: 'timeout',
  unreachable: 'unreachable',
  refused: 'refused',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/** The one base class of Keel's named errors: each carries a code from the table. */
export class KeelError extends Error {
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
