// Shapes shared by the wire (`status` replies, `result` messages) and the
// result files on disk (`test_results/<sha>.json`).

/** `skipped`: a newer commit on the same branch superseded it before it started. */
export const BUILD_STATUSES = ['queued', 'running', 'passed', 'failed', 'error', 'cancelled', 'skipped'] as const;
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
  /** The failure was the runner's (fetch, checkout), not the tests': retried, never flaky. */
  infra: boolean;
  /** Stopped because the run was cancelled (an abort or a drain), not by its own end. */
  cancelled: boolean;
  /** Names of failed tests, from JUnit XML when there was some. */
  failedTests: string[];
  /** The JUnit XML the tests wrote, when the job declares it or the runner can ask for it. */
  junit: string | null;
}

/** One attempt at a job; `lost` means the runner died or went silent. */
export interface AttemptRecord {
  attempt: number;
  lease: string;
  runner: string;
  status: OutcomeStatus | 'lost' | 'cancelled' | 'running';
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Failed for the runner's reasons (fetch, checkout); such attempts are retried, never flaky. */
  infra: boolean;
  message: string;
}

/** What a job runs: from keel.json, or the default `tests` job. */
export interface JobSpec {
  /** Unique within the build; file- and protocol-safe (a Name). */
  id: string;
  /** For people: "unit (NODE=18, OS=linux)". */
  title: string;
  /** argv; null runs the default detection of tests/. */
  run: string[] | null;
  env: Record<string, string>;
  timeoutMs: number | null;
  retries: number;
  retryDelayMs: number;
  labels: string[];
  /** Where the job writes JUnit XML, relative to the repository root. */
  junit: string | null;
}

export interface JobRecord {
  /** The job's id (JobSpec.id). */
  name: string;
  spec: JobSpec;
  status: BuildStatus;
  /** Passed only after failing at least once. */
  flaky: boolean;
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
  /** File names beside <sha>.json: the output, and the JUnit XML when there was some. */
  log: string;
  junit: string | null;
  failedTests: string[];
  /** When a retry may start (after a failure, with retryDelay); null when not waiting. */
  notBefore: string | null;
}

/** The whole record of one commit's build: the content of `<sha>.json`. */
export interface BuildRecord {
  commit: string;
  repo: string;
  ref: string;
  /** The observer's --project; null keeps results directly in the results folder. */
  project: string | null;
  status: BuildStatus;
  /** Some job passed only on a retry. */
  flaky: boolean;
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
