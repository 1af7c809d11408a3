// Shapes shared by the wire (`status` replies, `result` messages) and the
// result files on disk (`test_results/<sha>.json`).

export const BUILD_STATUSES = ['queued', 'running', 'passed', 'failed', 'error', 'cancelled'] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

/** How one run of a test command ended, as the runner reports it. */
export const OUTCOME_STATUSES = ['passed', 'failed', 'error'] as const;
export type OutcomeStatus = (typeof OUTCOME_STATUSES)[number];

export interface TestCounts {
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
}

/** One flat record for a test run: the same shape for pass, fail, timeout and spawn failure. */
export interface RunOutcome {
  status: OutcomeStatus;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  startedAt: string;
  durationMs: number;
  /** The command that ran, for the report; empty when none could be chosen. */
  command: string[];
  /** Why it is `error` or `failed`, in a sentence; empty when passed. */
  message: string;
  counts: TestCounts | null;
}

/** One attempt at a job; `lost` means the runner died or went silent. */
export interface AttemptRecord {
  attempt: number;
  lease: string;
  runner: string;
  status: OutcomeStatus | 'lost' | 'running';
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  message: string;
}

export interface JobRecord {
  name: string;
  status: BuildStatus;
  attempts: AttemptRecord[];
  runner: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  counts: TestCounts | null;
  command: string[];
  message: string;
  log: string;
}

/** The whole record of one commit's build: the content of `<sha>.json`. */
export interface BuildRecord {
  commit: string;
  repo: string;
  ref: string;
  status: BuildStatus;
  message: string;
  runner: string | null;
  attempts: number;
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  counts: TestCounts | null;
  jobs: JobRecord[];
}

export interface RunnerSummary {
  name: string;
  slots: number;
  labels: string[];
  running: string[];
}
